// scheduler.cpp — the scheduler of stage 03 (its interface and design are in scheduler.hpp): the
// process-wide serials that make every Pid unique, the slot table with its free list, the
// intrusive run queue, the checked state changes, the switch between actors that carries their
// exception state, the wait/wake pair, the loop, and the deadlock report.
#include "scheduler.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <span>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_UNDEFINED(addr, len) ((void)(addr), (void)(len))
#endif

namespace smarm::detail {

void check_failed(const char* condition, const char* what, const char* file, int line) noexcept {
  std::fprintf(stderr, "smarm: internal check failed at %s:%d: %s (%s)\n", file, line, what,
               condition);
  std::abort();
}

namespace {

// [serials]
// Every actor of the process gets its serial from this one counter, so no Pid can name an actor
// of another run or another thread. A scheduler takes serials in blocks: one atomic operation
// per kSerialBlock spawns, none in the others.
constexpr std::uint64_t kSerialBlock = 1024;
constexpr std::uint64_t kSerialEnd = UINT64_MAX;  // never handed out: the counter cannot wrap
std::atomic<std::uint64_t> g_next_serial{1};      // 0 is the null Pid's

}  // namespace

std::uint64_t Scheduler::Serials::take() {
  if (next == end) refill();
  return next++;
}

void Scheduler::Serials::refill() {
  std::uint64_t first = g_next_serial.load(std::memory_order_relaxed);
  std::uint64_t count = 0;
  do {
    if (first == kSerialEnd) {
      throw std::length_error("smarm::spawn: the process has used up its 2^64 - 1 serials");
    }
    count = std::min(kSerialBlock, kSerialEnd - first);
  } while (!g_next_serial.compare_exchange_weak(first, first + count, std::memory_order_relaxed));
  next = first;
  end = first + count;
}
// [serials]

void skip_serials_to(std::uint64_t serial) noexcept {
  std::uint64_t next = g_next_serial.load(std::memory_order_relaxed);
  while (next < serial &&
         !g_next_serial.compare_exchange_weak(next, serial, std::memory_order_relaxed)) {
  }
  if (Scheduler* s = Scheduler::of_thread()) s->redraw_serials();  // its block is drawn anew
}

namespace {

EhGlobals& thread_eh_globals() noexcept {
  return *reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
}

}  // namespace

constinit thread_local Scheduler* Scheduler::tls = nullptr;

Scheduler::Scheduler() : eh(thread_eh_globals()), pool(StackPool::local()) {
  tls = this;
  set_running_name(name_running_actor);
}

// [uncollected]
// Outcomes nobody collected: actors whose handles outlive the run (or went to another thread),
// and the first actor's when run() throws Deadlock instead of returning it. Their failures are
// reported rather than lost with the table; the handles are inert from now on.
Scheduler::~Scheduler() {
  set_running_name(nullptr);
  tls = nullptr;
  for (std::uint32_t i = 0; i < slot_count; ++i) {
    const Slot& s = slot(i);
    if (s.state == State::Done && s.failure) report_unjoined(s);
  }
  drop_supervision(supervision);
}
// [uncollected]

Scheduler& Scheduler::of(const char* what) {
  if (tls == nullptr) throw NotInActor(std::string(what) + " called outside smarm::run");
  return *tls;
}

Scheduler& Scheduler::in_actor(const char* what) {
  Scheduler& s = of(what);
  if (s.current == kNone) throw NotInActor(std::string(what) + " called outside an actor");
  return s;
}

// [lookup]
// A Pid of another run, on this thread or another, may have any index, but its serial is in no
// slot of this table.
Slot* Scheduler::find(Pid pid) noexcept {
  if (pid.index() >= slot_count) return nullptr;
  Slot& s = slot(pid.index());
  return s.serial == pid.serial() && s.state != State::Free ? &s : nullptr;
}

Slot& Scheduler::checked(Pid pid, const char* what) {
  if (Slot* s = find(pid)) return *s;
  throw StalePid(what, pid);
}

Slot& Scheduler::running() noexcept {
  SMARM_CHECK(current != kNone, "running(): no actor is running");
  return slot(current);
}
// [lookup]

// [become]
// Every change of an actor's state goes through here, and is checked against the life an actor
// may lead (the states diagram of chapter 3): waking an actor twice, queueing a running one or
// freeing a live one stops the process in a checked build instead of corrupting a list.
void Scheduler::become(Slot& s, State to) noexcept {
  [[maybe_unused]] const State from = s.state;
  SMARM_CHECK((from == State::Free && to == State::Runnable) ||         // spawned
                  (from == State::Runnable && to == State::Running) ||  // scheduled
                  (from == State::Running && to == State::Runnable) ||  // yielded
                  (from == State::Running && to == State::Parked) ||    // waits
                  (from == State::Running && to == State::Done) ||      // returned
                  (from == State::Parked && to == State::Runnable) ||   // woken, or cancelled
                  (from == State::Done && to == State::Free),           // collected
              "an actor changed state in a way its life does not allow (woken twice?)");
  s.state = to;
}
// [become]

// [run_queue]
// ---- the run queue: intrusive, through Slot::next
// Who runs after a spawn or a wake (chapter 4 measures the orders). What a turn makes runnable
// waits in the turn's batch until the turn ends; then what it spawned goes to the front of the
// queue, in the order it was spawned, so that a tree of spawns runs depth first and only the
// path being explored is alive. What it woke goes to the back, so that two actors waking each
// other take their turns among the others, unless the actor ended in that turn: then what it woke
// goes to the front too, taking over the turn of an actor that is gone, as a return hands control
// back to its caller. Nothing else jumps the queue, and the back is not left waiting: after
// kFrontTurns turns in a row taken at the front while actors wait at the back, the first of them
// gets the next turn. SMARM_FIFO=1 builds chapter 3's order, everything to the back, to compare.
#ifndef SMARM_FIFO
#define SMARM_FIFO 0
#endif
// Appends the chain `first`..`last`, linked through Slot::next and ended by kNone, to the list
// `head`..`tail`: the run queue, or a batch.
void Scheduler::append(std::uint32_t& head, std::uint32_t& tail, std::uint32_t first,
                       std::uint32_t last) noexcept {
  (tail == kNone ? head : slot(tail).next) = first;
  tail = last;
}

void Scheduler::push(Slot& s) noexcept {
  become(s, State::Runnable);
  s.next = kNone;
  append(run_head, run_tail, s.index, s.index);
}

void Scheduler::push_new(Slot& s, Batch& batch) noexcept {
  if (SMARM_FIFO != 0) {
    push(s);
    return;
  }
  become(s, State::Runnable);
  s.next = kNone;
  append(batch.head, batch.tail, s.index, s.index);
}

void Scheduler::to_front(Batch& batch) noexcept {
  if (batch.head == kNone) return;
  if (front_end == kNone) front_end = batch.tail;  // the front part ends where it did, or here
  slot(batch.tail).next = run_head;
  if (run_head == kNone) run_tail = batch.tail;
  run_head = std::exchange(batch.head, kNone);
  batch.tail = kNone;
}

void Scheduler::to_back(Batch& batch) noexcept {
  if (batch.head == kNone) return;
  append(run_head, run_tail, batch.head, batch.tail);
  batch = {};
}

void Scheduler::end_turn(bool ended) noexcept {
  if (timers.size() != 0 && --turns_to_clock == 0) check_clock();  // chapter 6
  if (ended) {
    to_front(spawned);  // the woken ones end in front of them
    to_front(woken);
  } else {
    to_back(woken);
    to_front(spawned);
  }
}

Slot* Scheduler::pop() noexcept {
  if (run_head == kNone) return nullptr;
  std::uint32_t* link = &run_head;  // where the index of the actor taken is kept
  if (front_end == kNone || front_end == run_tail) {
    front_turns = 0;  // nobody waits at the back
  } else if (++front_turns > kFrontTurns) {
    front_turns = 0;
    link = &slot(front_end).next;  // the back's turn: its first actor
  }
  Slot& s = slot(*link);
  SMARM_CHECK(s.state == State::Runnable, "the run queue holds an actor that is not runnable");
  *link = s.next;
  if (s.index == front_end) front_end = kNone;  // the front part is empty
  if (s.index == run_tail) run_tail = link == &run_head ? kNone : front_end;
  return &s;
}
// [run_queue]

// [slots]
// ---- slots
std::uint32_t Scheduler::allocate_slot() {
  if (free_head != kNone) {
    const std::uint32_t index = free_head;
    free_head = slot(index).next;
    return index;
  }
  if (slot_count == kNone) throw std::length_error("smarm: the slot table is full");
  if ((slot_count & (kChunk - 1)) == 0) {
    chunks.push_back(std::make_unique<std::array<Slot, kChunk>>());
  }
  Slot& s = slot(slot_count);
  s.index = slot_count;
  return slot_count++;
}

void Scheduler::free_slot(Slot& s) noexcept {
  if (s.state != State::Free) become(s, State::Free);  // every Pid of it is stale from now on
  s.failure = nullptr;
  s.handle = s.permit = false;
  s.cancel = Cancel::None;
  s.stop = Stop::None;
  s.watched = false;
  s.joiner = s.joining = kNone;
  s.next = free_head;
  free_head = s.index;
}
// [slots]

// [transfer]
// ---- switching
// From the running actor (or the loop, when `from` is null) to `to` (or the loop).
void Scheduler::transfer(Slot* from, Slot* to) noexcept {
  // A canary stack is checked before anyone else runs: an overflow that reached past its zone
  // into a neighbour's stack is reported before that neighbour can run on what it wrote.
  if (from != nullptr) from->stack.check();
  (from != nullptr ? from->eh : loop_eh) = eh;
  eh = to != nullptr ? to->eh : loop_eh;
  if (to != nullptr) {
    become(*to, State::Running);
    current = to->index;
  } else {
    current = kNone;
  }
  named = to;
  (from != nullptr ? from->ctx : loop_ctx).switch_to(to != nullptr ? to->ctx : loop_ctx);
}
// [transfer]

// [wait]
bool Scheduler::wait(Wait why) {
  Slot& me = running();
  if (me.stop != Stop::None && !stop_allows_wait(me)) return deliver_stop(me);  // chapter 5
  become(me, State::Parked);
  me.wait = why;
  end_turn(false);
  transfer(&me, pop());  // the next runnable actor, or the loop when there is none
  me.wait = Wait::None;
  if (me.stop == Stop::Requested) return deliver_stop(me);  // woken by smarm::stop
  if (me.cancel != Cancel::Pending) return true;
  me.cancel = Cancel::Delivered;
  if (std::uncaught_exceptions() > 0) return false;  // this actor's own: transfer swaps it in
  throw ActorCancelled{};
}

void Scheduler::ready(Slot& s) noexcept {
  SMARM_CHECK(s.state == State::Parked, "ready(): the actor is not waiting (woken twice?)");
  push_new(s, woken);
}

void Scheduler::yield() noexcept {
  Slot& me = running();
  // A stopped actor that caught the cancellation and goes on has refused the stop (chapter 5).
  if (me.stop == Stop::Delivered) (void)stop_allows_wait(me);
  end_turn(false);
  if (!runnable()) return;  // nobody else is runnable
  push(me);
  transfer(&me, pop());
}
// [wait]

// [stop]
// ---- stopping an actor from outside (chapter 5): the deadlock's cancellation, asked for by an
// actor. A stopped actor does not block again: every blocking call throws ActorCancelled (or,
// while the actor unwinds, gives up at once) -- except a supervisor's, waiting for its own
// children to end. An actor that catches the cancellation and blocks or yields again has refused
// the stop: its supervisor is told so and stops waiting for it, and its waits become ordinary.
bool Scheduler::request_stop(Slot& s) noexcept {
  if (ended(s)) return false;
  if (s.stop == Stop::None || s.stop == Stop::Released) {
    s.stop = Stop::Requested;
    if (s.state == State::Parked) ready(s);  // its wait throws as it returns
  }
  return true;
}

bool Scheduler::stop_allows_wait(Slot& me) noexcept {
  if (me.stop != Stop::Delivered) return me.stop != Stop::Requested;
  if (supervises_live_children(*this, me)) return true;  // it waits for its children to end
  if (std::uncaught_exceptions() > 0) return false;      // in a destructor: gives up at once
  stop_refused(*this, me);
  me.stop = Stop::Released;
  return true;
}

bool Scheduler::deliver_stop(Slot& me) {
  me.stop = Stop::Delivered;
  if (std::uncaught_exceptions() > 0) return false;  // as a deadlock's cancellation
  throw ActorCancelled{};
}
// [stop]

// ---- actors
// [actor_main]
void Scheduler::actor_main(void* arg) {
  Slot& s = *static_cast<Slot*>(arg);
  void* const callable = s.body + 1;
  try {
    s.body->invoke(callable);
  } catch (...) {
    s.failure = std::current_exception();
  }
  s.body->destroy(callable);
  become(s, State::Done);
  tls->exited = s.index;
}  // returning resumes the loop (the on_return context of every actor)
// [actor_main]

// [spawn]
Pid Scheduler::spawn(const Body& body, void* from) {
  if (body.size > StackPool::default_size / 2) {
    throw Error("smarm::spawn: the callable (" + std::to_string(body.size) +
                " bytes) takes more than half of an actor's stack");
  }
  const std::uint64_t serial = serials.take();
  Stack stack = pool.acquire();
  const std::span<std::byte> memory = stack.usable();
  // The callable goes at the very top of the stack, how to call and destroy it just below; the
  // context's start record and first frame go below them (Context::make puts them at the top of
  // the span it is given).
  const std::size_t align = std::max<std::size_t>(body.align, 16);
  const auto top = reinterpret_cast<std::uintptr_t>(memory.data() + memory.size());
  const std::uintptr_t at = (top - body.size) & ~(align - 1);
  const auto below = static_cast<std::size_t>(at - reinterpret_cast<std::uintptr_t>(memory.data()) -
                                              sizeof(BodyOps));
  std::byte* where = memory.data() + below + sizeof(BodyOps);
  const std::uint32_t index = allocate_slot();
  Slot& s = slot(index);
  s.serial = serial;
  // Under Valgrind, a recycled stack's memory below the frames its last actor returned from is
  // marked inaccessible; a large callable reaches down there, written from another stack.
  VALGRIND_MAKE_MEM_UNDEFINED(where - sizeof(BodyOps), body.size + sizeof(BodyOps));
  try {
    body.construct(where, from);
  } catch (...) {
    free_slot(s);
    throw;
  }
  s.body = ::new (where - sizeof(BodyOps)) BodyOps{body.invoke, body.destroy};
  s.eh = {};
  s.ctx = Context::make(memory.first(below), actor_main, &s, loop_ctx);
  s.stack = std::move(stack);
  s.handle = true;
  ++live;
  push_new(s, spawned);
  return pid_of(s);
}
// [spawn]

// [finish]
// After an actor has returned to the loop: its stack goes back to the pool, its joiner wakes,
// and its slot is freed unless a handle will collect the outcome.
void Scheduler::finish(Slot& s) {
  named = &s;  // the pool checks a canary stack as it takes it back: the report names s
  s.stack.reset();
  named = nullptr;
  --live;
  if (s.watched) signal_end(*this, s);  // its supervisor and monitors (chapter 5)
  if (s.joiner != kNone) {
    Slot& j = slot(s.joiner);
    if (waits_for(j, Wait::Join) && j.joining == s.index) ready(j);
  }
  if (!s.handle) forget(s);
}
// [finish]

Outcome Scheduler::collect(Slot& s) noexcept {
  Outcome outcome(std::move(s.failure));
  free_slot(s);
  return outcome;
}

// [forget]
// An ended actor nobody will join: its failure, if any, is reported rather than lost.
void Scheduler::forget(Slot& s) noexcept {
  if (s.failure) report_unjoined(s);
  free_slot(s);
}

void Scheduler::report_unjoined(const Slot& s) noexcept {
  const std::string pid = pid_of(s).to_string();
  try {
    std::rethrow_exception(s.failure);
  } catch (const ActorCancelled&) {
    return;  // unwound by run() after a deadlock, which reports that itself
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smarm: actor %s ended by an exception nobody joined: %s\n", pid.c_str(),
                 e.what());
  } catch (...) {
    std::fprintf(stderr, "smarm: actor %s ended by an exception of unknown type nobody joined\n",
                 pid.c_str());
  }
}

