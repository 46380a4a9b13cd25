#pragma once
// Shared by the pod tools: finding the pod (namespace policy applied first), choosing its
// container the way kubectl does, and fitting large text into the result budget.
#include "k8s/client.hpp"
#include "mcp/tool.hpp"
#include "tools/common/tool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <string>
#include <vector>

namespace mk::tools {

struct PodRef {
  std::shared_ptr<k8s::Client> client;
  std::string context, ns, name;
};

// Context, client and namespace for a call (`namespace` argument or the context's default),
// after the namespace policy.
PodRef pod_ref(Env& env, const Call& c, std::string name);

// GET the pod; "pods \"x\" not found" etc. come back as the API's errors.
boost::asio::awaitable<boost::json::object> fetch_pod(PodRef ref);

// The container to use: `requested` if the pod has it (init and ephemeral containers
// included), else the kubectl.kubernetes.io/default-container annotation, else the only
// container. Throws Errc::invalid_argument listing the choices otherwise.
std::string choose_container(const boost::json::object& pod, const std::string& requested);
std::vector<std::string> container_names(const boost::json::object& pod, bool all_kinds);

// `text` cut to `budget` bytes (on a UTF-8 boundary) with a note saying how much was left out.
std::string fit_text(std::string_view text, std::size_t budget);

}  // namespace mk::tools
