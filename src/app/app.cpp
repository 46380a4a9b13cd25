#include "app/app.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

namespace mk {

App::App(boost::asio::any_io_executor ex, Config cfg)
    : cfg_(std::move(cfg)), policy_(cfg_), clusters_(std::move(ex), cfg_) {}

std::string App::context_for(const mcp::CallContext& c) {
  if (auto* v = c.args().if_contains("context"); v && v->is_string() && !v->as_string().empty()) {
    std::string name(v->as_string());
    if (!clusters_.has_context(name))
      fail(Errc::not_found, fmt::format("context \"{}\" not found; k8s_list_contexts shows the available ones", name));
    return name;
  }
  if (auto* ks = c.session().get<KubeSession>(); ks && !ks->context.empty()) return ks->context;
  return clusters_.default_context();
}

std::shared_ptr<k8s::Client> App::client_for(const mcp::CallContext& c) { return clusters_.client(context_for(c)); }

}  // namespace mk
