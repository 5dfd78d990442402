// supervisor.cpp — supervision (<smarm/supervisor.hpp>): the table that says who is told when an
// actor ends, the scheduler's hooks that tell them (scheduler.hpp), the root sentinel, monitors,
// stop(), and the Supervisor built on them. Signals travel through stage 04's channels, and a
// stop through the scheduler's wait: nothing here switches or wakes an actor by itself.
#include "smarm/supervisor.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>
#include <typeinfo>

#include "scheduler.hpp"

namespace smarm {

namespace detail {

// [links]
/// \brief What supervision keeps for one actor (the scheduler's Slot has no room for it; a
/// slot's Slot::watched says that its entry here is in use).
struct Links {
  std::optional<Sender<Signal>> mailbox;     // its own, once it has called supervise()
  std::optional<Sender<Signal>> supervisor;  // its supervisor's mailbox, if it has one
  Pid parent;                                // that supervisor, whose `children` counts it
  std::uint32_t children = 0;                // actors supervised by it that have not ended
  std::vector<Sender<Signal>> monitors;      // told once, when it ends
};

/// \brief The table of a run, indexed as the slots are, made at the first use of supervision.
struct Supervision {
  std::vector<Links> links;
};
// [links]

namespace {

Supervision& table(Scheduler& s) {
  if (s.supervision == nullptr) s.supervision = new Supervision;
  return *s.supervision;
}

Links& links_of(Scheduler& s, Slot& a) {
  std::vector<Links>& links = table(s).links;
  if (links.size() <= a.index) links.resize(std::size_t{a.index} + 1);
  a.watched = true;
  return links[a.index];
}

std::string describe(const std::exception_ptr& e) {
  if (!e) return "it returned";
  try {
    std::rethrow_exception(e);
  } catch (const ActorCancelled&) {
    return "it was cancelled (stopped, or unwound after a deadlock)";
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}

// [root]
// The root sentinel: where the signals of an actor go when its supervisor's mailbox has lost its
// receiver. A failure is reported, never dropped in silence; a cancellation was asked for by
// someone (a stop, or the deadlock report), and a normal end is no news.
void root(const Signal& signal) noexcept {
  if (signal.exit != Exit::Failed || signal.cancelled()) return;
  try {
    std::fprintf(stderr, "smarm: actor %s failed and no supervisor heard it: %s\n",
                 signal.pid.to_string().c_str(), describe(signal.exception).c_str());
  } catch (...) {
    std::fprintf(stderr, "smarm: an actor failed and no supervisor heard it\n");
  }
}

// A supervisor's signal is sent with try_send: its mailbox is unbounded, so the send never waits,
// and it works from the scheduler's loop, where an actor's end is handled.
void tell(Sender<Signal>& mailbox, const Signal& signal) {
  if (!mailbox.try_send(signal)) root(signal);
}
// [root]

void unlink_from_parent(Scheduler& s, Links& l) noexcept {
  if (Slot* parent = s.find(l.parent); parent != nullptr && parent->watched) {
    --s.supervision->links[parent->index].children;
  }
  l.parent = Pid{};
}

}  // namespace

// [signal_end]
void signal_end(Scheduler& s, Slot& ended) {
  Links l = std::exchange(s.supervision->links[ended.index], Links{});
  ended.watched = false;
  const Signal signal{Scheduler::pid_of(ended), ended.failure ? Exit::Failed : Exit::Normal,
                      ended.failure};
  unlink_from_parent(s, l);
  if (l.supervisor) {
    tell(*l.supervisor, signal);
    if (!ended.handle) ended.failure = nullptr;  // its outcome went to the supervisor, or the root
  }
  for (Sender<Signal>& m : l.monitors) (void)m.try_send(signal);  // no receiver: nobody to tell
}
// [signal_end]

bool supervises_live_children(const Scheduler& s, const Slot& a) noexcept {
  return a.watched && s.supervision->links[a.index].children != 0;
}

// [stop_refused]
void stop_refused(Scheduler& s, Slot& a) noexcept {
  const Pid pid = Scheduler::pid_of(a);
  std::fprintf(stderr,
               "smarm: actor %s refused its stop: it caught the cancellation and went on; its "
               "supervisor no longer waits for it\n",
               pid.to_string().c_str());
  if (!a.watched) return;
  Links& l = s.supervision->links[a.index];
  unlink_from_parent(s, l);
  if (l.supervisor) {
    Sender<Signal> supervisor = std::move(*l.supervisor);
    l.supervisor.reset();
    tell(supervisor, Signal{pid, Exit::Ignored, {}});
  }
}
// [stop_refused]

void drop_supervision(Supervision* table) noexcept { delete table; }

// [spawn_under]
Pid spawn_under(Pid supervisor, const Body& body, void* from) {
  Scheduler& s = Scheduler::of("smarm::spawn_under");
  Slot& parent = s.checked(supervisor, "smarm::spawn_under");
  if (!parent.watched || !s.supervision->links[parent.index].mailbox) {
    throw Error("smarm::spawn_under: " + supervisor.to_string() +
                " does not supervise: it has not called smarm::supervise()");
  }
  Sender<Signal> mailbox = *s.supervision->links[parent.index].mailbox;
  const Pid child = s.spawn(body, from);
  Slot& c = *s.find(child);
  s.detach(c);  // its outcome goes to the supervisor, and to no handle
  try {
    Links& l = links_of(s, c);  // may grow the table: taken after the copy of the mailbox
    l.supervisor.emplace(std::move(mailbox));
    l.parent = supervisor;
  } catch (...) {
    (void)s.request_stop(c);
    throw;
  }
  ++s.supervision->links[parent.index].children;
  return child;
}
// [spawn_under]

}  // namespace detail

using detail::Scheduler;
using detail::Slot;

bool Signal::cancelled() const noexcept {
  if (exit != Exit::Failed || !exception) return false;
#if defined(__GLIBCXX__) && defined(__cpp_rtti)
  // libstdc++ tells an exception's type without a throw (a supervisor asks at each restart).
  return *exception.__cxa_exception_type() == typeid(ActorCancelled);
#else
  try {
    std::rethrow_exception(exception);
  } catch (const ActorCancelled&) {
    return true;
  } catch (...) {
    return false;
  }
#endif
}

// [supervise]
Receiver<Signal> supervise() {
  Scheduler& s = Scheduler::in_actor("smarm::supervise");
  Slot& me = s.running();
  if (me.watched && s.supervision->links[me.index].mailbox) {
    throw Error("smarm::supervise: the actor supervises already (it has its signal mailbox)");
  }
  std::pair mailbox = channel<Signal>();
  detail::links_of(s, me).mailbox.emplace(std::move(mailbox.first));
  return std::move(mailbox.second);
}
// [supervise]

// [monitor]
void monitor(Pid target, const Sender<Signal>& mailbox) {
  Scheduler& s = Scheduler::of("smarm::monitor");
  if (!mailbox) {
    throw Error("smarm::monitor: the mailbox is an empty Sender (moved from or closed)");
  }
  Slot* const t = s.find(target);
  if (t == nullptr || Scheduler::ended(*t)) {
    // Ended already: told at once; how it ended is known while its handle keeps its slot.
    Sender<Signal> now = mailbox;
    (void)now.try_send(t == nullptr
                           ? Signal{target, Exit::NoActor, {}}
                           : Signal{target, t->failure ? Exit::Failed : Exit::Normal, t->failure});
    return;
  }
  detail::links_of(s, *t).monitors.push_back(mailbox);
}
// [monitor]

bool stop(Pid target) {
  Scheduler& s = Scheduler::of("smarm::stop");
  Slot* const t = s.find(target);
  return t != nullptr && s.request_stop(*t);
}

// ---- Supervisor

Supervisor::Supervisor(Strategy strategy, std::vector<ChildSpec> children, int intensity,
                       std::chrono::steady_clock::duration period)
    : strategy_(strategy), children_(std::move(children)), intensity_(intensity), period_(period) {
  for (const ChildSpec& c : children_) {
    if (!c.start) throw Error("smarm::Supervisor: child '" + c.name + "' has no body to start");
  }
  if (intensity < 0 || period.count() < 0) {
    throw Error("smarm::Supervisor: the restart intensity and its period cannot be negative");
  }
}

namespace {

// One run of a Supervisor, in its actor: the children's Pids (null while a child is not
// running), its mailbox, the signals read while it waited for another one, and the times of its
// recent restarts.
class SupervisorRun {
 public:
  SupervisorRun(Strategy strategy, const std::vector<ChildSpec>& specs, int intensity,
                std::chrono::steady_clock::duration period)
      : strategy_(strategy),
        specs_(specs),
        intensity_(static_cast<std::size_t>(intensity)),
        period_(period),
        me_(self()),
        mailbox_(supervise()),
        pids_(specs.size()),
        removed_(specs.size(), false) {}

