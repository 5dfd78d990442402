// mutex.hpp — the timeout mutex (chapter 6): a value of type T that one actor at a time may use,
// whose lock always has a deadline, as the prototype's rule asks (no unbounded wait on a lock). The
// typed part lives here (the value and the guard that gives access to it); what does not depend on
// the type (the holder, the FIFO queue of parked waiters, the hand-off, the waits through the
// scheduler) is MutexCore, in src/mutex.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "smarm/actor.hpp"
#include "smarm/time.hpp"

/// \file
/// \brief The timeout mutex (chapter 6).

namespace smarm {

/// \brief What a lock call did: the status of the MutexGuard it returned.
enum class LockStatus : std::uint8_t {
  Locked,     ///< The guard holds the lock.
  Busy,       ///< try_lock() only: another actor held the mutex.
  TimedOut,   ///< lock_until() or lock_for(): the deadline came before the lock did.
  Cancelled,  ///< The actor was stopped or cancelled while it was unwinding already (in a
              ///< destructor, where a throw would call std::terminate): it gave up waiting.
};

template <class T>
class Mutex;

namespace detail {

struct Slot;
class Scheduler;

// [core]
/// \brief The part of a mutex that does not depend on the type of its value: who holds it, the
/// actors parked waiting for it in the order they came, and the hand-off of the lock from the
/// holder to the oldest of them, through the scheduler's wait_until/ready pair.
///
/// One scheduler per thread, and a mutex used by the actors of one run: no field is atomic.
/// Invariant: nobody waits for a mutex that nobody holds (`holder` null implies `first` null).
struct MutexCore {
  /// \brief An actor parked in a lock: on its own stack while it waits, so that waiting allocates
  /// nothing, and doubly linked, so that one whose deadline came leaves the queue at once.
  struct Waiter {
    Waiter* prev = nullptr;  ///< the waiter that came before, or null
    Waiter* next = nullptr;  ///< the waiter that came after, or null
    Slot* actor = nullptr;   ///< the parked actor
    bool granted = false;    ///< the lock was handed to it: it holds the mutex
    bool queued = false;     ///< on the queue
  };

  Slot* holder = nullptr;   ///< the actor that holds the lock, or null
  Waiter* first = nullptr;  ///< the oldest waiter: the next holder
  Waiter* last = nullptr;   ///< the newest waiter
  std::size_t waiting = 0;  ///< the waiters queued

  MutexCore() noexcept = default;
  MutexCore(const MutexCore&) = delete;             ///< A mutex stays where it is.
  MutexCore& operator=(const MutexCore&) = delete;  ///< A mutex stays where it is.
  MutexCore(MutexCore&&) = delete;                  ///< A mutex stays where it is.
  MutexCore& operator=(MutexCore&&) = delete;       ///< A mutex stays where it is.
  /// \brief Aborts with a report when the mutex is still held or waited for: the guard of its
  /// holder and the frames of its waiters point at it.
  ~MutexCore() {
    if (holder != nullptr) destroyed_in_use();
  }

  /// \brief A deadline that never comes: time_point::max()'s nanoseconds, which a lock refuses.
  static constexpr std::int64_t kForever = INT64_MAX;