void Scheduler::detach(Slot& s) noexcept {
  s.handle = false;
  if (s.state == State::Done) forget(s);
}
// [forget]

// [loop]
// ---- the loop
void Scheduler::loop() {
  std::vector<Pid> deadlocked;
  std::string report;
  for (;;) {
    bool ended = false;  // the turn that just ended was an actor's last
    for (;;) {
      end_turn(ended);
      Slot* const next = pop();
      if (next == nullptr) break;
      transfer(nullptr, next);
      // Back on the loop's stack: an actor returned, or one suspended with nothing runnable.
      current = kNone;
      named = nullptr;
      eh = loop_eh;
      ended = exited != kNone;
      if (ended) {
        Slot& done = slot(exited);
        exited = kNone;
        finish(done);  // the joiner it wakes takes over its turn
      }
    }
    pool.idle();  // nothing is runnable: the pool may give back memory it no longer needs
    if (timers.size() != 0) {  // not a deadlock: a deadline will wake an actor (chapter 6)
      sleep_until_due();
      continue;
    }
    if (live == 0) break;
    // Nothing can run, yet actors are alive: all are parked and only an actor could wake one.
    const std::vector<Pid> parked = collect_parked();
    if (report.empty()) report = deadlock_report(parked);
    for (Pid pid : parked) {  // unwind them, so that their destructors run; each one once
      Slot& s = slot(pid.index());
      if (s.cancel != Cancel::None) continue;
      s.cancel = Cancel::Pending;
      ready(s);
      deadlocked.push_back(pid);
    }
    if (!runnable()) abort_deadlock(parked);  // all were cancelled once, and wait again
  }
  if (!deadlocked.empty()) throw Deadlock(report, std::move(deadlocked));
}
// [loop]

