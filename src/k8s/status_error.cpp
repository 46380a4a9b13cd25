#include "k8s/status_error.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

namespace mk::k8s {
namespace json = boost::json;

void throw_status(const Response& r, std::string_view what) {
  std::string message, reason;
  json::object details;
  boost::system::error_code ec;
  json::value v;
  // A Status is small; a huge error body is not worth parsing on the I/O thread.
  if (r.body.size() <= (1u << 20)) v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    auto& o = v.as_object();
    if (auto* m = o.if_contains("message"); m && m->is_string()) message = m->as_string();
    if (auto* rs = o.if_contains("reason"); rs && rs->is_string()) reason = rs->as_string();
    if (auto* d = o.if_contains("details"); d && d->is_object()) {
      if (auto* causes = d->as_object().if_contains("causes"); causes && causes->is_array()) {
        json::array cs;
        for (auto& c : causes->as_array()) {
          if (!c.is_object()) continue;
          json::object x;
          for (auto k : {"field", "message", "reason"})
            if (auto* f = c.as_object().if_contains(k)) x[k] = *f;
          cs.push_back(std::move(x));
        }
        if (!cs.empty()) details["causes"] = std::move(cs);
      }
    }
  }
  if (message.empty()) {
    std::string body = r.body.substr(0, 300);
    message = body.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {}: {}", r.status, body);
    if (!what.empty()) message = fmt::format("{}: {}", what, message);
  }
  details["status"] = r.status;
  if (!reason.empty()) details["reason"] = reason;
  // Field causes are often the only useful part of an Invalid error: make sure they are read.
  if (auto* cs = details.if_contains("causes"); cs && r.status == 422) {
    std::string extra;
    for (auto& c : cs->as_array()) {
      auto& co = c.as_object();
      auto text = [&co](const char* k) {
        auto* v = co.if_contains(k);
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      auto f = text("field"), m = text("message");
      if (m.empty() || message.find(m) != std::string::npos) continue;
      extra += f.empty() ? fmt::format("; {}", m) : fmt::format("; {}: {}", f, m);
    }
    message += extra;
  }
  Errc code;
  switch (r.status) {
    case 400: code = Errc::invalid_argument; break;
    case 401: code = Errc::unauthorized; break;
    case 403: code = Errc::forbidden; break;
    case 404: code = Errc::not_found; break;
    case 409: code = reason == "AlreadyExists" ? Errc::already_exists : Errc::conflict; break;
    case 410:
      code = Errc::invalid_argument;
      // The usual 410 for a read is an expired continue token (reason Expired).
      if (reason == "Expired" || message.find("continue") != std::string::npos)
        message =
            "the continue token has expired (410 Gone); list again without 'continue' to get a fresh "
            "snapshot (" +
            message + ")";
      break;
    case 413: code = Errc::too_large; break;
    case 415:
    case 406: code = Errc::invalid_argument; break;
    case 422: code = Errc::invalid; break;
    case 429: code = Errc::unavailable; break;
    case 504: code = Errc::timeout; break;
    default: code = r.status >= 500 ? Errc::unavailable : Errc::internal;
  }
  if (r.status == 401) message = "Unauthorized: the API server rejected this server's credentials (" + message + ")";
  throw Error(code, message, std::move(details));
}

}  // namespace mk::k8s
