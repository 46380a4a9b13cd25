#include "k8s/kubeconfig.hpp"

#include "util/error.hpp"
#include "util/yaml.hpp"

#include <fmt/core.h>
#include <openssl/evp.h>
#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mk::k8s {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(Errc::invalid_argument, fmt::format("cannot read {}", path));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string base64_decode(std::string_view in) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
  if (clean.size() % 4 != 0) fail(Errc::invalid_argument, "invalid base64 data");
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) fail(Errc::invalid_argument, "invalid base64 data");
  std::size_t pad = 0;
  if (!clean.empty() && clean.back() == '=') ++pad;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

const ContextInfo* Kubeconfig::find_context(const std::string& name) const {
  for (auto& c : contexts)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<std::string> default_kubeconfig_paths() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string_view s(env);
    while (!s.empty()) {
      auto p = s.find(':');
      auto part = s.substr(0, p);
      if (!part.empty()) {
        std::string path(part);
        if (path.rfind("~/", 0) == 0)
          if (const char* home = std::getenv("HOME")) path = std::string(home) + path.substr(1);
        out.push_back(path);
      }
      if (p == std::string_view::npos) break;
      s.remove_prefix(p + 1);
    }
    return out;
  }
  if (const char* home = std::getenv("HOME")) out.push_back(std::string(home) + "/.kube/config");
  return out;
}

namespace {
namespace json = boost::json;

// Field readers that tolerate wrong types (a field of the wrong shape reads as absent), as
// kubectl tolerates unknown and odd entries rather than refusing the whole file.
const json::value* field(const json::value* n, std::string_view key) {
  auto* o = n ? n->if_object() : nullptr;
  return o ? o->if_contains(key) : nullptr;
}

std::string str(const json::value* n, std::string_view key) {
  auto* v = field(n, key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_number() || v->is_bool()) return json::serialize(*v);  // a JSON kubeconfig's `token: 123`
  return {};
}

const json::array& list(const json::value* n, std::string_view key) {
  static const json::array empty;
  auto* v = field(n, key);
  return v && v->is_array() ? v->as_array() : empty;
}

std::string resolve_path(const std::string& p, const std::string& base) {
  if (p.empty() || fs::path(p).is_absolute() || base.empty()) return p;
  return (fs::path(base) / p).string();
}

// "<x>-data" wins over the file "<x>", as in client-go. An unreadable file is recorded in
// `error` instead of failing the whole kubeconfig: like kubectl, a stale entry must not break
// the contexts that do not use it.
std::string data_or_file(const json::value* n, const char* data_key, const char* file_key, const std::string& base,
                         std::string& error) {
  if (auto d = str(n, data_key); !d.empty()) {
    try {
      return base64_decode(d);
    } catch (const Error&) {
      if (error.empty()) error = fmt::format("{} is not valid base64", data_key);
      return {};
    }
  }
  if (auto f = str(n, file_key); !f.empty()) {
    try {
      return read_file(resolve_path(f, base));
    } catch (const Error& e) {
      if (error.empty()) error = fmt::format("{}: {}", file_key, e.what());
    }
  }
  return {};
}

// YAML 1.1 booleans, as client-go's YAML reader (go-yaml v2) accepts them.
bool boolean(const json::value* n, std::string_view key) {
  auto s = str(n, key);
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"})
    if (s == t) return true;
  return false;
}

std::vector<std::string> string_list(const json::value* n, std::string_view key) {
  std::vector<std::string> out;
  for (auto& x : list(n, key))
    if (x.is_string()) out.emplace_back(x.as_string());
  return out;
}

Kubeconfig parse_document(const json::value& root, const std::string& base_dir) {
  Kubeconfig kc;
  kc.current_context = str(&root, "current-context");
  for (auto& c : list(&root, "clusters")) {
    auto name = str(&c, "name");
    auto* cl = field(&c, "cluster");
    if (name.empty() || !cl || !cl->is_object() || kc.clusters.contains(name)) continue;
    ClusterInfo ci;
    ci.server = str(cl, "server");
    ci.ca_pem = data_or_file(cl, "certificate-authority-data", "certificate-authority", base_dir, ci.load_error);
    ci.insecure_skip_tls_verify = boolean(cl, "insecure-skip-tls-verify");
    ci.tls_server_name = str(cl, "tls-server-name");
    kc.clusters.emplace(name, std::move(ci));
  }
  for (auto& u : list(&root, "users")) {
    auto name = str(&u, "name");
    auto* us = field(&u, "user");
    if (name.empty() || kc.users.contains(name)) continue;
    AuthInfo ai;
    if (us && us->is_object()) {
      ai.client_cert_pem = data_or_file(us, "client-certificate-data", "client-certificate", base_dir, ai.load_error);
      ai.client_key_pem = data_or_file(us, "client-key-data", "client-key", base_dir, ai.load_error);
      ai.token = str(us, "token");
      ai.token_file = resolve_path(str(us, "tokenFile"), base_dir);
      ai.username = str(us, "username");
      ai.password = str(us, "password");
      ai.impersonate = str(us, "as");
      ai.impersonate_groups = string_list(us, "as-groups");
      auto* ap = field(us, "auth-provider");
      ai.has_auth_provider = ap && !ap->is_null();
      if (auto* ex = field(us, "exec"); ex && ex->is_object()) {
        ExecConfig ec;
        ec.api_version = str(ex, "apiVersion");
        ec.command = str(ex, "command");
        // A bare command name is looked up in PATH; a relative path is relative to the file.
        if (ec.command.find('/') != std::string::npos) ec.command = resolve_path(ec.command, base_dir);
        ec.args = string_list(ex, "args");
        for (auto& e : list(ex, "env"))
          if (auto n = str(&e, "name"); !n.empty()) ec.env.emplace_back(n, str(&e, "value"));
        ec.provide_cluster_info = boolean(ex, "provideClusterInfo");
        ai.exec = std::move(ec);
      }
    }
    kc.users.emplace(name, std::move(ai));
  }
  for (auto& c : list(&root, "contexts")) {
    ContextInfo ci;
    ci.name = str(&c, "name");
    if (ci.name.empty() || kc.find_context(ci.name)) continue;
    auto* cx = field(&c, "context");
    ci.cluster = str(cx, "cluster");
    ci.user = str(cx, "user");
    ci.namespace_ = str(cx, "namespace");
    kc.contexts.push_back(std::move(ci));
  }
  return kc;
}
}  // namespace