std::vector<Pid> Scheduler::collect_parked() const {
  std::vector<Pid> parked;
  for (std::uint32_t i = 0; i < slot_count; ++i) {
    if (slot(i).state == State::Parked) parked.push_back(pid_of(slot(i)));
  }
  return parked;
}

// [deadlock_report]
std::string Scheduler::deadlock_report(const std::vector<Pid>& parked) const {
  constexpr std::size_t kListed = 16;
  std::string r = "smarm: deadlock: " + std::to_string(parked.size()) +
                  " actor(s) parked and nothing can wake them:";
  for (std::size_t i = 0; i < parked.size() && i < kListed; ++i) {
    const Slot& s = slot(parked[i].index());
    r += (i == 0 ? " " : ", ") + parked[i].to_string();
    switch (s.wait) {
      case Wait::Join:
        r += " joining " + pid_of(slot(s.joining)).to_string();
        break;
      case Wait::Recv:
        r += " in recv on a channel";
        break;
      case Wait::Send:
        r += " in send on a full channel";
        break;
      case Wait::Sleep:
        r += " sleeping until the end of time";
        break;
      case Wait::Select:
        r += " in select on channels";
        break;
      case Wait::Lock:
        r += " waiting for a mutex";
        break;
      default:
        r += " in park()";
        break;
    }
  }
  if (parked.size() > kListed) r += ", and " + std::to_string(parked.size() - kListed) + " more";
  return r;
}

