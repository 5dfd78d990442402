// actor.hpp — stage 03's public API: actors as plain blocking functions, named by Pids that no
// other actor of the process ever gets, run by a scheduler on the calling thread: run, spawn,
// join, self, yield_now, park, unpark.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

/// \file
/// \brief Actors and their scheduler (chapter 3).

namespace smarm {

namespace detail {
class Scheduler;
}  // namespace detail

// [pid]
/// \brief Names an actor: the index of its slot in its scheduler's table, and its *serial*, a
/// 64-bit number that no other actor of the process ever gets.
///
/// Every spawn, on any thread and in any run, draws a new serial, and a slot holds the serial of
/// its actor. So a Pid names the actor it was minted for and never another: once that actor has
/// ended, or in a run it does not belong to, the Pid is *stale*, and every call given one fails
/// with StalePid instead of reaching whatever actor holds that slot now.
class Pid {
 public:
  /// \brief The null Pid, which names no actor.
  constexpr Pid() noexcept = default;
  /// \brief The Pid of the actor with serial `serial`, in slot `index`.
  constexpr Pid(std::uint32_t index, std::uint64_t serial) noexcept
      : index_(index), serial_(serial) {}
  /// \brief The slot index.
  [[nodiscard]] constexpr std::uint32_t index() const noexcept { return index_; }
  /// \brief The actor's serial, unique in the process.
  [[nodiscard]] constexpr std::uint64_t serial() const noexcept { return serial_; }
  /// \brief False for the null Pid.
  constexpr explicit operator bool() const noexcept { return index_ != kNone; }
  /// \brief Pids are equal when they name the same actor.
  friend constexpr bool operator==(Pid, Pid) noexcept = default;
  /// \brief Written as Erlang writes a pid: `<index.serial>`, or `<none>`.
  [[nodiscard]] std::string to_string() const;

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::uint32_t index_ = kNone;
  std::uint64_t serial_ = 0;  // serials start at 1
};
// [pid]

static_assert(sizeof(Pid) == 16 && std::is_trivially_copyable_v<Pid>,
              "a Pid is copied into messages and kept in tables: small and trivially copyable");

/// \brief The base of every error smarm reports by exception: a misuse of the API.
class Error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// \brief A call was given a Pid that names no actor of the caller's run: its actor has ended, or
/// it belongs to another run, on this thread or another.
class StalePid : public Error {
 public:
  /// \brief `what` names the call; the message adds the Pid.
  StalePid(const char* what, Pid pid);
  /// \brief The stale Pid.
  [[nodiscard]] Pid pid() const noexcept { return pid_; }

 private:
  Pid pid_;
};

/// \brief An actor-only call (self, yield_now, park, join, ...) was made outside an actor, or a
/// scheduler call (spawn, unpark) outside smarm::run.
class NotInActor : public Error {
 public:
  using Error::Error;
};

/// \brief Thrown by run() when every remaining actor is parked and nothing can wake any of them.
///
/// Before it is thrown, each of those actors has been cancelled, once: its park() or join() threw
/// ActorCancelled, so it unwound, its destructors ran and its stack is back in the pool. If the
/// unwinding parks actors again and nothing can wake them, run() cancels those not yet cancelled;
/// when every actor still parked has been cancelled already, the process aborts with the deadlock
/// report, as Go does.
class Deadlock : public std::runtime_error {
 public:
  /// \brief `report` is the message; `parked` the actors that were found parked.
  Deadlock(const std::string& report, std::vector<Pid> parked);
  /// \brief The actors run() cancelled: those parked when the deadlock was found, and any found
  /// parked later, while they unwound.
  [[nodiscard]] const std::vector<Pid>& parked() const noexcept { return parked_; }