Kubeconfig parse_kubeconfig(const std::string& text, const std::string& base_dir) {
  // Same bounded YAML reader as manifests; every scalar kept as written (tokens are text).
  yaml::ManifestLimits limits;
  limits.max_bytes = 16u << 20;
  limits.subject = "kubeconfig";
  auto docs = yaml::yaml_to_json(text, limits, yaml::YamlScalars::strings);
  if (docs.empty()) return {};
  if (!docs.front().is_object()) fail(Errc::invalid_argument, "kubeconfig is not a YAML mapping");
  return parse_document(docs.front(), base_dir);
}

void merge_into(Kubeconfig& into, const Kubeconfig& from) {
  if (into.current_context.empty()) into.current_context = from.current_context;
  for (auto& [k, v] : from.clusters) into.clusters.try_emplace(k, v);
  for (auto& [k, v] : from.users) into.users.try_emplace(k, v);
  for (auto& c : from.contexts)
    if (!into.find_context(c.name)) into.contexts.push_back(c);
  for (auto& s : from.sources) into.sources.push_back(s);
}

Kubeconfig load_kubeconfig(const std::vector<std::string>& paths) {
  Kubeconfig out;
  for (auto& p : paths) {
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    Kubeconfig kc;
    try {
      kc = parse_kubeconfig(read_file(p), fs::path(p).parent_path().string());
    } catch (const Error& e) {
      fail(e.code(), fmt::format("{}: {}", p, e.what()));
    }
    kc.sources.push_back(p);
    merge_into(out, kc);
  }
  return out;
}

RestConfig rest_config_for(const Kubeconfig& kc, const std::string& context) {
  const std::string& name = context.empty() ? kc.current_context : context;
  if (name.empty()) fail(Errc::invalid_argument, "no current context in kubeconfig and none given");
  auto* cx = kc.find_context(name);
  if (!cx) fail(Errc::not_found, fmt::format("context \"{}\" not found in kubeconfig", name));
  auto cl = kc.clusters.find(cx->cluster);
  if (cl == kc.clusters.end())
    fail(Errc::invalid_argument, fmt::format("context \"{}\" names unknown cluster \"{}\"", name, cx->cluster));
  RestConfig rc;
  rc.context = name;
  rc.cluster = cl->second;
  if (rc.cluster.server.empty()) fail(Errc::invalid_argument, fmt::format("cluster \"{}\" has no server", cx->cluster));
  if (!rc.cluster.load_error.empty())
    fail(Errc::invalid_argument,
         fmt::format("context \"{}\": cluster \"{}\": {}", name, cx->cluster, rc.cluster.load_error));
  if (auto u = kc.users.find(cx->user); u != kc.users.end()) {
    if (!u->second.load_error.empty())
      fail(Errc::invalid_argument,
           fmt::format("context \"{}\": user \"{}\": {}", name, cx->user, u->second.load_error));
    rc.auth = u->second;
  }
  if (!cx->namespace_.empty()) rc.namespace_ = cx->namespace_;
  return rc;
}

RestConfig in_cluster_config(const InClusterPaths& p) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port || !*host || !*port)
    fail(Errc::invalid_argument, "--in-cluster: KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?)");
  RestConfig rc;
  rc.context = "in-cluster";
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 literal
  rc.cluster.server = fmt::format("https://{}:{}", h, port);
  rc.cluster.ca_pem = read_file(p.ca);
  rc.auth.token_file = p.token;
  std::error_code ec;
  if (fs::exists(p.namespace_file, ec)) {
    auto ns = read_file(p.namespace_file);
    while (!ns.empty() && std::isspace(static_cast<unsigned char>(ns.back()))) ns.pop_back();
    if (!ns.empty()) rc.namespace_ = ns;
  }
  return rc;
}

}  // namespace mk::k8s