// Cancelling again would only repeat what failed: stop, as Go stops at any deadlock.
void Scheduler::abort_deadlock(const std::vector<Pid>& parked) const noexcept {
  std::fprintf(stderr,
               "%s\nsmarm: deadlock again: every actor above was cancelled once and waits "
               "again; aborting\n",
               deadlock_report(parked).c_str());
  std::abort();
}
// [deadlock_report]

// [name_running_actor]
// Names the running actor in a stack-overflow report (called from the SIGSEGV handler, so it
// formats by hand).
std::size_t Scheduler::name_running_actor(char* out, std::size_t capacity) noexcept {
  const Scheduler* s = tls;
  if (s == nullptr || s->named == nullptr) return 0;
  std::size_t n = 0;
  bool fits = true;
  auto put = [&](char c) {
    if (n + 1 < capacity) {
      out[n++] = c;
    } else {
      fits = false;
    }
  };
  auto put_number = [&](std::uint64_t v) {
    std::array<char, 20> digits{};
    std::size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (count != 0) put(digits[--count]);
  };
  const Slot& actor = *s->named;
  put('<');
  put_number(actor.index);
  put('.');
  put_number(actor.serial);
  put('>');
  if (!fits) return 0;  // a cut name would mislead: the report goes without one
  out[n] = '\0';
  return n;
}
// [name_running_actor]

}  // namespace smarm::detail
