#pragma once
// Turns a non-2xx API response (a metav1.Status, usually) into an mk::Error whose message
// reads like kubectl's: 'pods "x" is forbidden: User "u" cannot get resource ...'.
#include "k8s/api_transport.hpp"

#include <string_view>

namespace mk::k8s {

[[noreturn]] void throw_status(const Response& r, std::string_view what);

}  // namespace mk::k8s