 private:
  std::vector<Pid> parked_;
};

/// \brief Thrown inside an actor by park() or join() when run() unwinds the actor after a
/// deadlock. Derives from no standard exception, so `catch (const std::exception&)` lets it pass;
/// an actor that catches it with `catch (...)` should rethrow it.
///
/// An actor is cancelled once. Its later waits are ordinary waits: a join() during the unwinding
/// (say, in a destructor, as std::jthread joins) completes when the joined actor ends. A wait that
/// is cancelled while its actor is already unwinding (std::uncaught_exceptions() > 0 in that actor,
/// so the wait runs in a destructor) does not throw, which would call std::terminate: park() then
/// returns, and join() returns an Outcome holding ActorCancelled and detaches the actor.
class ActorCancelled {};

/// \brief How an actor ended: it returned, or an exception escaped it.
class Outcome {
 public:
  /// \brief A normal return.
  Outcome() noexcept = default;
  /// \brief An ending by the exception `e` (a null `e` means a normal return).
  explicit Outcome(std::exception_ptr e) noexcept : exception_(std::move(e)) {}
  /// \brief True when the actor returned normally.
  [[nodiscard]] bool ok() const noexcept { return !exception_; }
  /// \brief The exception that escaped the actor, or null.
  [[nodiscard]] const std::exception_ptr& exception() const noexcept { return exception_; }
  /// \brief Rethrows the exception that escaped the actor, if one did.
  void rethrow_if_failed() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::exception_ptr exception_;
};

/// \brief The right to join one actor. Move-only; destroying a handle that was not joined
/// *detaches* the actor, which then runs on and is forgotten when it ends.
///
/// A handle works in the run (on the thread) that spawned its actor. Anywhere else it is inert:
/// join() fails with Error and destroying it does nothing, since its Pid names no actor there.
/// If the run ends while the handle still holds an actor that has failed, run() reports that
/// failure on stderr, as for a detached actor.
class JoinHandle {
 public:
  /// \brief A handle to no actor.
  JoinHandle() noexcept = default;
  /// \brief Takes over the actor of `other`, which becomes empty.
  JoinHandle(JoinHandle&& other) noexcept : pid_(std::exchange(other.pid_, Pid{})) {}
  /// \brief Detaches the actor held, if any, and takes over the actor of `other`.
  JoinHandle& operator=(JoinHandle&& other) noexcept;
  JoinHandle(const JoinHandle&) = delete;             ///< An actor has one joiner.
  JoinHandle& operator=(const JoinHandle&) = delete;  ///< An actor has one joiner.
  /// \brief Detaches the actor, if the handle still holds one.
  ~JoinHandle() { detach(); }

  /// \brief The actor this handle joins; null for an empty handle.
  [[nodiscard]] Pid pid() const noexcept { return pid_; }
  /// \brief True when the handle holds an actor not yet joined or detached.
  [[nodiscard]] bool joinable() const noexcept { return static_cast<bool>(pid_); }

  /// \brief Parks the calling actor until this handle's actor has ended, and tells how it ended.
  /// The handle is empty afterwards.
  /// \throws NotInActor outside an actor; Error for an empty handle, a handle from another run
  /// (or from a run that has ended), or an actor joining itself; ActorCancelled when run() unwinds
  /// a deadlock (unless the caller is unwinding already: see ActorCancelled).
  Outcome join();

  /// \brief Lets the actor run on unjoined; the handle becomes empty. If the actor has ended (or
  /// later ends) by an exception, that exception is reported on stderr rather than lost.
  void detach() noexcept;