  /// \brief Takes the lock if nobody holds it: true. False when another actor does.
  /// \throws NotInActor outside an actor; Error when the calling actor holds it already.
  bool try_lock(const char* what);
  /// \brief Takes the lock, parking the calling actor behind the waiters already queued until
  /// the lock is handed to it or `deadline` (nanoseconds of smarm::Clock) comes.
  /// \throws as try_lock(); Error for a deadline that never comes; ActorCancelled when the actor
  /// is stopped or cancelled (unless it is unwinding already: then it returns Cancelled).
  LockStatus lock_until(std::int64_t deadline, const char* what);
  /// \brief lock_until() `timeout` nanoseconds from now, a clock read made only if it must wait.
  /// \throws as lock_until().
  LockStatus lock_for(std::int64_t timeout, const char* what);
  /// \brief `d` in whole nanoseconds (rounded up; 0 for a negative `d`), for lock_for().
  /// \throws Error for a `d` past the clock's range, which would wait without end.
  template <class Rep, class Period>
  static std::int64_t timeout_of(const std::chrono::duration<Rep, Period>& d, const char* what) {
    using Duration = std::chrono::duration<Rep, Period>;
    if (d <= d.zero()) return 0;
    if (d >= std::chrono::duration_cast<Duration>(std::chrono::nanoseconds::max())) unbounded(what);
    return std::chrono::ceil<std::chrono::nanoseconds>(d).count();
  }
  /// \brief Releases the lock: to the oldest waiter still waiting, which holds it from now on, or
  /// to nobody when none waits.
  void unlock() noexcept {
    if (first == nullptr) {
      holder = nullptr;
    } else {
      hand_off();
    }
  }

  /// \brief unlock() when someone waits: the lock goes to the oldest waiter still parked.
  void hand_off() noexcept;
  /// \brief Takes `w` off the queue if it is still on it.
  void unlink(Waiter& w) noexcept;
  /// \brief The caller, parked at the back of the queue until the lock is handed to it or
  /// `deadline` comes, whatever ends the wait. `s` and `me`: the scheduler and the caller's slot.
  LockStatus wait_for_lock(Scheduler& s, Slot& me, std::int64_t deadline);
  /// \brief Throws Error for a lock with a deadline that never comes; `what` names the call.
  [[noreturn]] static void unbounded(const char* what);
  /// \brief Throws Error for the use of a guard that holds no lock, which `status` tells why.
  [[noreturn]] static void not_held(LockStatus status);
  /// \brief Reports a mutex destroyed while held on stderr, and aborts.
  [[noreturn]] void destroyed_in_use() const noexcept;
};
// [core]

}  // namespace detail

/// \brief The lock of a Mutex, held while the guard lives: `*guard` and `guard->` reach the value.
///
/// What a lock call returns, whether it got the lock or not: `if (auto g = m.lock_for(10ms))`
/// tests it, status() tells why not. The guard unlocks when it is destroyed, however its scope is
/// left: a return, an exception, or the ActorCancelled of a stop or a deadlock's unwinding. It can
/// be neither copied nor moved, so that the lock stays in the frame of the actor that took it.
template <class T>
class [[nodiscard]] MutexGuard {
 public:
  MutexGuard(const MutexGuard&) = delete;             ///< One guard per lock.
  MutexGuard& operator=(const MutexGuard&) = delete;  ///< One guard per lock.
  MutexGuard(MutexGuard&&) = delete;                  ///< The lock stays in the locker's frame.
  MutexGuard& operator=(MutexGuard&&) = delete;       ///< The lock stays in the locker's frame.
  /// \brief Unlocks, if the guard holds the lock.
  ~MutexGuard() { unlock(); }

  /// \brief True while the guard holds the lock.
  explicit operator bool() const noexcept { return mutex_ != nullptr; }
  /// \brief What the lock call did: Locked, or why the guard holds no lock (Busy, TimedOut,
  /// Cancelled). It stays Locked after unlock().
  [[nodiscard]] LockStatus status() const noexcept { return status_; }
  /// \brief The value the mutex protects.
  /// \throws Error when the guard holds no lock (it was not granted, or unlocked already).
  T& operator*() const { return held().value_; }
  /// \brief The value the mutex protects, for member access.
  /// \throws as operator*().
  T* operator->() const { return &held().value_; }
  /// \brief Releases the lock before the guard goes: to the oldest actor waiting for it, if any.
  /// Does nothing when the guard holds no lock.
  void unlock() noexcept {
    if (mutex_ != nullptr) std::exchange(mutex_, nullptr)->core_.unlock();
  }

 private:
  friend class Mutex<T>;
  MutexGuard(Mutex<T>* held, LockStatus status) noexcept : mutex_(held), status_(status) {}
  Mutex<T>& held() const {
    if (mutex_ == nullptr) detail::MutexCore::not_held(status_);
    return *mutex_;
  }

