#pragma once
// kubeconfig loading as client-go does it: KUBECONFIG (several files, first wins per name),
// ~/.kube/config otherwise; file references resolved relative to the file that names them.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mk::k8s {

struct ClusterInfo {
  std::string server;
  std::string ca_pem;  // certificate-authority(-data), loaded
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  // Set when a referenced file could not be read; only contexts using this entry fail.
  std::string load_error;
};

struct ExecConfig {
  std::string api_version;
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  bool provide_cluster_info = false;
};

struct AuthInfo {
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;
  std::string token_file;  // re-read when it changes (projected / rotated tokens)
  std::string username, password;
  std::optional<ExecConfig> exec;
  std::string impersonate;
  std::vector<std::string> impersonate_groups;
  // Impersonate-Extra-<key>: <value> headers (federation: agent, sub). Keys are HTTP-token safe.
  std::vector<std::pair<std::string, std::string>> impersonate_extra;
  bool has_auth_provider = false;  // legacy auth-provider plugins are not supported
  // Set when a referenced file could not be read; only contexts using this entry fail.
  std::string load_error;
};

struct ContextInfo {
  std::string name;
  std::string cluster;
  std::string user;
  std::string namespace_;
};

struct Kubeconfig {
  std::map<std::string, ClusterInfo> clusters;
  std::map<std::string, AuthInfo> users;
  std::vector<ContextInfo> contexts;  // in file order (merged)
  std::string current_context;
  std::vector<std::string> sources;  // files it was read from

  const ContextInfo* find_context(const std::string& name) const;
};

// Everything needed to talk to one API server as one identity.
struct RestConfig {
  std::string context;  // kubeconfig context name, "in-cluster" otherwise
  ClusterInfo cluster;
  AuthInfo auth;
  std::string namespace_ = "default";
};

// Paths from $KUBECONFIG (':'-separated) or ~/.kube/config.
std::vector<std::string> default_kubeconfig_paths();
// Loads and merges; missing files in a KUBECONFIG list are skipped like client-go does.
Kubeconfig load_kubeconfig(const std::vector<std::string>& paths);
Kubeconfig parse_kubeconfig(const std::string& yaml, const std::string& base_dir);
void merge_into(Kubeconfig& into, const Kubeconfig& from);
RestConfig rest_config_for(const Kubeconfig& kc, const std::string& context);

struct InClusterPaths {
  std::string token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};
RestConfig in_cluster_config(const InClusterPaths& p = {});

std::string read_file(const std::string& path);
std::string base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

}  // namespace mk::k8s
