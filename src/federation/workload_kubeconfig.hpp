#pragma once
// The `<cluster>-kubeconfig` Secret of a workload cluster. Its kubeconfig was written by
// whoever controls that cluster's namespace, not by the operator of this server: it may only
// carry inline data. exec and auth-provider users (a command run on this host) and file
// paths (certificate-authority, client-certificate, client-key, tokenFile: files of this
// host) are refused, as are plain-HTTP servers and insecure-skip-tls-verify (the credential
// is a cluster admin's).
#include "k8s/kubeconfig.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace mk::federation {

// The kubeconfig text of a Secret object: data.value, else data.kubeconfig (base64).
// Throws Errc::not_found when neither key is there.
std::string kubeconfig_from_secret(const boost::json::object& secret);

// Parses the kubeconfig text and returns its current (else first) context's RestConfig.
// Throws Errc::policy_denied naming the refused field, Errc::invalid_argument when malformed.
k8s::RestConfig parse_workload_kubeconfig(const std::string& text);

}  // namespace mk::federation
