// actor.cpp — the scheduler of stage 03: the process-wide serials that make every Pid unique, the
// slot table with its free list, the intrusive run queue, the switch between actors that carries
// their exception state, join, park/unpark, and the deadlock report.
#include "smarm/actor.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

#include "smarm/context.hpp"
#include "smarm/stack.hpp"

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_UNDEFINED(addr, len) ((void)(addr), (void)(len))
#endif

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
namespace {

constexpr std::uint32_t kNone = UINT32_MAX;

// [serials]
// Every actor of the process gets its serial from this one counter, so no Pid can name an actor
// of another run or another thread. A scheduler takes serials in blocks: one atomic operation
// per kSerialBlock spawns, none in the others.
constexpr std::uint64_t kSerialBlock = 1024;
constexpr std::uint64_t kSerialEnd = UINT64_MAX;  // never handed out: the counter cannot wrap
std::atomic<std::uint64_t> g_next_serial{1};      // 0 is the null Pid's

struct Serials {
  std::uint64_t next = 0;
  std::uint64_t end = 0;  // this block is [next, end)

  std::uint64_t take() {
    if (next == end) refill();
    return next++;
  }
  void refill() {
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
};
// [serials]

// [eh]
// The per-thread C++ exception state that libstdc++ (and libc++abi alike) keep in
// __cxa_eh_globals: the stack of exceptions being handled (what `throw;` rethrows) and the count
// of exceptions in flight (std::uncaught_exceptions()). Both belong to an actor, not to the
// thread, so every switch saves the leaving actor's and installs the arriving one's.
struct EhGlobals {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

EhGlobals& thread_eh_globals() noexcept {
  return *reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
}
// [eh]

// [states]
enum class State : std::uint8_t { Free, Runnable, Running, Parked, Done };
enum class Wait : std::uint8_t { None, Park, Join };
// An actor is cancelled at most once: a deadlock marks it Pending, and its wait delivers it.
enum class Cancel : std::uint8_t { None, Pending, Delivered };
// [states]

}  // namespace

// [slot]
// One actor, or a free slot. Slots never move: the table grows by whole chunks. Aligned to a
// cache line, a slot is 192 bytes, a multiple of 64: finding one is a lea and a shift, no multiply.
struct alignas(64) Slot {
  Context ctx;
  Stack stack;
  void* body = nullptr;  // the actor's callable, at the top of its own stack
  void (*invoke)(void*) = nullptr;
  void (*destroy)(void*) noexcept = nullptr;
  std::exception_ptr failure;
  EhGlobals eh;
  std::uint64_t serial = 0;       // the actor's, or its last one's while the slot is free
  std::uint32_t index = 0;        // the slot's own
  std::uint32_t next = kNone;     // the run queue, or the free list
  std::uint32_t joiner = kNone;   // the actor parked in join() on this one
  std::uint32_t joining = kNone;  // the actor this one is joining (kept by its handle)
  State state = State::Free;
  Wait wait = Wait::None;
  Cancel cancel = Cancel::None;  // run() unwinds it after a deadlock, once
  bool handle = false;           // a JoinHandle (or run() itself) will collect the outcome
  bool permit = false;           // an unpark() that arrived while the actor was not parked
};
// [slot]
static_assert(sizeof(Slot) == 192, "chapter 3 gives a slot's size, and a chunk's from it");

// [scheduler]
struct Scheduler {
  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunk = 1U << kChunkBits;