  // [strategies]
  void run() {
    try {
      for (std::size_t i = 0; i < specs_.size(); ++i) start(i);
      while (std::any_of(pids_.begin(), pids_.end(), [](Pid p) { return bool(p); })) {
        const Signal signal = next();
        const auto found = std::find(pids_.begin(), pids_.end(), signal.pid);
        if (found == pids_.end()) continue;  // a child stopped and restarted since
        const auto i = static_cast<std::size_t>(found - pids_.begin());
        *found = Pid{};
        if (!must_restart(specs_[i].restart, signal)) {
          if (specs_[i].restart == Restart::Temporary) removed_[i] = true;
          continue;
        }
        count_restart(i, signal);
        switch (strategy_) {
          case Strategy::OneForOne:
            start(i);
            break;
          case Strategy::OneForAll:
            stop_from(0);
            start_from(0);
            break;
          case Strategy::RestForOne:
            stop_from(i + 1);
            start_from(i);
            break;
        }
      }
    } catch (...) {  // stopped, intensity exceeded, or a child could not be started
      stop_from(0);
      throw;
    }
  }
  // [strategies]

 private:
  static bool must_restart(Restart restart, const Signal& signal) {
    switch (restart) {
      case Restart::Permanent:
        return true;
      case Restart::Transient:
        return !signal.ok() && !signal.cancelled();
      case Restart::Temporary:
        break;
    }
    return false;
  }