  Mutex<T>* mutex_;  // null unless the lock is held
  LockStatus status_;
};

/// \brief A value of type T that one actor at a time may use, through the MutexGuard a lock
/// returns. Every lock has a deadline: an actor never waits for a lock without end.
///
/// Waiters queue in the order they came, and unlocking hands the lock straight to the oldest one
/// still waiting, so that an actor arriving later cannot take it first (no barging) and none
/// starves. A waiter whose deadline comes leaves the queue at once. Not recursive: locking a
/// mutex the calling actor holds is an error, not a wait for itself. For the actors of one run
/// (one thread); neither copied nor moved, since guards and waiters point at it.
template <class T>
class Mutex {
 public:
  /// \brief A mutex protecting a value-initialized T.
  Mutex() : value_() {}
  /// \brief A mutex protecting `value`.
  explicit Mutex(T value) : value_(std::move(value)) {}
  /// \brief A mutex protecting a T made in place from `args`.
  template <class... Args>
  explicit Mutex(std::in_place_t /*unused*/, Args&&... args)
      : value_(std::forward<Args>(args)...) {}
  Mutex(const Mutex&) = delete;             ///< Guards and waiters point at it.
  Mutex& operator=(const Mutex&) = delete;  ///< Guards and waiters point at it.
  Mutex(Mutex&&) = delete;                  ///< Guards and waiters point at it.
  Mutex& operator=(Mutex&&) = delete;       ///< Guards and waiters point at it.
  /// \brief Destroys the value. Destroying a mutex that an actor holds, or waits for, is a bug
  /// that would leave a guard pointing at freed memory: the process aborts with a report.
  ~Mutex() = default;

  /// \brief The lock, if it is free now: Locked, or Busy when another actor holds it (waiters
  /// queue only behind a holder, so a free mutex has none to pass). Never parks.
  /// \throws NotInActor outside an actor; Error when the calling actor holds the mutex already.
  MutexGuard<T> try_lock() {
    return guard(core_.try_lock("smarm::Mutex::try_lock") ? LockStatus::Locked : LockStatus::Busy);
  }

  /// \brief The lock, waiting for it until `deadline` at most: Locked; TimedOut when the deadline
  /// came first (at once when it has passed and the mutex is held), the waiter gone from the
  /// queue; Cancelled when stopped while unwinding already. Waiters get the lock in the order
  /// they came.
  /// \throws NotInActor outside an actor; Error when the calling actor holds the mutex already
  /// (a self-deadlock), or for `Clock::time_point::max()`, a deadline that never comes;
  /// ActorCancelled when the actor is stopped or a deadlock's unwinding cancels it while it waits.
  MutexGuard<T> lock_until(Clock::time_point deadline) {
    return guard(core_.lock_until(deadline.time_since_epoch().count(), "smarm::Mutex::lock_until"));
  }

  /// \brief The lock, waiting for it for `d` at most: as lock_until(). The clock is read only
  /// when the lock must be waited for.
  /// \throws as lock_until(); Error for a `d` that reaches past the clock's range
  /// (`duration::max()`, say), which would wait without end.
  template <class Rep, class Period>
  MutexGuard<T> lock_for(const std::chrono::duration<Rep, Period>& d) {
    constexpr const char* kWhat = "smarm::Mutex::lock_for";
    return guard(core_.lock_for(detail::MutexCore::timeout_of(d, kWhat), kWhat));
  }

  /// \brief True while an actor holds the lock.
  [[nodiscard]] bool locked() const noexcept { return core_.holder != nullptr; }
  /// \brief The actors queued waiting for the lock.
  [[nodiscard]] std::size_t waiters() const noexcept { return core_.waiting; }

 private:
  friend class MutexGuard<T>;
  MutexGuard<T> guard(LockStatus status) noexcept {
    return {status == LockStatus::Locked ? this : nullptr, status};
  }

  T value_;
  detail::MutexCore core_;  // after the value: destroyed, and so checked, first
};

}  // namespace smarm
