#pragma once
// The mk::Error code `f` throws (and its message in `what`); a test failure when it throws none.
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <string>

template <class F>
mk::Errc code_of(F&& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const mk::Error& e) {
    if (what) *what = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return mk::Errc::internal;
}
