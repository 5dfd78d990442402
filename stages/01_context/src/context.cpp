// context.cpp — making a context: the start record on the new stack, and the C++ entry that runs
// the user's function and leaves the context when it returns.
#include "smarm/context.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

namespace smarm {
namespace {

// What a made context needs once it runs. It lives at the top of the context's own stack, so
// making a context allocates nothing.
struct Start {
  Context::Entry fn;
  void* arg;
  Context* on_return;
};

// The first C++ frame of every context (smarm_trampoline calls it). It must not return: the
// trampoline above it has no caller to return to.
[[noreturn]] void context_main(void* raw) noexcept {
  Start start = *static_cast<Start*>(raw);
  try {
    start.fn(start.arg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smarm: exception escaped a context's function: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "smarm: exception of unknown type escaped a context's function\n");
    std::abort();
  }
  // The finished computation is saved into a context nobody will resume.
  Context finished;
  finished.switch_to(*start.on_return);
  std::fprintf(stderr, "smarm: a finished context was resumed\n");
  std::abort();
}

}  // namespace

Context Context::make(std::span<std::byte> stack, Entry fn, void* arg, Context& on_return) {
  if (stack.size() < min_stack_size) {
    throw std::invalid_argument("smarm::Context::make: stack of " + std::to_string(stack.size()) +
                                " bytes is smaller than the minimum of " +
                                std::to_string(min_stack_size));
  }
  auto top = reinterpret_cast<std::uintptr_t>(stack.data() + stack.size());
  top = (top - sizeof(Start)) & ~std::uintptr_t{15};
  auto* start = new (reinterpret_cast<void*>(top)) Start{fn, arg, &on_return};
  Context made;
  made.sp_ = smarm_make_frame(start, context_main, start);
  return made;
}

void Context::fail_empty_switch() noexcept {
  std::fprintf(stderr,
               "smarm: switch to an empty Context (never made, already running, or finished)\n");
  std::abort();
}

}  // namespace smarm
