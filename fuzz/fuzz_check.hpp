#pragma once

// Invariant checks for the fuzz targets. Unlike assert() they stay on in
// release builds (NDEBUG): a failed check prints what failed and aborts, which
// libFuzzer reports as a crash and saves the input.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
