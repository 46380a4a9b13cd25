#pragma once
// client.authentication.k8s.io exec credential plugins (v1 and v1beta1): runs the command with
// KUBERNETES_EXEC_INFO and parses the ExecCredential it prints.
#include "k8s/kubeconfig.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace mk::k8s {

struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;  // none => valid until a 401
};

// Blocking; call through run_blocking. Fails with a clear Errc::unauthorized message when the
// plugin is missing, exits non-zero, times out or prints something unexpected.
ExecCredential run_exec_plugin(const ExecConfig& cfg, const ClusterInfo& cluster,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Parses RFC 3339 timestamps as Kubernetes writes them ("2026-01-02T03:04:05Z", fractional ok).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

}  // namespace mk::k8s