 private:
  friend class detail::Scheduler;
  explicit JoinHandle(Pid pid) noexcept : pid_(pid) {}
  Pid pid_;
};
static_assert(sizeof(JoinHandle) == 16, "a handle is its Pid, as chapter 3 says");

namespace detail {

// [body]
/// \brief The type-erased callable of an actor, built in place at the top of its own stack.
struct Body {
  std::size_t size;                            ///< sizeof the callable
  std::size_t align;                           ///< alignof the callable
  void (*construct)(void* where, void* from);  ///< move- or copy-constructs the callable
  void (*invoke)(void* self);                  ///< calls the callable built at `self`
  void (*destroy)(void* self) noexcept;        ///< destroys the callable built at `self`
};

/// \brief smarm::spawn, type-erased: `from` points at the callable that `body` describes.
JoinHandle spawn(const Body& body, void* from);
/// \brief smarm::run, type-erased: `from` points at the callable that `body` describes.
Outcome run(const Body& body, void* from);

/// \brief The Body of the callable type `F`: moved from when `F` is an rvalue, copied otherwise.
template <class F>
Body body_of() {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&>, "an actor is a callable taking no arguments");
  return Body{
      sizeof(Fn),
      alignof(Fn),
      [](void* where, void* from) {
        ::new (where) Fn(std::forward<F>(*static_cast<std::remove_reference_t<F>*>(from)));
      },
      [](void* self) { (*static_cast<Fn*>(self))(); },
      [](void* self) noexcept { static_cast<Fn*>(self)->~Fn(); },
  };
}
// [body]
static_assert(sizeof(Body) == 5 * sizeof(void*), "chapter 3: five words");

/// \brief Checks that `globals`, taken for the calling thread's `__cxa_eh_globals`, holds the C++
/// exception state where the scheduler's switch expects it, by throwing and catching an exception
/// and comparing with std::uncaught_exceptions(); on a mismatch, reports it on stderr and aborts.
/// run() checks `abi::__cxa_get_globals()` once per process; tests also give it impostors.
void check_eh_layout(void* globals) noexcept;

/// \brief For tests: the next serial the calling thread draws is at least `serial`. Serials only
/// move forward, so no two actors ever share one; the hook lets a test reach serials past 2^32, or
/// the end of the 64-bit range, without spawning that many actors first.
void skip_serials_to(std::uint64_t serial) noexcept;

}  // namespace detail

/// \brief Runs a scheduler on the calling thread: `f` becomes the first actor, and run() returns
/// when no actor is left, telling how `f` ended.
/// \throws Deadlock when every remaining actor is parked and nothing can wake any of them;
/// Error when called inside run() on this thread.
template <class F>
Outcome run(F&& f) {
  const detail::Body body = detail::body_of<F&&>();
  // body_of<F&&> casts back to f's own type, const included.
  return detail::run(body, const_cast<void*>(static_cast<const void*>(&f)));  // NOLINT
}

// [spawn]
/// \brief Starts a new actor running `f`, a callable taking no arguments that the actor owns
/// (moved in, or copied from an lvalue). The new actor runs when the scheduler gets to it; the
/// caller goes on.
/// \throws NotInActor outside smarm::run; Error for a callable larger than half an actor's stack;
/// std::bad_alloc when no stack can be had; std::length_error when the slot table is full or the
/// process has used up its 2^64 - 1 serials.
template <class F>
JoinHandle spawn(F&& f) {
  const detail::Body body = detail::body_of<F&&>();
  // body_of<F&&> casts back to f's own type, const included.
  return detail::spawn(body, const_cast<void*>(static_cast<const void*>(&f)));  // NOLINT
}
// [spawn]

/// \brief The Pid of the calling actor. \throws NotInActor outside an actor.
Pid self();

/// \brief Lets every other runnable actor run once before the caller continues.
/// \throws NotInActor outside an actor.
void yield_now();

/// \brief Suspends the calling actor until unpark() is called for it. An unpark that came first
/// is not lost: park() then returns at once, consuming it.
/// \throws NotInActor outside an actor; ActorCancelled when run() unwinds a deadlock (unless the
/// caller is unwinding already: then park() returns).
void park();

/// \brief Makes `pid` runnable if it is parked; otherwise its next park() returns at once.
/// Unparking an actor that has ended but is not yet joined does nothing.
/// \throws NotInActor outside smarm::run; StalePid when `pid` names no actor of this run.
void unpark(Pid pid);

}  // namespace smarm