  std::vector<std::unique_ptr<std::array<Slot, kChunk>>> chunks;
  std::uint32_t slot_count = 0;  // slots ever made
  std::uint32_t free_head = kNone;
  std::uint32_t run_head = kNone;
  std::uint32_t run_tail = kNone;
  std::uint32_t current = kNone;  // the running actor; kNone while the loop runs
  // The actor a stack-overflow report names: the running one, or the one whose stack is going
  // back to the pool. The SIGSEGV handler reads it, so it is a pointer to the slot (slots never
  // move) rather than an index into `chunks`, which a spawn may be reallocating.
  const Slot* named = nullptr;
  std::uint32_t exited = kNone;  // the actor whose last act was to return to the loop
  std::size_t live = 0;          // actors that have not ended
  Context loop_ctx;              // the thread's own stack, where the loop runs
  EhGlobals loop_eh;
  EhGlobals& eh = thread_eh_globals();
  StackPool& pool = StackPool::local();
  Serials serials;
  // [scheduler]
  static_assert(kChunk == 4096 && kChunk * sizeof(Slot) == std::size_t{768} * 1024,
                "chapter 3's chunk");

  Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  Scheduler(Scheduler&&) = delete;
  Scheduler& operator=(Scheduler&&) = delete;
  // [uncollected]
  // Outcomes nobody collected: actors whose handles outlive the run (or went to another thread),
  // and the first actor's when run() throws Deadlock instead of returning it. Their failures are
  // reported rather than lost with the table; the handles are inert from now on.
  ~Scheduler() {
    for (std::uint32_t i = 0; i < slot_count; ++i) {
      const Slot& s = slot(i);
      if (s.state == State::Done && s.failure) report_unjoined(s);
    }
  }
  // [uncollected]

  // [lookup]
  [[nodiscard]] Slot& slot(std::uint32_t index) noexcept {
    return (*chunks[index >> kChunkBits])[index & (kChunk - 1)];
  }
  [[nodiscard]] const Slot& slot(std::uint32_t index) const noexcept {
    return (*chunks[index >> kChunkBits])[index & (kChunk - 1)];
  }
  Slot& running() noexcept { return slot(current); }
  [[nodiscard]] static Pid pid_of(const Slot& s) noexcept { return {s.index, s.serial}; }

  // The slot of `pid` if it is an actor of this run, else null. A Pid of another run, on this
  // thread or another, may have any index, but its serial is in no slot of this table.
  [[nodiscard]] Slot* find(Pid pid) noexcept {
    if (pid.index() >= slot_count) return nullptr;
    Slot& s = slot(pid.index());
    return s.serial == pid.serial() && s.state != State::Free ? &s : nullptr;
  }

  // The slot `pid` names, or StalePid.
  Slot& checked(Pid pid, const char* what) {
    if (Slot* s = find(pid)) return *s;
    throw StalePid(what, pid);
  }
  // [lookup]

  // [run_queue]
  // ---- the run queue: intrusive FIFO through Slot::next
  void push(Slot& s) noexcept {
    s.state = State::Runnable;
    s.next = kNone;
    if (run_tail == kNone) {
      run_head = s.index;
    } else {
      slot(run_tail).next = s.index;
    }
    run_tail = s.index;
  }
  Slot* pop() noexcept {
    if (run_head == kNone) return nullptr;
    Slot& s = slot(run_head);
    run_head = s.next;
    if (run_head == kNone) run_tail = kNone;
    return &s;
  }
  // [run_queue]

