// overflow.hpp — a recursion that never ends by itself, for the tests that prove a stack
// overflow is caught (by a guard page or a canary) and reported.
#pragma once

#include <cstddef>

namespace smarm_test {

// Read at run time, so the compiler can neither prove the recursion infinite nor turn it into a
// loop; nothing ever lowers it.
inline volatile int depth_limit = 1 << 30;

// Where a test's frames store what they read, so that the compiler keeps the frame.
inline volatile std::byte sink{};

// Recurses with a 512-byte frame until the stack runs out.
[[gnu::noinline]] inline int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth < depth_limit) return recurse(depth + 1) + frame[0];
  return frame[0];
}

// Recurses with 512-byte frames, writing each, until a frame lies below `limit`; then returns.
// Not instrumented by AddressSanitizer: its frames deliberately land on another stack, whose
// suspended frames' redzones ASan would report, and the test is about smarm's report.
[[gnu::noinline]] __attribute__((no_sanitize_address)) inline int recurse_below(
    const std::byte* limit) {
  volatile char frame[512];
  frame[0] = 1;
  if (reinterpret_cast<const volatile std::byte*>(&frame[0]) > limit) {
    return recurse_below(limit) + frame[0];
  }
  return frame[0];
}

}  // namespace smarm_test
