// time.hpp — time for actors (chapter 6): the run's clock, sleeping until a deadline, parking with
// one, and the clock modes of smarm::run. The other blocking calls take their deadlines in their
// own headers (JoinHandle::join_until, Receiver::recv_until, Sender::send_until).
#pragma once

#include <chrono>
#include <cstdint>

namespace smarm {

/// \brief The clock of smarm's deadlines: std::chrono::steady_clock's time (CLOCK_MONOTONIC, in
/// nanoseconds), except in a run in virtual time, where it is that run's virtual time.
struct Clock {
  using rep = std::int64_t;                           ///< Nanoseconds.
  using period = std::nano;                           ///< Nanoseconds.
  using duration = std::chrono::nanoseconds;          ///< The clock's durations.
  using time_point = std::chrono::time_point<Clock>;  ///< The clock's instants.
  static constexpr bool is_steady = true;             ///< It never goes back.
  /// \brief The present: the calling thread's run's time inside smarm::run, the steady clock's
  /// outside it.
  static time_point now() noexcept;
};

/// \brief How smarm::run keeps time.
enum class TimeMode : std::uint8_t {
  Real,     ///< The steady clock: a sleep of a second takes a second.
  Virtual,  ///< Virtual time: it stands still while any actor can run, and when none can, it
            ///< jumps to the next deadline. Deterministic, and a sleep of an hour takes no time:
            ///< for tests. It starts at the steady clock's present.
};

namespace detail {
/// \brief `d` from now on the run's clock; a `d` too long for the clock's range gives
/// time_point::max(), which waits without a deadline.
template <class Rep, class Period>
Clock::time_point deadline_after(const std::chrono::duration<Rep, Period>& d) noexcept {
  const Clock::time_point now = Clock::now();
  if (d <= d.zero()) return now;
  const auto room = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(
      Clock::time_point::max() - now);
  if (d >= room) return Clock::time_point::max();
  return now + std::chrono::ceil<Clock::duration>(d);
}
}  // namespace detail

/// \brief Suspends the calling actor until `deadline` on the run's clock; returns at once when it
/// has passed. Other actors run meanwhile.
/// \throws NotInActor outside an actor; ActorCancelled when the actor is stopped or unwound by
/// run() (unless it is unwinding already: then it returns early).
void sleep_until(Clock::time_point deadline);

/// \brief Suspends the calling actor for `d` (at least; as sleep_until()).
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
  sleep_until(detail::deadline_after(d));
}

/// \brief park() with a deadline: true when unparked (or an unpark came first), false when
/// `deadline` came first. time_point::max() waits without a deadline, as park().
/// \throws as park().
bool park_until(Clock::time_point deadline);

/// \brief park() for at most `d`: as park_until().
template <class Rep, class Period>
bool park_for(const std::chrono::duration<Rep, Period>& d) {
  return park_until(detail::deadline_after(d));
}

}  // namespace smarm
