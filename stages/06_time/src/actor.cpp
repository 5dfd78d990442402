// actor.cpp — stage 03's public calls (spawn, run, join, yield, park, unpark, self), each a thin
// wrapper over the scheduler's internal interface (scheduler.hpp), and the names and errors of
// <smarm/actor.hpp>.
#include "smarm/actor.hpp"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>

#include "scheduler.hpp"

namespace smarm {

std::string Pid::to_string() const {
  if (!*this) return "<none>";
  // Appended piece by piece: g++ 12 at -O3 warns falsely (-Wrestrict) on "<" + std::string.
  std::string s = "<";
  s += std::to_string(index_);
  s += '.';
  s += std::to_string(serial_);
  s += '>';
  return s;
}

StalePid::StalePid(const char* what, Pid pid)
    : Error(std::string(what) + ": stale pid " + pid.to_string() +
            " (no actor of this run has it: that actor has ended, or it belongs to another run)"),
      pid_(pid) {}

Deadlock::Deadlock(const std::string& report, std::vector<Pid> parked)
    : std::runtime_error(report), parked_(std::move(parked)) {}

namespace detail {

JoinHandle spawn(const Body& body, void* from) {
  return Scheduler::handle(Scheduler::of("smarm::spawn").spawn(body, from));
}

// [run]
Outcome run(const Body& body, void* from, TimeMode time) {
  if (Scheduler::of_thread() != nullptr) {
    throw Error("smarm::run called inside smarm::run: one scheduler per thread");
  }
  static const bool eh_checked = (check_eh_layout(abi::__cxa_get_globals()), true);
  (void)eh_checked;
  Scheduler s;  // the thread's scheduler until it is destroyed
  if (time == TimeMode::Virtual) s.use_virtual_time();
  const Pid root = s.spawn(body, from);
  s.loop();
  return s.collect(*s.find(root));
}
// [run]

// [eh_check]
void check_eh_layout(void* globals) noexcept {
  // Reads `globals` where EhGlobals says the fields are, and compares with what the runtime
  // reports: outside any exception, while one unwinds, inside its handler, and after it.
  struct Probe {
    const volatile EhGlobals* g = nullptr;
    bool ok = true;
    void count_matches() noexcept {
      ok = ok && g->uncaught == static_cast<unsigned int>(std::uncaught_exceptions());
    }
  };
  struct WhileUnwinding {
    Probe* probe;
    explicit WhileUnwinding(Probe* p) noexcept : probe(p) {}
    WhileUnwinding(const WhileUnwinding&) = delete;
    WhileUnwinding& operator=(const WhileUnwinding&) = delete;
    WhileUnwinding(WhileUnwinding&&) = delete;
    WhileUnwinding& operator=(WhileUnwinding&&) = delete;
    ~WhileUnwinding() {
      probe->ok = probe->ok && std::uncaught_exceptions() > 0;
      probe->count_matches();
    }
  };
  struct Thrown {};
  Probe probe{static_cast<const volatile EhGlobals*>(globals)};
  void* const before = probe.g->caught;
  probe.count_matches();
  try {
    const WhileUnwinding unwinding(&probe);
    throw Thrown{};
  } catch (const Thrown&) {
    probe.ok = probe.ok && probe.g->caught != before;  // the handler's exception is on top
  }
  probe.count_matches();
  if (!probe.ok || probe.g->caught != before) {
    std::fprintf(stderr,
                 "smarm: this C++ runtime's __cxa_eh_globals is not laid out as smarm expects "
                 "(the caught exceptions, then the uncaught count); switching actors would "
                 "corrupt their exception state, so smarm stops here\n");
    std::abort();
  }
}
// [eh_check]

}  // namespace detail

using detail::Scheduler;
using detail::Slot;
using detail::Wait;

JoinHandle& JoinHandle::operator=(JoinHandle&& other) noexcept {
  if (this != &other) {
    detach();
    pid_ = std::exchange(other.pid_, Pid{});
  }
  return *this;
}

// [join]
Outcome JoinHandle::join() { return *join_by(Clock::time_point::max(), "smarm::JoinHandle::join"); }

std::optional<Outcome> JoinHandle::join_until(Clock::time_point deadline) {
  return join_by(deadline, "smarm::JoinHandle::join_until");
}

std::optional<Outcome> JoinHandle::join_by(Clock::time_point deadline, const char* what) {
  Scheduler& s = Scheduler::in_actor(what);
  if (!pid_) throw Error(std::string(what) + ": the handle is empty (joined or detached)");
  Slot* const found = s.find(pid_);  // in its own run, the handle keeps the slot
  if (found == nullptr) {
    throw Error(std::string(what) +
                ": the handle belongs to another run (on this thread or another, running or "
                "ended)");
  }
  Slot& target = *found;
  Slot& me = s.running();
  if (&target == &me) throw Error(std::string(what) + ": an actor cannot join itself");
  while (!Scheduler::ended(target)) {
    target.joiner = me.index;  // where the scheduler finds the joiner when `target` ends
    me.joining = target.index;
    Scheduler::Waited waited = Scheduler::Waited::Woken;
    try {
      waited = s.wait_until(Wait::Join, deadline.time_since_epoch().count());
    } catch (...) {
      target.joiner = me.joining = detail::kNone;
      throw;
    }
    if (waited == Scheduler::Waited::TimedOut && !Scheduler::ended(target)) {
      target.joiner = me.joining = detail::kNone;  // the handle still holds the actor
      return std::nullopt;
    }
    if (waited == Scheduler::Waited::GaveUp && !Scheduler::ended(target)) {
      // Cancelled while unwinding: give up the join, and let the actor end unjoined.
      target.joiner = me.joining = detail::kNone;
      detach();
      return Outcome(std::make_exception_ptr(ActorCancelled{}));
    }
  }
  target.joiner = me.joining = detail::kNone;
  pid_ = Pid{};
  return s.collect(target);
}
// [join]

void JoinHandle::detach() noexcept {
  if (!pid_) return;
  // Only in its own run: elsewhere the Pid names no actor, and the handle is inert.
  if (Scheduler* s = Scheduler::of_thread()) {
    if (Slot* found = s->find(pid_)) s->detach(*found);
  }
  pid_ = Pid{};
}

Pid self() { return Scheduler::pid_of(Scheduler::in_actor("smarm::self").running()); }

// [yield_now]
void yield_now() { Scheduler::in_actor("smarm::yield_now").yield(); }
// [yield_now]

// [park]
namespace {
bool park_by(Clock::time_point deadline, const char* what) {
  Scheduler& s = Scheduler::in_actor(what);
  Slot& me = s.running();
  if (me.permit) {
    me.permit = false;
    return true;
  }
  // Cancelled while unwinding, it returns early, as if unparked.
  return s.wait_until(Wait::Park, deadline.time_since_epoch().count()) !=
         Scheduler::Waited::TimedOut;
}
}  // namespace

void park() { (void)park_by(Clock::time_point::max(), "smarm::park"); }

bool park_until(Clock::time_point deadline) { return park_by(deadline, "smarm::park_until"); }

void unpark(Pid pid) {
  Scheduler& s = Scheduler::of("smarm::unpark");
  Slot& target = s.checked(pid, "smarm::unpark");
  if (Scheduler::waits_for(target, Wait::Park)) {
    s.ready(target);
  } else if (!Scheduler::ended(target)) {
    target.permit = true;
  }
}
// [park]

}  // namespace smarm
