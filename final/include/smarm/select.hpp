// select.hpp — waiting on several receivers at once (chapter 6): select parks the calling actor on
// every receiver it is given, with an optional deadline, and says which one is ready. The typed
// part lives here (each receiver seen as its ChannelCore and a test of readiness); the wait, the
// choice among the ready and the removal of the registrations are select_by, in src/select.cpp.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "smarm/channel.hpp"
#include "smarm/time.hpp"

/// \file
/// \brief select over several receivers, with an optional deadline (chapter 6).

namespace smarm {

namespace detail {

// [arm]
/// \brief One receiver of a select, with its type erased: its channel's core, and how to tell
/// whether a recv() on it would return at once (a value is queued, or every sender is gone).
struct SelectArm {
  ChannelCore* core;                           ///< the receiver's channel
  bool (*ready)(const ChannelCore&) noexcept;  ///< true when a recv() would not park
};

/// \brief What select sees of a Receiver: its channel, and its readiness. A friend of Receiver.
struct SelectAccess {
  /// \brief The channel of `r`; Error for an empty receiver, `what` naming the call.
  template <class T>
  static ChannelCore& core(Receiver<T>& r, const char* what) {
    return r.held(what);
  }
  /// \brief True when a recv() on the Channel<T> `c` would return at once.
  template <class T>
  static bool ready(const ChannelCore& c) noexcept {
    const auto& channel = static_cast<const Channel<T>&>(c);
    return !channel.buffer.empty() || channel.senders == 0;
  }
  /// \brief `r` as an arm of a select.
  template <class T>
  static SelectArm arm(Receiver<T>& r, const char* what) {
    return {&core(r, what), &ready<T>};
  }
};
// [arm]

/// \brief select_by()'s answer when the deadline came and no receiver was ready.
inline constexpr std::size_t kSelectTimedOut = SIZE_MAX;

/// \brief Parks the running actor on the `n` receivers of `arms` until one is ready or until
/// `deadline` (nanoseconds of smarm::Clock; ChannelCore::kForever for none). Returns the index of
/// a ready one, chosen at random among those ready; kSelectTimedOut at the deadline; `n` when
/// cancelled while unwinding already. No registration is left on any channel when it returns or
/// throws.
/// \throws NotInActor outside an actor; Error for a receiver given twice or one another actor is
/// receiving on; ActorCancelled when stopped or unwound by run().
std::size_t select_by(const SelectArm* arms, std::size_t n, std::int64_t deadline,
                      const char* what);

/// \brief select_by() over `receivers`, `what` naming the call in errors.
template <class... T>
std::size_t select_among(const char* what, std::int64_t deadline, Receiver<T>&... receivers) {
  static_assert(sizeof...(T) > 0, "a select over no receiver would wait for ever");
  const std::array<SelectArm, sizeof...(T)> arms{SelectAccess::arm(receivers, what)...};
  return select_by(arms.data(), arms.size(), deadline, what);
}

/// \brief select_among() with a deadline, as select_until() answers.
template <class... T>
std::optional<std::size_t> select_by_deadline(const char* what, Clock::time_point deadline,
                                              Receiver<T>&... receivers) {
  const std::size_t i = select_among(what, deadline.time_since_epoch().count(), receivers...);
  if (i == kSelectTimedOut) return std::nullopt;
  return i;
}

}  // namespace detail

/// \brief Parks the calling actor until one of `receivers` is ready, and returns its index (0 for
/// the first): a recv() or try_recv() on it then returns at once, with a value or with "closed"
/// (a receiver whose senders are all gone is ready). When several are ready, one of them is
/// chosen at random, so that none is starved. Nothing is received: the caller receives from the
/// one chosen, and the others keep their values. The receivers may carry different types.
///
/// Another actor cannot take the value meanwhile, since a channel has one Receiver. Returns
/// `sizeof...(receivers)`, no receiver's index, only when the actor is cancelled while it is
/// unwinding already (see ActorCancelled).
/// \throws NotInActor outside an actor; Error for an empty receiver (moved from), a receiver given
/// twice, or a receiver another actor is parked in recv() on; ActorCancelled when stopped or
/// unwound by run().
template <class... T>
std::size_t select(Receiver<T>&... receivers) {
  return detail::select_among("smarm::select", detail::ChannelCore::kForever, receivers...);
}

/// \brief select() with a deadline: the index of a ready receiver, or std::nullopt when none was
/// ready by `deadline`. A value that arrives as the deadline passes is not lost: it is chosen if
/// it is there when the actor runs again, and otherwise stays in its channel. A deadline that has
/// passed polls: the index of a ready receiver if there is one, without waiting.
/// time_point::max() waits without a deadline. Cancelled while unwinding already, it returns
/// `sizeof...(receivers)`, as select().
/// \throws as select().
template <class... T>
std::optional<std::size_t> select_until(Clock::time_point deadline, Receiver<T>&... receivers) {
  return detail::select_by_deadline("smarm::select_until", deadline, receivers...);
}

/// \brief select() waiting at most `d`: as select_until(). A `d` of zero polls.
template <class Rep, class Period, class... T>
std::optional<std::size_t> select_for(const std::chrono::duration<Rep, Period>& d,
                                      Receiver<T>&... receivers) {
  return detail::select_by_deadline("smarm::select_for", detail::deadline_after(d), receivers...);
}

}  // namespace smarm
