# Sanitizer and fuzzing builds.
#   MCPK_SANITIZE=address  ASan + UBSan (UB aborts: -fno-sanitize-recover; with
#                          float-cast-overflow, which g++'s -fsanitize=undefined leaves out)
#   MCPK_SANITIZE=thread   TSan
#   MCPK_FUZZ=ON           clang only: libFuzzer targets in fuzz/, with the libraries built
#                          with coverage instrumentation, ASan and UBSan
# Both need the shared third-party libraries and libstdc++: the sanitizer runtimes intercept
# what a static libstdc++ would otherwise bind to itself (exceptions, operator new, threads).
set(MCPK_SANITIZE "" CACHE STRING "Sanitizers: address (ASan+UBSan) or thread (TSan); empty for none")
set_property(CACHE MCPK_SANITIZE PROPERTY STRINGS "" address thread)
option(MCPK_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)

if(MCPK_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "MCPK_FUZZ needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-15)")
endif()
if((MCPK_SANITIZE OR MCPK_FUZZ) AND MCPK_STATIC_DEPS)
  message(STATUS "sanitizers/fuzzing: MCPK_STATIC_DEPS turned off")
  set(MCPK_STATIC_DEPS OFF CACHE BOOL "Link third-party libraries statically" FORCE)
  set(MCPK_STATIC_DEPS OFF)
endif()

if(MCPK_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined,float-cast-overflow)
  add_link_options(-fsanitize=address,undefined,float-cast-overflow)
elseif(MCPK_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT MCPK_SANITIZE STREQUAL "")
  message(FATAL_ERROR "MCPK_SANITIZE must be address, thread or empty, not '${MCPK_SANITIZE}'")
endif()

if(MCPK_FUZZ)
  if(MCPK_SANITIZE)
    message(FATAL_ERROR "MCPK_FUZZ brings its own sanitizers (ASan+UBSan): leave MCPK_SANITIZE empty")
  endif()
  # Everything is instrumented for coverage; fuzz/ links the libFuzzer driver itself.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# clang refuses a precompiled header whose command-line macros differ from a user's (MCPK_VERSION
# is defined for the app layer only); the fuzz build compiles headers as they are.
if(MCPK_FUZZ)
  set(MCPK_PCH OFF)
endif()
