// supervisor.hpp — stage 05's public API: supervision. An actor that supervises owns a mailbox
// of signals (a channel of stage 04); each child spawned under it sends it one signal as it ends.
// Monitors tell any actor, once, that another has ended; stop() asks an actor to unwind. On top
// of them, Supervisor: OTP's child specifications, strategies, restart policies and intensity.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "smarm/actor.hpp"
#include "smarm/channel.hpp"

/// \file
/// \brief Supervision: signals, monitors, stopping an actor, and supervisors (chapter 5).

namespace smarm {

// [signal]
/// \brief How an actor ended, as a Signal tells it.
enum class Exit : std::uint8_t {
  Normal,   ///< It returned.
  Failed,   ///< An exception escaped it (Signal::exception; ActorCancelled when it was stopped).
  Ignored,  ///< It was stopped, caught the cancellation and went on blocking or yielding: its
            ///< supervisor no longer waits for it, and its end goes to the root sentinel.
  NoActor,  ///< A monitor's only: the Pid named no actor of the run when the monitor was set
            ///< (ended and forgotten, or never of this run), so how it ended is not known.
};

/// \brief What a supervisor (or a monitor's mailbox) is told when an actor ends.
struct Signal {
  Pid pid;                       ///< The actor the signal is about.
  Exit exit = Exit::Normal;      ///< How it ended.
  std::exception_ptr exception;  ///< What escaped it, for Exit::Failed; null otherwise.

  /// \brief True when the actor returned normally.
  [[nodiscard]] bool ok() const noexcept { return exit == Exit::Normal; }
  /// \brief True when it ended by the ActorCancelled of a stop or of a deadlock.
  [[nodiscard]] bool cancelled() const noexcept;
  /// \brief Rethrows the exception that escaped the actor, if one did.
  void rethrow_if_failed() const {
    if (exception) std::rethrow_exception(exception);
  }
};
// [signal]

namespace detail {
/// \brief smarm::spawn_under, type-erased.
Pid spawn_under(Pid supervisor, const Body& body, void* from);
}  // namespace detail

// [api]
/// \brief Makes the calling actor a supervisor: returns the receiving end of its signal mailbox,
/// to which every child spawned under it (spawn_under) sends one Signal as it ends. The mailbox
/// is unbounded, so a child's end never waits for its supervisor; while the supervisor is parked
/// elsewhere, the signals queue. Once the Receiver is destroyed (the supervisor has ended, say),
/// the signals of its children go to the root sentinel, which reports their failures on stderr.
/// \throws NotInActor outside an actor; Error when the caller supervises already.
Receiver<Signal> supervise();

/// \brief Starts a new actor running `f`, as spawn() does, supervised by `supervisor`: when it
/// ends, it sends the supervisor's mailbox one Signal. Its outcome goes there and to no
/// JoinHandle, so the Pid is all the caller gets.
/// \throws NotInActor outside smarm::run; StalePid when `supervisor` names no actor of the run;
/// Error when `supervisor` has not called supervise(); what spawn() throws.
template <class F>
Pid spawn_under(Pid supervisor, F&& f) {
  const detail::Body body = detail::body_of<F&&>();
  // body_of<F&&> casts back to f's own type, const included.
  return detail::spawn_under(supervisor, body,
                             const_cast<void*>(static_cast<const void*>(&f)));  // NOLINT
}

/// \brief Tells `mailbox`, once, when `target` ends (Erlang's monitor): a Signal with its Pid and
/// how it ended. If `target` has ended already, or names no actor of the run, the Signal is sent
/// at once (Exit::NoActor when how it ended is not known any more). A monitor whose mailbox has
/// lost its receiver is dropped: nobody is left to tell.
/// \throws NotInActor outside smarm::run; Error on an empty Sender.
void monitor(Pid target, const Sender<Signal>& mailbox);

/// \brief Asks `target` to stop: its current blocking call (park, join, recv, send), or its next
/// one, throws ActorCancelled, the cancellation that unwinds a deadlock, so its destructors run.
/// While it unwinds, a blocking call in a destructor gives up at once (as after a deadlock), so
/// a stopped actor does not block again, except a supervisor waiting for its own children to
/// end. An actor that catches the cancellation and then blocks or yields has *refused* the stop:
/// its supervisor gets Exit::Ignored at once and stops waiting for it, the refusal is reported on
/// stderr, and its waits become ordinary ones. An actor that neither blocks nor yields cannot be
/// stopped (no preemption before chapter 7). Returns false, and does nothing, when `target` has
/// ended or names no actor of the run: an actor may end by itself just before it is stopped.
/// \throws NotInActor outside smarm::run.
bool stop(Pid target);
// [api]

// [supervisor]
/// \brief Which children a supervisor restarts when one of them ends and must be restarted.
enum class Strategy : std::uint8_t {
  OneForOne,   ///< That child alone.
  OneForAll,   ///< Every child: the others are stopped (in reverse order), then all restarted.
  RestForOne,  ///< That child and those started after it: they are stopped, then restarted.
};

/// \brief When a child that has ended is restarted (OTP's restart types).
enum class Restart : std::uint8_t {
  Permanent,  ///< Always.
  Transient,  ///< Only when it failed (an exception escaped it, or it refused a stop).
  Temporary,  ///< Never; a temporary child stopped by its siblings' restart is not restarted.
};

/// \brief One child of a Supervisor: how to start it, and when to start it again.
struct ChildSpec {
  std::string name;                      ///< For the reports.
  std::function<void()> start;           ///< The child's body; copied anew at each start.
  Restart restart = Restart::Permanent;  ///< When it is restarted.
};

/// \brief Thrown by a Supervisor that had to restart children more than its intensity allows:
/// its children have been stopped, and its own supervisor hears of the failure.
class RestartIntensityExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// \brief A supervisor, as Erlang/OTP's: an actor's body (spawn it, or spawn_under another
/// supervisor, so that supervisors nest) that starts its children in order, restarts them as its
/// strategy and their Restart say, and stops them in reverse order.
///
/// Restart intensity: more than `intensity` restarts within `period` (read on a monotonic clock
/// at each restart) and the supervisor stops every child and fails with RestartIntensityExceeded,
/// which its own supervisor hears as a failure. Stopped (smarm::stop), it stops its children,
/// waiting for each, and ends by the cancellation. When no child is left to run (every one ended
/// and none is to be restarted), it returns.
class Supervisor {
 public:
  /// \brief A supervisor of `children`, allowing `intensity` restarts in `period` (OTP's defaults:
  /// one restart in five seconds).
  /// \throws Error for a child without a body, or a negative intensity or period.
  Supervisor(Strategy strategy, std::vector<ChildSpec> children, int intensity = 1,
             std::chrono::steady_clock::duration period = std::chrono::seconds(5));

  /// \brief Runs the supervisor in the calling actor until it ends (see the class).
  /// \throws RestartIntensityExceeded; ActorCancelled when stopped; NotInActor outside an actor.
  void operator()() const;

 private:
  Strategy strategy_;
  std::vector<ChildSpec> children_;
  int intensity_;
  std::chrono::steady_clock::duration period_;
};
// [supervisor]

}  // namespace smarm