  // [slots]
  // ---- slots
  std::uint32_t allocate_slot() {
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
  void free_slot(Slot& s) noexcept {
    s.state = State::Free;  // every Pid of the ended actor is stale from now on
    s.failure = nullptr;
    s.handle = s.permit = false;
    s.cancel = Cancel::None;
    s.joiner = s.joining = kNone;
    s.next = free_head;
    free_head = s.index;
  }
  // [slots]

  // [transfer]
  // ---- switching
  // From the running actor (or the loop, when `from` is null) to `to` (or the loop).
  void transfer(Slot* from, Slot* to) noexcept {
    // A canary stack is checked before anyone else runs: an overflow that reached past its zone
    // into a neighbour's stack is reported before that neighbour can run on what it wrote.
    if (from != nullptr) from->stack.check();
    (from != nullptr ? from->eh : loop_eh) = eh;
    eh = to != nullptr ? to->eh : loop_eh;
    if (to != nullptr) {
      to->state = State::Running;
      current = to->index;
    } else {
      current = kNone;
    }
    named = to;
    (from != nullptr ? from->ctx : loop_ctx).switch_to(to != nullptr ? to->ctx : loop_ctx);
  }

  // Suspends the running actor, which has already recorded why, in favour of the next runnable
  // actor, or of the loop when there is none.
  void switch_away(Slot& me) noexcept { transfer(&me, pop()); }

  // Returns true when the wait's own event woke the actor. A deadlock's cancellation throws
  // ActorCancelled instead, unless the actor is unwinding (it waits in a destructor, where a throw
  // would call std::terminate): then the wait returns false, and its caller gives up waiting.
  [[nodiscard]] bool suspend(Slot& me, Wait why) {
    me.state = State::Parked;
    me.wait = why;
    switch_away(me);
    me.wait = Wait::None;
    if (me.cancel != Cancel::Pending) return true;
    me.cancel = Cancel::Delivered;
    if (std::uncaught_exceptions() > 0) return false;  // this actor's own: transfer swaps it in
    throw ActorCancelled{};
  }
  // [transfer]

  // ---- actors
  // [actor_main]
  static void actor_main(void* arg) {
    Slot& s = *static_cast<Slot*>(arg);
    try {
      s.invoke(s.body);
    } catch (...) {
      s.failure = std::current_exception();
    }
    s.destroy(s.body);
    s.state = State::Done;
    tls->exited = s.index;
  }  // returning resumes the loop (the on_return context of every actor)
  // [actor_main]

  // [spawn]
  Pid spawn(const Body& body, void* from) {
    if (body.size > StackPool::default_size / 2) {
      throw Error("smarm::spawn: the callable (" + std::to_string(body.size) +
                  " bytes) takes more than half of an actor's stack");
    }
    const std::uint64_t serial = serials.take();
    Stack stack = pool.acquire();
    const std::span<std::byte> memory = stack.usable();
    // The callable goes at the very top of the stack; the context's start record and first
    // frame go below it (Context::make puts them at the top of the span it is given).
    const std::size_t align = std::max<std::size_t>(body.align, 16);
    const auto top = reinterpret_cast<std::uintptr_t>(memory.data() + memory.size());
    const std::uintptr_t at = (top - body.size) & ~(align - 1);
    const auto below =
        static_cast<std::size_t>(at - reinterpret_cast<std::uintptr_t>(memory.data()));
    std::byte* where = memory.data() + below;
    const std::uint32_t index = allocate_slot();
    Slot& s = slot(index);
    s.serial = serial;
    // Under Valgrind, a recycled stack's memory below the frames its last actor returned from is
    // marked inaccessible; a large callable reaches down there, written from another stack.
    VALGRIND_MAKE_MEM_UNDEFINED(where, body.size);
    try {
      body.construct(where, from);
    } catch (...) {
      free_slot(s);
      throw;
    }
    s.body = where;
    s.invoke = body.invoke;
    s.destroy = body.destroy;
    s.eh = {};
    s.ctx = Context::make(memory.first(below), actor_main, &s, loop_ctx);
    s.stack = std::move(stack);
    s.handle = true;
    ++live;
    push(s);
    return pid_of(s);
  }
  // [spawn]

  // [finish]
  // After an actor has returned to the loop: its stack goes back to the pool, its joiner wakes,
  // and its slot is freed unless a handle will collect the outcome.
  void finish(Slot& s) {
    named = &s;  // the pool checks a canary stack as it takes it back: the report names s
    s.stack.reset();
    named = nullptr;
    --live;
    if (s.joiner != kNone) {
      Slot& j = slot(s.joiner);
      if (j.state == State::Parked && j.wait == Wait::Join && j.joining == s.index) push(j);
    }
    if (!s.handle) forget(s);
  }
  // [finish]

  // [forget]
  // An ended actor nobody will join: its failure, if any, is reported rather than lost.
  void forget(Slot& s) noexcept {
    if (s.failure) report_unjoined(s);
    free_slot(s);
  }

  static void report_unjoined(const Slot& s) noexcept {
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

  void detach(Slot& s) noexcept {
    s.handle = false;
    if (s.state == State::Done) forget(s);
  }
  // [forget]

  // [loop]
  // ---- the loop
  void loop() {
    std::vector<Pid> deadlocked;
    std::string report;
    for (;;) {
      while (Slot* next = pop()) {
        transfer(nullptr, next);
        // Back on the loop's stack: an actor returned, or one suspended with nothing runnable.
        current = kNone;
        named = nullptr;
        eh = loop_eh;
        if (exited != kNone) {
          Slot& done = slot(exited);
          exited = kNone;
          finish(done);
        }
      }
      pool.idle();  // nothing is runnable: the pool may give back memory it no longer needs
      if (live == 0) break;
      // Nothing can run, yet actors are alive: all are parked and only an actor could wake one.
      const std::vector<Pid> parked = collect_parked();
      if (report.empty()) report = deadlock_report(parked);
      for (Pid pid : parked) {  // unwind them, so that their destructors run; each one once
        Slot& s = slot(pid.index());
        if (s.cancel != Cancel::None) continue;
        s.cancel = Cancel::Pending;
        push(s);
        deadlocked.push_back(pid);
      }
      if (run_head == kNone) abort_deadlock(parked);  // all were cancelled once, and wait again
    }
    if (!deadlocked.empty()) throw Deadlock(report, std::move(deadlocked));
  }
  // [loop]

  std::vector<Pid> collect_parked() {
    std::vector<Pid> parked;
    for (std::uint32_t i = 0; i < slot_count; ++i) {
      if (slot(i).state == State::Parked) parked.push_back(pid_of(slot(i)));
    }
    return parked;
  }

  // [deadlock_report]
  [[nodiscard]] std::string deadlock_report(const std::vector<Pid>& parked) const {
    constexpr std::size_t kListed = 16;
    std::string r = "smarm: deadlock: " + std::to_string(parked.size()) +
                    " actor(s) parked and nothing can wake them:";
    for (std::size_t i = 0; i < parked.size() && i < kListed; ++i) {
      const Slot& s = slot(parked[i].index());
      r += (i == 0 ? " " : ", ") + parked[i].to_string();
      r += s.wait == Wait::Join ? " joining " + pid_of(slot(s.joining)).to_string() : " in park()";
    }
    if (parked.size() > kListed) r += ", and " + std::to_string(parked.size() - kListed) + " more";
    return r;
  }

  // Cancelling again would only repeat what failed: stop, as Go stops at any deadlock.
  [[noreturn]] void abort_deadlock(const std::vector<Pid>& parked) const noexcept {
    std::fprintf(stderr,
                 "%s\nsmarm: deadlock again: every actor above was cancelled once and waits "
                 "again; aborting\n",
                 deadlock_report(parked).c_str());
    std::abort();
  }
  // [deadlock_report]

  static JoinHandle handle(Pid pid) noexcept { return JoinHandle(pid); }

  static thread_local Scheduler* tls;
};

thread_local Scheduler* Scheduler::tls = nullptr;

namespace {

Scheduler& scheduler(const char* what) {
  if (Scheduler::tls == nullptr) {
    throw NotInActor(std::string(what) + " called outside smarm::run");
  }
  return *Scheduler::tls;
}

Scheduler& in_actor(const char* what) {
  Scheduler& s = scheduler(what);
  if (s.current == kNone) throw NotInActor(std::string(what) + " called outside an actor");
  return s;
}

// [name_running_actor]
// Names the running actor in a stack-overflow report (called from the SIGSEGV handler, so it
// formats by hand).
std::size_t name_running_actor(char* out, std::size_t capacity) noexcept {
  const Scheduler* s = Scheduler::tls;
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

}  // namespace

JoinHandle spawn(const Body& body, void* from) {
  Scheduler& s = scheduler("smarm::spawn");
  return Scheduler::handle(s.spawn(body, from));
}

// [run]
Outcome run(const Body& body, void* from) {
  if (Scheduler::tls != nullptr) {
    throw Error("smarm::run called inside smarm::run: one scheduler per thread");
  }
  static const bool eh_checked = (check_eh_layout(abi::__cxa_get_globals()), true);
  (void)eh_checked;
  Scheduler s;
  Scheduler::tls = &s;
  set_running_name(name_running_actor);
  struct Leave {
    Leave() = default;
    Leave(const Leave&) = delete;
    Leave& operator=(const Leave&) = delete;
    Leave(Leave&&) = delete;
    Leave& operator=(Leave&&) = delete;
    ~Leave() {
      set_running_name(nullptr);
      Scheduler::tls = nullptr;
    }
  } leave;
  const Pid root = s.spawn(body, from);
  s.loop();
  Slot& r = s.slot(root.index());
  Outcome outcome(std::move(r.failure));
  s.free_slot(r);
  return outcome;
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

void skip_serials_to(std::uint64_t serial) noexcept {
  std::uint64_t next = g_next_serial.load(std::memory_order_relaxed);
  while (next < serial &&
         !g_next_serial.compare_exchange_weak(next, serial, std::memory_order_relaxed)) {
  }
  if (Scheduler::tls != nullptr) Scheduler::tls->serials = {};  // its block is drawn anew
}

}  // namespace detail

using detail::Scheduler;

JoinHandle& JoinHandle::operator=(JoinHandle&& other) noexcept {
  if (this != &other) {
    detach();
    pid_ = std::exchange(other.pid_, Pid{});
  }
  return *this;
}

// [join]
Outcome JoinHandle::join() {
  Scheduler& s = detail::in_actor("smarm::JoinHandle::join");
  if (!pid_) throw Error("smarm::JoinHandle::join: the handle is empty (joined or detached)");
  detail::Slot* const found = s.find(pid_);  // in its own run, the handle keeps the slot
  if (found == nullptr) {
    throw Error(
        "smarm::JoinHandle::join: the handle belongs to another run (on this thread or another, "
        "running or ended)");
  }
  detail::Slot& target = *found;
  detail::Slot& me = s.running();
  if (&target == &me) throw Error("smarm::JoinHandle::join: an actor cannot join itself");
  while (target.state != detail::State::Done) {
    target.joiner = me.index;
    me.joining = target.index;
    bool woken = false;
    try {
      woken = s.suspend(me, detail::Wait::Join);
    } catch (...) {
      target.joiner = me.joining = detail::kNone;
      throw;
    }
    if (!woken && target.state != detail::State::Done) {
      // Cancelled while unwinding: give up the join, and let the actor end unjoined.
      target.joiner = me.joining = detail::kNone;
      detach();
      return Outcome(std::make_exception_ptr(ActorCancelled{}));
    }
  }
  target.joiner = me.joining = detail::kNone;
  Outcome outcome(std::move(target.failure));
  s.free_slot(target);
  pid_ = Pid{};
  return outcome;
}
// [join]

void JoinHandle::detach() noexcept {
  if (!pid_) return;
  // Only in its own run: elsewhere the Pid names no actor, and the handle is inert.
  if (Scheduler::tls != nullptr) {
    if (detail::Slot* s = Scheduler::tls->find(pid_)) Scheduler::tls->detach(*s);
  }
  pid_ = Pid{};
}

Pid self() {
  Scheduler& s = detail::in_actor("smarm::self");
  return Scheduler::pid_of(s.running());
}

// [yield_now]
void yield_now() {
  Scheduler& s = detail::in_actor("smarm::yield_now");
  if (s.run_head == detail::kNone) return;  // nobody else is runnable
  detail::Slot& me = s.running();
  s.push(me);
  s.switch_away(me);
}
// [yield_now]

// [park]
void park() {
  Scheduler& s = detail::in_actor("smarm::park");
  detail::Slot& me = s.running();
  if (me.permit) {
    me.permit = false;
    return;
  }
  (void)s.suspend(me, detail::Wait::Park);  // cancelled while unwinding: returns early
}

void unpark(Pid pid) {
  Scheduler& s = detail::scheduler("smarm::unpark");
  detail::Slot& target = s.checked(pid, "smarm::unpark");
  if (target.state == detail::State::Parked && target.wait == detail::Wait::Park) {
    s.push(target);
  } else if (target.state != detail::State::Done) {
    target.permit = true;
  }
}
// [park]

}  // namespace smarm
