// context.hpp — stage 01's public API: an execution context suspended on its own stack, and the
// switch from the running context to a suspended one.
#pragma once

#include <cstddef>
#include <span>

/// \file
/// \brief Execution contexts and the context switch (chapter 1).

// AddressSanitizer tracks which stack a thread runs on; every switch tells it (see context.cpp).
#if defined(__SANITIZE_ADDRESS__)
#define SMARM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMARM_ASAN 1
#endif
#endif
#ifndef SMARM_ASAN
/// \brief 1 when built with AddressSanitizer, whose fiber annotations the switch then calls.
#define SMARM_ASAN 0
#endif

extern "C" {
/// \brief The assembly switch: saves the running context into a frame on its own stack, stores
/// the frame's address in `*save` and resumes the frame at `to`.
/// \details Use smarm::Context; this is the raw layer it is built on (see switch_<arch>.S).
void smarm_switch(void** save, void* to);

/// \brief Builds the first frame of a context that will run `fn(arg)`, just below `stack_top`,
/// and returns the value to pass as `to` to smarm_switch().
/// \details `fn` must never return. Use smarm::Context::make(), which guarantees that.
void* smarm_make_frame(void* stack_top, void (*fn)(void*), void* arg);
}

/// \brief The smarm runtime.
namespace smarm {

/// \brief An execution context: a computation suspended on its own stack, or a place to suspend
/// the running one into.
///
/// A Context is the address of the frame its suspended computation saved on its own stack (plus
/// the bounds of that stack, which only AddressSanitizer builds use). Switching to a context
/// consumes it (it becomes empty while it runs); switching away from the running computation fills
/// the context named as the source. The stack memory belongs to the caller and must outlive the
/// context.
///
/// \snippet stages/01_context/examples/ping_pong.cpp usage
class Context {
 public:
  /// \brief The function a made context runs, called once with the argument given to make().
  using Entry = void (*)(void* arg);

  /// \brief An empty context, ready to have the running computation suspended into it.
  Context() noexcept = default;
  /// \brief Takes over the suspended computation of `other`, which becomes empty.
  Context(Context&& other) noexcept { *this = static_cast<Context&&>(other); }
  /// \brief Takes over the suspended computation of `other`, which becomes empty.
  /// \details The computation this context held, if any, is abandoned: its stack is not unwound.
  Context& operator=(Context&& other) noexcept {
    sp_ = other.sp_;
    other.sp_ = nullptr;
    stack_low_ = other.stack_low_;
    stack_size_ = other.stack_size_;
    fake_stack_ = other.fake_stack_;
    return *this;
  }
  /// A suspended computation can be resumed once; a copy would allow resuming it twice.
  Context(const Context&) = delete;
  /// A suspended computation can be resumed once; a copy would allow resuming it twice.
  Context& operator=(const Context&) = delete;
  ~Context() = default;

  /// \brief Makes a context that, when first switched to, runs `fn(arg)` on `stack`.
  ///
  /// When `fn` returns, control switches to `on_return`, which must then hold a suspended
  /// computation (typically the one that last switched into this context) and must not have
  /// moved. An exception escaping `fn` has nowhere to go: it is reported on stderr and the
  /// process aborts.
  /// \param stack the new context's stack; it must outlive the context. Its highest bytes hold
  ///        a small start record and the first frame.
  /// \param fn the function the context runs.
  /// \param arg passed to `fn`.
  /// \param on_return the context resumed when `fn` returns.
  /// \throws std::invalid_argument if `stack` is smaller than min_stack_size.
  [[nodiscard]] static Context make(std::span<std::byte> stack, Entry fn, void* arg,
                                    Context& on_return);

  /// \brief Suspends the running computation into `*this` and resumes `to`.
  ///
  /// Returns when another computation switches back to `*this`. `to` is empty from the moment
  /// it resumes. Switching to an empty context is a bug (it was never made, is running now, or
  /// has finished): it is reported on stderr and the process aborts.
  // [switch_to]
  void switch_to(Context& to) noexcept {
    void* target = to.sp_;
    if (target == nullptr) [[unlikely]] {
      fail_empty_switch();
    }
    to.sp_ = nullptr;
    asan_leave(to);
    smarm_switch(&sp_, target);
    asan_arrive();
  }
  // [switch_to]

  /// \brief True when the context holds no suspended computation: never filled, currently
  /// running, or finished.
  [[nodiscard]] bool empty() const noexcept { return sp_ == nullptr; }

  /// \brief The smallest stack make() accepts. Real code needs far more: whatever its deepest
  /// call chain uses.
  static constexpr std::size_t min_stack_size = 512;

 private:
  [[noreturn]] static void fail_empty_switch() noexcept;
  [[noreturn]] static void run(void* start) noexcept;

  // Tell AddressSanitizer about a switch (context.cpp); empty in other builds.
  void asan_leave(const Context& to) noexcept;
  void asan_arrive() noexcept;

  void* sp_ = nullptr;
  // For AddressSanitizer: the stack this context runs on, and its fake stack saved while it is
  // suspended. Present in every build, used only in sanitized ones: the layout of a class must
  // not depend on how a translation unit was compiled, or sanitized and plain code that share a
  // Context would disagree on where its members are.
  const void* stack_low_ = nullptr;
  std::size_t stack_size_ = 0;
  void* fake_stack_ = nullptr;
};

static_assert(sizeof(Context) == 4 * sizeof(void*),
              "smarm::Context has one layout in every build, sanitized or not");

#if !SMARM_ASAN
// Without AddressSanitizer there is nobody to tell about a switch, and switch_to stays a call to
// the assembly and nothing more.
inline void Context::asan_leave(const Context& /*to*/) noexcept {}
inline void Context::asan_arrive() noexcept {}
#endif

}  // namespace smarm
