// timers.cpp — time for actors (chapter 6): the run's clock, real or virtual; waits with a
// deadline, whose timers live in the wheel of timer_wheel.hpp; and what the loop does with them:
// fire those due, at turn ends while actors run and when none can, sleeping until the next.
#include <cerrno>
#include <cstdint>
#include <ctime>  // clock_gettime, clock_nanosleep (POSIX)

#include "scheduler.hpp"
#include "smarm/time.hpp"

namespace smarm {
namespace detail {

namespace {
std::int64_t steady_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // steady_clock's clock, read without its conversion
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
constexpr std::int64_t kForever = INT64_MAX;  // time_point::max(): a wait without a deadline
}  // namespace

// [clock]
std::int64_t Scheduler::now() const noexcept {
  if (virtual_now >= 0) return virtual_now;
  clock_seen = steady_now();
  return clock_seen;
}

void Scheduler::use_virtual_time() noexcept { virtual_now = steady_now(); }
// [clock]

// [wait_until]
Scheduler::Waited Scheduler::wait_until(Wait why, std::int64_t deadline) {
  if (deadline == kForever) return wait(why) ? Waited::Woken : Waited::GaveUp;
  Slot& me = running();
  // Passed when the clock was last read: no wait, no timer. One that passed since is armed, and
  // fires when the loop next looks, which saves a clock read on every wait with a deadline.
  if (deadline <= (virtual_now >= 0 ? virtual_now : clock_seen)) return Waited::TimedOut;
  SMARM_CHECK(!timers.armed(me.index), "an actor armed a second timer (a wait inside a wait?)");
  timers.arm(me.index, static_cast<std::uint64_t>(deadline));
  bool woken = false;
  try {
    woken = wait(why);
  } catch (...) {
    if (timers.armed(me.index)) timers.cancel(me.index);  // cancelled, or stopped: no timer left
    throw;  // a fired flag left behind is cleared by the next arm()
  }
  if (timers.take_fired(me.index)) return Waited::TimedOut;
  if (timers.armed(me.index)) timers.cancel(me.index);  // woken first: the timer goes at once
  return woken ? Waited::Woken : Waited::GaveUp;
}
// [wait_until]

// [fire]
// Wakes the actors whose deadlines are due by `now`, in the order of their deadlines, each to the
// back of the run queue: not through ready(), whose wakes may go to the front when the turn that
// made them ends its actor (chapter 4), which would put a later deadline before an earlier one.
// One that something else woke after its deadline passed, and that has not run yet, keeps that
// wake.
void Scheduler::fire_due(std::int64_t now) noexcept {
  const auto due = static_cast<std::uint64_t>(now);
  for (std::uint32_t id = timers.pop(due); id != TimerWheel::kNone; id = timers.pop(due)) {
    Slot& s = slot(id);
    if (s.state == State::Parked) {
      push(s);
    } else {
      (void)timers.take_fired(id);
    }
  }
}

// A turn ended while timers are pending: every kTurnsPerClockRead turns, the clock is read and
// what is due is woken. Virtual time stands still while actors run: nothing to look for.
void Scheduler::check_clock() noexcept {
  turns_to_clock = kTurnsPerClockRead;
  if (virtual_now < 0) fire_due(now());
}

// Nothing is runnable and timers are pending: sleep until the earliest may be due (virtual time
// jumps there), then wake what is due. The wheel's bound is never after the earliest deadline,
// and each wake-up that finds nothing due yet moves a timer a level closer, so the loop neither
// oversleeps nor spins.
void Scheduler::sleep_until_due() {
  const auto bound = static_cast<std::int64_t>(timers.bound());
  if (virtual_now >= 0) {
    if (bound > virtual_now) virtual_now = bound;
  } else if (bound > now()) {
    const timespec at{bound / 1'000'000'000, bound % 1'000'000'000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
    }
  }
  fire_due(now());
}
// [fire]

}  // namespace detail

Clock::time_point Clock::now() noexcept {
  const detail::Scheduler* const s = detail::Scheduler::of_thread();
  return time_point(duration(s != nullptr ? s->now() : detail::steady_now()));
}

// [sleep]
void sleep_until(Clock::time_point deadline) {
  detail::Scheduler& s = detail::Scheduler::in_actor("smarm::sleep_until");
  // A wait for ever that nothing can end: the deadlock report names it rather than hang.
  (void)s.wait_until(detail::Wait::Sleep, deadline.time_since_epoch().count());
}
// [sleep]

}  // namespace smarm
