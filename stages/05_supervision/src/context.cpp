// context.cpp — making a context: the start record on the new stack, the C++ entry that runs the
// user's function and leaves the context when it returns, and the sanitizer annotations.
#include "smarm/context.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#if SMARM_ASAN
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace smarm {
namespace {

// What a made context needs once it runs. It lives at the top of the context's own stack, so
// making a context allocates nothing.
// [start]
struct Start {
  Context::Entry fn;
  void* arg;
  Context* on_return;
  std::span<std::byte> stack;
};
// [start]
// Chapters 1 to 3 draw the record as 40 bytes, 48 under the top of a 16-aligned stack.
static_assert(sizeof(Start) == 40, "the start record is five words, as the book says");

}  // namespace

#if SMARM_ASAN
// AddressSanitizer keeps, per thread, the bounds of the stack it is running on: it needs them to
// unpoison a stack that an exception unwinds, and to tell stack from heap in its reports. So
// every switch announces the target's stack before it happens and confirms it after.
namespace {

struct Bounds {
  const void* low = nullptr;
  std::size_t size = 0;
};

thread_local Bounds running;  // the stack this thread is on now; empty until the first switch

Bounds thread_stack() {
  Bounds b;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* low = nullptr;
    pthread_attr_getstack(&attr, &low, &b.size);
    b.low = low;
    pthread_attr_destroy(&attr);
  }
  return b;
}

}  // namespace

// [asan]
void Context::asan_leave(const Context& to) noexcept {
  if (running.low == nullptr) {
    running = thread_stack();
  }
  stack_low_ = running.low;  // what we suspend into *this runs on the current stack
  stack_size_ = running.size;
  __sanitizer_start_switch_fiber(&fake_stack_, to.stack_low_, to.stack_size_);
}

void Context::asan_arrive() noexcept {
  __sanitizer_finish_switch_fiber(fake_stack_, nullptr, nullptr);
  running = {stack_low_, stack_size_};
}

namespace {

// A context's first arrival is in Context::run, not after a switch_to: it completes there the
// announcement that the switch into it began.
void asan_arrive_first(std::span<std::byte> stack) noexcept {
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
  running = {stack.data(), stack.size()};
}

// A finished context leaves for good: with no place to save its fake stack, ASan drops the
// stack it leaves.
void asan_leave_for_good(const void* to_low, std::size_t to_size) noexcept {
  __sanitizer_start_switch_fiber(nullptr, to_low, to_size);
}

}  // namespace
// [asan]
#else
namespace {

// Without AddressSanitizer there is nobody to tell about a switch.
void asan_arrive_first(std::span<std::byte> /*stack*/) noexcept {}
void asan_leave_for_good(const void* /*to_low*/, std::size_t /*to_size*/) noexcept {}

}  // namespace
#endif

// The first C++ frame of every context (smarm_trampoline calls it). It must not return: the
// trampoline above it has no caller to return to.
// [run]
void Context::run(void* start_record) noexcept {
  const Start start = *static_cast<Start*>(start_record);
  asan_arrive_first(start.stack);
  try {
    start.fn(start.arg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smarm: exception escaped a context's function: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "smarm: exception of unknown type escaped a context's function\n");
    std::abort();
  }
  // Leave for good: the finished computation is saved into a context nobody will resume.
  Context& to = *start.on_return;
  void* target = to.sp_;
  if (target == nullptr) {
    fail_empty_switch();
  }
  to.sp_ = nullptr;
  asan_leave_for_good(to.stack_low_, to.stack_size_);
  void* finished = nullptr;
  smarm_switch(&finished, target);
  std::fprintf(stderr, "smarm: a finished context was resumed\n");
  std::abort();
}
// [run]

// [make]
Context Context::make(std::span<std::byte> stack, Entry fn, void* arg, Context& on_return) {
  if (stack.size() < min_stack_size) {
    throw std::invalid_argument("smarm::Context::make: stack of " + std::to_string(stack.size()) +
                                " bytes is smaller than the minimum of " +
                                std::to_string(min_stack_size));
  }
  std::byte* top = stack.data() + stack.size() - sizeof(Start);
  top -= reinterpret_cast<std::uintptr_t>(top) % 16;  // the frame below wants 16-byte alignment
  auto* start = new (top) Start{fn, arg, &on_return, stack};
  Context made;
  made.sp_ = smarm_make_frame(start, run, start);
  made.stack_low_ = stack.data();
  made.stack_size_ = stack.size();
  return made;
}
// [make]

void Context::fail_empty_switch() noexcept {
  std::fprintf(stderr,
               "smarm: switch to an empty Context (never made, already running, or finished)\n");
  std::abort();
}

}  // namespace smarm
