#pragma once
// unique_ptr for OpenSSL objects: `OsslPtr<EVP_PKEY, EVP_PKEY_free>`.
#include <memory>

namespace mk::auth {

template <auto Free>
struct OsslDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
template <class T, auto Free>
using OsslPtr = std::unique_ptr<T, OsslDeleter<Free>>;

}  // namespace mk::auth
