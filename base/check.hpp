#pragma once
// HIVESIM_CHECK: an always-on assertion for internal invariants (STYLE "Errors"). Bad external
// input is never checked this way: it gets a Result and a message. A failed check is a bug: it
// prints where and why on stderr and aborts, which the CLI reports as exit 3 only if it can.

#include <cstdio>
#include <cstdlib>

#define HIVESIM_CHECK(cond, what)                                                             \
  do {                                                                                        \
    if (!(cond)) [[unlikely]] {                                                               \
      std::fprintf(stderr, "hivesim: internal error at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                   what, #cond);                                                              \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)
