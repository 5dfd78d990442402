// mutex.cpp — the part of the timeout mutex that does not depend on the type of its value
// (MutexCore in <smarm/mutex.hpp>): the holder, the FIFO queue of parked waiters and the hand-off
// of the lock to the oldest of them, made only through the scheduler's wait_until/ready pair
// (scheduler.hpp), as a channel's waits are.
#include "smarm/mutex.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "scheduler.hpp"

namespace smarm::detail {

namespace {
[[noreturn]] void self_deadlock(const char* what, const Slot& me) {
  throw Error(std::string(what) + ": actor " + Scheduler::pid_of(me).to_string() +
              " holds this mutex already; waiting for it would wait for itself (a self-deadlock). "
              "smarm::Mutex is not recursive: unlock the guard first, or pass the value down");
}

// Every lock call begins here: a free mutex becomes `me`'s at once (true); one that another actor
// holds is not (false); one that `me` holds already would wait for itself.
bool take(Slot*& holder, Slot& me, const char* what) {
  if (holder == nullptr) {
    holder = &me;
    return true;
  }
  if (holder == &me) self_deadlock(what, me);
  return false;
}
}  // namespace

bool MutexCore::try_lock(const char* what) {
  return take(holder, Scheduler::in_actor(what).running(), what);
}

// As lock_for() below, with a deadline the caller gives: no clock read at all.
LockStatus MutexCore::lock_until(std::int64_t deadline, const char* what) {
  if (deadline == kForever) unbounded(what);
  Scheduler& s = Scheduler::in_actor(what);
  Slot& me = s.running();
  if (take(holder, me, what)) return LockStatus::Locked;
  return wait_for_lock(s, me, deadline);
}

// [lock]
// A free mutex is taken at once, without a clock read or a timer. A held one puts the caller at the
// back of the queue, parked until the lock is handed to it (`granted`: the unlocker made it the
// holder before waking it), its deadline comes, or it is cancelled. Whatever woke it, it is off the
// queue when this returns or throws, and a lock granted to an actor that throws is passed on.
LockStatus MutexCore::lock_for(std::int64_t timeout, const char* what) {
  Scheduler& s = Scheduler::in_actor(what);
  Slot& me = s.running();
  if (take(holder, me, what)) return LockStatus::Locked;
  const std::int64_t now = s.now();
  if (timeout >= kForever - now) unbounded(what);
  return wait_for_lock(s, me, now + timeout);
}

LockStatus MutexCore::wait_for_lock(Scheduler& s, Slot& me, std::int64_t deadline) {
  Waiter w;
  w.actor = &me;
  w.prev = last;
  (last != nullptr ? last->next : first) = &w;
  last = &w;
  w.queued = true;
  ++waiting;
  Scheduler::Waited waited = Scheduler::Waited::Woken;
  try {
    waited = s.wait_until(Wait::Lock, deadline);
  } catch (...) {  // stopped or cancelled, perhaps just after the lock was handed to it
    if (w.granted) {
      unlock();
    } else {
      unlink(w);
    }
    throw;
  }
  // Granted wins over a deadline that came at the same time: the lock is not dropped on the floor.
  if (w.granted) return LockStatus::Locked;
  unlink(w);  // timed out: it leaves the queue now, if an unlock has not skipped it already
  SMARM_CHECK(waited != Scheduler::Waited::Woken, "an actor woken in a lock it was not granted");
  return waited == Scheduler::Waited::GaveUp ? LockStatus::Cancelled : LockStatus::TimedOut;
}
// [lock]

// [hand_off]
// The lock goes straight to the oldest waiter, which holds it before it even runs: an actor that
// locks meanwhile finds the mutex held and queues behind it. A waiter that is no longer parked has
// been made runnable by its timer or by a stop, and will not take the lock: it is skipped, and
// leaves the queue here, so that a lock is never handed to an actor that has stopped waiting.
void MutexCore::hand_off() noexcept {
  while (first != nullptr) {
    Waiter& w = *first;
    first = w.next;
    (first != nullptr ? first->prev : last) = nullptr;
    w.next = nullptr;
    w.queued = false;
    --waiting;
    if (Scheduler::waits_for(*w.actor, Wait::Lock)) {
      holder = w.actor;
      w.granted = true;
      Scheduler::of_thread()->ready(*w.actor);
      return;
    }
  }
  holder = nullptr;
}
// [hand_off]

void MutexCore::unlink(Waiter& w) noexcept {
  if (!w.queued) return;
  (w.prev != nullptr ? w.prev->next : first) = w.next;
  (w.next != nullptr ? w.next->prev : last) = w.prev;
  w.prev = w.next = nullptr;
  w.queued = false;
  --waiting;
  SMARM_CHECK(holder != nullptr || first == nullptr, "a mutex waited for and held by nobody");
}

void MutexCore::unbounded(const char* what) {
  throw Error(std::string(what) +
              ": a lock needs a deadline that comes (time_point::max(), or a duration past the "
              "clock's range, would wait without end); smarm::Mutex never waits unbounded");
}

void MutexCore::not_held(LockStatus status) {
  const char* why = "it was unlocked already";
  switch (status) {
    case LockStatus::Busy:
      why = "try_lock found the mutex held by another actor";
      break;
    case LockStatus::TimedOut:
      why = "the lock timed out";
      break;
    case LockStatus::Cancelled:
      why = "the lock was given up, the actor being stopped or cancelled while unwinding";
      break;
    case LockStatus::Locked:
      break;
  }
  throw Error(std::string("smarm::MutexGuard: the guard holds no lock (") + why +
              "); test it (if (guard) ...) before reaching the value");
}

void MutexCore::destroyed_in_use() const noexcept {
  std::fprintf(stderr,
               "smarm: a Mutex destroyed while actor %s holds it and %zu actor(s) wait for it: "
               "their guard and frames would point at freed memory; aborting\n",
               Scheduler::pid_of(*holder).to_string().c_str(), waiting);
  std::abort();
}

}  // namespace smarm::detail
