// Invariant checks for the fuzz targets.
//
// A fuzz target states what must hold for every input; a broken invariant is
// a finding, so it aborts the process at once (libFuzzer then saves the
// input as crash-<hash>). FUZZ_CHECK is active in every build type: the
// replay executables run as CTest tests in Release too.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace dbmig::fuzz {

// Prints `what` and where the check failed, then aborts.
[[noreturn]] inline void invariant_broken(std::string_view what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %.*s\n", file, line,
               static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace dbmig::fuzz

#define FUZZ_CHECK(condition, what)                                              \
  do {                                                                           \
    if (!(condition)) ::dbmig::fuzz::invariant_broken(what, __FILE__, __LINE__); \
  } while (false)