  void start(std::size_t i) { pids_[i] = spawn_under(me_, specs_[i].start); }

  void start_from(std::size_t first) {
    for (std::size_t i = first; i < specs_.size(); ++i) {
      if (!removed_[i] && !pids_[i]) start(i);
    }
  }

  // [stop_child]
  // Children are stopped last first, each waited for before the next is asked.
  void stop_from(std::size_t first) {
    for (std::size_t i = specs_.size(); i-- > first;) stop_child(i);
  }

  void stop_child(std::size_t i) {
    const Pid pid = std::exchange(pids_[i], Pid{});
    if (!pid) return;
    if (specs_[i].restart == Restart::Temporary) removed_[i] = true;
    const auto read = std::find_if(backlog_.begin(), backlog_.end(),
                                   [pid](const Signal& s) { return s.pid == pid; });
    if (read != backlog_.end()) {  // it ended by itself, and its signal was read already
      backlog_.erase(read);
      return;
    }
    (void)smarm::stop(pid);  // false when it has just ended: its signal is in the mailbox
    for (;;) {
      std::optional<Signal> signal;
      try {
        signal = mailbox_.recv();
      } catch (const ActorCancelled&) {
        continue;  // this supervisor is being stopped too: it stops its children first
      }
      if (!signal || signal->pid == pid) return;
      backlog_.push_back(std::move(*signal));
    }
  }
  // [stop_child]

  Signal next() {
    if (!backlog_.empty()) {
      Signal signal = std::move(backlog_.front());
      backlog_.pop_front();
      return signal;
    }
    std::optional<Signal> signal = mailbox_.recv();  // never closed: the table holds a sender
    return std::move(signal).value();
  }

  // [intensity]
  void count_restart(std::size_t i, const Signal& signal) {
    const auto now = std::chrono::steady_clock::now();
    restarts_.push_back(now);
    while (!restarts_.empty() && now - restarts_.front() >= period_) restarts_.pop_front();
    if (restarts_.size() <= intensity_) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(period_).count();
    throw RestartIntensityExceeded(
        "smarm::Supervisor: more than " + std::to_string(intensity_) + " restart(s) in " +
        std::to_string(ms) + " ms; the last for child '" + specs_[i].name + "' " +
        signal.pid.to_string() + ": " +
        (signal.exit == Exit::Ignored ? "it refused its stop"
                                      : detail::describe(signal.exception)));
  }
  // [intensity]

  Strategy strategy_;
  const std::vector<ChildSpec>& specs_;
  std::size_t intensity_;
  std::chrono::steady_clock::duration period_;
  Pid me_;
  Receiver<Signal> mailbox_;
  std::vector<Pid> pids_;
  std::vector<bool> removed_;  // temporary children that ended: never started again
  std::deque<Signal> backlog_;
  std::deque<std::chrono::steady_clock::time_point> restarts_;
};

}  // namespace

void Supervisor::operator()() const {
  (void)Scheduler::in_actor("smarm::Supervisor");
  SupervisorRun(strategy_, children_, intensity_, period_).run();
}

}  // namespace smarm
