#pragma once
// The in-process Store: one map, bounded in entries. When full, expired entries are dropped
// first; if it is still full the write fails (Errc::unavailable) rather than evicting live
// codes or tokens, which would sign users out at random.
#include "auth/store.hpp"

#include <cstddef>
#include <memory>

namespace mk::auth {

std::unique_ptr<Store> make_memory_store(std::size_t max_entries = 100'000);

}  // namespace mk::auth
