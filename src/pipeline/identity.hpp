#pragma once
// The caller's identity (util/identity.hpp): set by the transport, read by the client factory.
#include "util/identity.hpp"

namespace mk::pipeline {
using Identity = mk::Identity;
}  // namespace mk::pipeline
