// scheduler.hpp — the scheduler's private interface: an actor's slot, its states and what it
// waits for, and the Scheduler that owns the slots, with the wait/wake pair that every mechanism
// that blocks an actor is built on. Private to the runtime: never installed, never included by
// user code. actor.cpp's public calls are thin wrappers over it; scheduler.cpp implements it.
//
// [design]
// Design
// ------
// One scheduler per thread, created by smarm::run() and gone when it returns. It owns a table
// of slots, one per actor, and runs one actor at a time on the thread: an actor runs until it
// yields, waits or returns, and the switch goes straight from it to the next runnable actor
// (chapter 1's switch, a handful of instructions). The scheduler's own loop, on the thread's
// stack, runs only when an actor has returned (its stack must be released from elsewhere) or
// when nothing is runnable (to give memory back, and to detect a deadlock).
//
// Designs rejected, and why:
// - Every switch through the loop (actor -> loop -> actor), as a thread pool's worker does:
//   simpler, since the loop alone picks who runs, but two switches per yield instead of one, and
//   a mispredicted return at each (chapter 1 measures what that costs).
// - Closures on the heap in a list of pending spawns, found by Pid at first run (the Rust
//   prototype): a search per spawn that grows with the burst. The callable lives at the top of
//   the actor's own stack instead, found through its slot.
// - Slots owned through pointers (std::shared_ptr, or a map from Pid to actor): an allocation per
//   spawn and a hash per wake. A slot is an index into chunks that never move, and a Pid is the
//   index plus a serial that tells a stale Pid from a live one.
// - A queue container for the run queue (std::deque): allocation on push, and a slot could be
//   queued twice without anyone noticing. The queue is threaded through the slots themselves
//   (Slot::next), so a push never allocates, and every state change is checked (SMARM_CHECK).
// - Dropping the actors that are parked when the run queue empties (the Rust prototype): a
//   deadlock would pass in silence. The loop reports it and unwinds those actors instead.
// - A run-next slot, as Go's runnext, or a LIFO order, for the actor a turn spawns or wakes:
//   without a time slice to bound it (there is no preemption yet), two actors that wake each
//   other keep every other actor from running. A turn's spawns go to the front and its wakes to
//   the back, unless it ends: chapter 4 measures the orders.
//
// Many cores, on paper. Nothing here is built for threads yet; the interface below is shaped so
// that the hazards of the many-cores stage each have one place to be met:
// - An actor is published as waiting only after its switch has completed: another thread that
//   woke it and ran it at once would otherwise run it on a stack still in use. wait() records
//   the reason before the switch; with threads, the record becomes visible to wakers only once
//   the frame is saved (as Go's park_m does the unlock on the scheduler's stack, after the switch).
// - An actor that ends returns to the loop of the worker it ends on, not the one it was spawned
//   on: the on_return context of an actor must become the current worker's loop, not a constant.
// - Thread-local addresses cached by the compiler across a switch: after a switch an actor may
//   resume on another thread, so the scheduler must be looked up anew after every wait, never
//   kept in a register across one. of_thread() is the only way in: today an inline read of a
//   thread_local, then a call the compiler cannot move across a switch.
// - A process-wide slot table, with per-worker caches of free slots, instead of one per run.
// - Stacks released on another thread than the one that took them: the pool takes them back
//   into the releasing thread's cache, or through a return queue.
// - Quiescence: "nothing runnable" stops meaning "nothing more will ever run" once timers, IO
//   and blocking jobs exist; the loop must ask each of them before it calls a deadlock.
// - Wake-ups from other threads go through an inbox per worker (a lock-free list), drained by
//   its loop; ready() from the owning thread stays the direct push it is today.
// - The runtime's own allocations (a slot chunk, a free-list grow) run with preemption off, a
//   count that the preemption stage's allocator hook reads.
// [design]
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "smarm/actor.hpp"
#include "smarm/context.hpp"
#include "smarm/stack.hpp"
#include "timer_wheel.hpp"

namespace smarm::detail {

// [checks]
// The scheduler's invariants, checked where they can break: on in the builds the tests run
// (SMARM_CHECKS, set by CMake with the tests), compiled out in release, where the condition is
// not even evaluated. A failed check is a bug in the runtime or in a mechanism built on it, never
// a user's mistake (those get exceptions): it names the check and stops the process.
#if defined(SMARM_CHECKS) && SMARM_CHECKS
#define SMARM_CHECK(condition, what) \
  ((condition) ? void(0) : ::smarm::detail::check_failed(#condition, what, __FILE__, __LINE__))
#else
#define SMARM_CHECK(condition, what) void(0)
#endif

/// \brief Reports a failed SMARM_CHECK on stderr and aborts.
[[noreturn]] void check_failed(const char* condition, const char* what, const char* file,
                               int line) noexcept;
// [checks]

struct Supervision;  // supervisor.cpp: who is told when an actor ends

/// \brief No slot: the end of a list, or a slot field that names no actor.
inline constexpr std::uint32_t kNone = UINT32_MAX;

// [states]
/// \brief Where an actor is in its life, and so which list holds it and who may move it on.
enum class State : std::uint8_t {
  /// No actor. On the free list (threaded through Slot::next), unless it is the table's newest
  /// slot and not yet used. Only Scheduler::spawn takes it off.
  Free,
  /// Ready to run: on the run queue, or in the batch of the turn that made it runnable (through
  /// Slot::next), exactly once. Only the scheduler takes it off, to make it Running.
  Runnable,
  /// Running: on no list, and Scheduler::running() names it. Only the actor itself leaves this
  /// state: it yields (Runnable), waits (Parked) or returns (Done).
  Running,
  /// Waiting for what Slot::wait says: on no list of the scheduler. Whoever holds it for that
  /// reason (the actor it joins, through Slot::joiner; an unpark() with its Pid; later a
  /// channel's queue of waiters) moves it on with Scheduler::ready(); so does a deadlock's
  /// cancellation, once.
  Parked,
  /// Returned: its stack is back in the pool, and the slot stays only so that its handle can
  /// collect the outcome. Scheduler::collect() or Scheduler::detach() frees it.
  Done,
};

/// \brief What a Parked actor waits for. Each later mechanism that blocks an actor adds its own.
enum class Wait : std::uint8_t {
  None,
  Park,
  Join,
  Recv,    // a receiver on an empty channel (channel.cpp)
  Send,    // a sender on a full channel (channel.cpp)
  Sleep,   // sleep_until, woken only by its timer (timers.cpp)
  Select,  // in select on several receivers, registered as each one's receiver (select.cpp)
  Lock,    // a waiter for a held mutex, in its FIFO queue (mutex.cpp)
};

/// \brief An actor is cancelled at most once: a deadlock marks it Pending, its wait delivers it.
enum class Cancel : std::uint8_t { None, Pending, Delivered };

/// \brief A stop asked from outside (smarm::stop, chapter 5): Requested until a blocking call of
/// the actor throws it (Delivered); Released once the actor, having caught it, blocks or yields
/// again, when supervision stops waiting for it and its waits become ordinary ones.
enum class Stop : std::uint8_t { None, Requested, Delivered, Released };
// [states]

// [eh]
/// \brief The per-thread C++ exception state that libstdc++ (and libc++abi alike) keep in
/// __cxa_eh_globals: the stack of exceptions being handled (what `throw;` rethrows) and the
/// count of exceptions in flight (std::uncaught_exceptions()). Both belong to an actor, not to
/// the thread, so every switch saves the leaving actor's and installs the arriving one's.
struct EhGlobals {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};
// [eh]

/// \brief How an actor's callable is called and destroyed: written just below the callable, at
/// the top of the actor's own stack, so that one pointer in the slot finds all three.
struct BodyOps {
  void (*invoke)(void*);
  void (*destroy)(void*) noexcept;
};

// [slot]
/// \brief One actor, or a free slot. Slots never move: the table grows by whole chunks. The
/// fields are grouped by who may write them, as xv6's proc.h groups them by lock; with several
/// cores these groups become "the owning worker's" and "atomic".
struct alignas(64) Slot {
  // ---- Fixed while the actor lives: written by spawn (`index` once, when the slot is made).
  Stack stack;
  BodyOps* body = nullptr;   // at the top of the stack, just below the callable (at body + 1)
  std::uint64_t serial = 0;  // the actor's, or its last one's while the slot is free
  std::uint32_t index = 0;   // the slot's own

  // ---- The scheduler's: changed only by Scheduler's transitions and by the switch.
  std::uint32_t next = kNone;  // the run queue or the free list, as State says
  Context ctx;                 // the saved frame, while the actor is not Running
  EhGlobals eh;                // its exception state, while it is not Running
  State state = State::Free;
  Wait wait = Wait::None;
  Cancel cancel = Cancel::None;  // run() unwinds it after a deadlock, once

  // ---- Written by other actors: its joiner, the owner of its handle, whoever unparks it.
  bool handle = false;           // a JoinHandle (or run() itself) will collect the outcome
  bool permit = false;           // an unpark() that arrived while the actor was not parked
  Stop stop = Stop::None;        // smarm::stop's request, and how far it got
  bool watched = false;          // a supervisor or a monitor is told when it ends (supervisor.cpp)
  std::uint32_t joiner = kNone;  // the actor parked in join() on this one

  // ---- The actor's own.
  std::uint32_t joining = kNone;  // the actor this one is joining (kept by its handle)
  std::exception_ptr failure;     // what escaped it, set as it ends; its joiner takes it
};
// [slot]
static_assert(sizeof(Slot) == 128, "chapter 3 gives a slot's size, and a chunk's from it");

// [scheduler]
/// \brief The scheduler of one thread's run: the slot table, the run queue, the switch between
/// actors, and the loop.
///
/// The interface every mechanism uses is small: running() and runnable() tell who runs and
/// whether anyone else could; wait() suspends the running actor until ready() makes it runnable
/// again (Go's gopark and goready). A mechanism records, before it waits, where a waker will find
/// the actor (Slot::joiner, a channel's queue), and the waker checks waits_for() before ready().
class Scheduler {
 public:
  Scheduler();
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  Scheduler(Scheduler&&) = delete;
  Scheduler& operator=(Scheduler&&) = delete;

  /// \brief The calling thread's scheduler, or null outside smarm::run.
  static Scheduler* of_thread() noexcept { return tls; }
  /// \brief The calling thread's scheduler; NotInActor outside smarm::run.
  static Scheduler& of(const char* what);
  /// \brief The calling thread's scheduler, when an actor calls; NotInActor otherwise.
  static Scheduler& in_actor(const char* what);

  // ---- the table
  /// \brief The slot of `pid` if it is an actor of this run, else null.
  [[nodiscard]] Slot* find(Pid pid) noexcept;
  /// \brief The slot `pid` names, or StalePid.
  Slot& checked(Pid pid, const char* what);
  /// \brief The running actor's slot. Requires an actor to be running.
  [[nodiscard]] Slot& running() noexcept;
  /// \brief True when an actor other than the running one is ready to run.
  [[nodiscard]] bool runnable() const noexcept {
    return run_head != kNone || spawned.head != kNone || woken.head != kNone;
  }
  /// \brief The Pid of the actor in `s`.
  [[nodiscard]] static Pid pid_of(const Slot& s) noexcept { return {s.index, s.serial}; }
  /// \brief True when `s` is Parked, waiting for `why`.
  [[nodiscard]] static bool waits_for(const Slot& s, Wait why) noexcept {
    return s.state == State::Parked && s.wait == why;
  }
  /// \brief The handle that joins `pid`.
  [[nodiscard]] static JoinHandle handle(Pid pid) noexcept { return JoinHandle(pid); }
  /// \brief True when the actor in `s` has returned.
  [[nodiscard]] static bool ended(const Slot& s) noexcept { return s.state == State::Done; }

  // ---- waiting and waking
  /// \brief Suspends the running actor (Running -> Parked) until ready() is called for it, and
  /// runs the next runnable actor meanwhile. Returns true when woken by ready(). A deadlock's
  /// cancellation throws ActorCancelled instead, unless the actor is unwinding (it waits in a
  /// destructor, where a throw would call std::terminate): then it returns false, and the caller
  /// gives up waiting.
  [[nodiscard]] bool wait(Wait why);
  /// \brief Makes a Parked actor runnable (Parked -> Runnable). Waking an actor that is not
  /// parked is a bug, caught by SMARM_CHECK.
  void ready(Slot& s) noexcept;
  /// \brief The running actor lets every runnable actor run once (Running -> Runnable).
  void yield() noexcept;

  // ---- time (chapter 6; timers.cpp)
  /// \brief How wait_until() ended.
  enum class Waited : std::uint8_t {
    Woken,     ///< ready() was called for the actor before its deadline.
    TimedOut,  ///< The deadline came first (or had passed: the actor did not wait).
    GaveUp,    ///< Cancelled while unwinding, as wait() returning false.
  };
  /// \brief wait(why) with a deadline, in nanoseconds of the run's clock (now()). The actor's
  /// timer is armed for the wait and is gone when it returns or throws, whatever ended it.
  [[nodiscard]] Waited wait_until(Wait why, std::int64_t deadline);
  /// \brief The run's time in nanoseconds: the steady clock's (CLOCK_MONOTONIC), or virtual
  /// time, which stands still while actors run and jumps to the next deadline when none can.
  [[nodiscard]] std::int64_t now() const noexcept;
  /// \brief Runs in virtual time from now on, starting at the steady clock's present.
  void use_virtual_time() noexcept;
  /// \brief The timers pending: one for each actor in a wait with a deadline.
  [[nodiscard]] std::uint32_t timers_pending() const noexcept { return timers.size(); }
  /// \brief Asks the actor in `s` to stop: its current blocking call (it is woken) or its next
  /// one throws ActorCancelled. False when it has ended already.
  bool request_stop(Slot& s) noexcept;

  // ---- the life of an actor
  /// \brief A new Runnable actor running the callable `from`, which `body` describes.
  Pid spawn(const Body& body, void* from);
  /// \brief Runs actors until none is left. Throws Deadlock if some were parked with nothing to
  /// wake them (after unwinding them).
  void loop();
  /// \brief The outcome of an ended actor; its slot is freed (Done -> Free).
  Outcome collect(Slot& s) noexcept;
  /// \brief Nobody will collect `s`: it is freed when it ends (at once if it has).
  void detach(Slot& s) noexcept;

 private:
  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunk = 1U << kChunkBits;
  static_assert(kChunk == 4096 && kChunk * sizeof(Slot) == std::size_t{512} * 1024,
                "chapter 3's chunk");

  [[nodiscard]] Slot& slot(std::uint32_t index) noexcept {
    return (*chunks[index >> kChunkBits])[index & (kChunk - 1)];
  }
  [[nodiscard]] const Slot& slot(std::uint32_t index) const noexcept {
    return (*chunks[index >> kChunkBits])[index & (kChunk - 1)];
  }

  static void become(Slot& s, State to) noexcept;
  /// The actors one turn made runnable, in order, linked through Slot::next (scheduler.cpp).
  struct Batch {
    std::uint32_t head = kNone;
    std::uint32_t tail = kNone;
  };
  void append(std::uint32_t& head, std::uint32_t& tail, std::uint32_t first,
              std::uint32_t last) noexcept;
  void push(Slot& s) noexcept;
  void push_new(Slot& s, Batch& batch) noexcept;
  void to_front(Batch& batch) noexcept;
  void to_back(Batch& batch) noexcept;
  void end_turn(bool ended) noexcept;
  void fire_due(std::int64_t now) noexcept;
  void check_clock() noexcept;
  void sleep_until_due();
  Slot* pop() noexcept;
  std::uint32_t allocate_slot();
  void free_slot(Slot& s) noexcept;
  void transfer(Slot* from, Slot* to) noexcept;
  bool stop_allows_wait(Slot& me) noexcept;
  static bool deliver_stop(Slot& me);
  static void actor_main(void* arg);
  void finish(Slot& s);
  void forget(Slot& s) noexcept;
  static void report_unjoined(const Slot& s) noexcept;
  std::vector<Pid> collect_parked() const;
  [[nodiscard]] std::string deadlock_report(const std::vector<Pid>& parked) const;
  [[noreturn]] void abort_deadlock(const std::vector<Pid>& parked) const noexcept;
  static std::size_t name_running_actor(char* out, std::size_t capacity) noexcept;

  // [invariants]
  // Invariants, true whenever an actor runs and whenever the loop looks:
  // - `current` names the one Running slot, or is kNone while the loop runs; never both.
  // - Every slot below `slot_count` is in exactly one place: the free list (Free), the run
  //   queue or a batch (Runnable), `current` (Running), or no list (Parked, Done, and the Free slot
  //   between allocate_slot() and the push that follows it).
  // - `live` counts the slots that are neither Free nor Done.
  // - `exited` is not kNone only between an actor's return and the loop's finish() of it.
  // - `named` is the running actor, or the one whose stack the pool is taking back, or null.
  // [invariants]
  std::vector<std::unique_ptr<std::array<Slot, kChunk>>> chunks;  // tools/smarm-gdb.py reads it
  std::uint32_t slot_count = 0;                                   // slots ever made
  std::uint32_t free_head = kNone;
  std::uint32_t run_head = kNone;
  std::uint32_t run_tail = kNone;
  Batch spawned;  // what the running turn spawned, and woke: the run order of chapter 4
  Batch woken;
  std::uint32_t front_end = kNone;  // the last actor of the queue's front part, if any
  std::uint32_t front_turns = 0;    // turns taken at the front in a row while the back waits
  static constexpr std::uint32_t kFrontTurns = 64;
  std::uint32_t current = kNone;
  std::uint32_t exited = kNone;
  std::size_t live = 0;
  // The actor a stack-overflow report names (name_running_actor()): the running one, or the one
  // whose stack is going back to the pool. A pointer rather than an index, since the SIGSEGV
  // handler reads it while a spawn may be growing `chunks`.
  const Slot* named = nullptr;
  Context loop_ctx;  // the thread's own stack, where the loop runs
  EhGlobals loop_eh;
  EhGlobals& eh;  // the thread's: the running actor's exception state
  StackPool& pool;
  // Time (chapter 6): the deadlines of the actors waiting with one, by slot index.
  TimerWheel timers;
  std::int64_t virtual_now = -1;        // virtual time, or -1 for the steady clock's
  mutable std::int64_t clock_seen = 0;  // the steady clock's last reading, by now()
  std::uint32_t turns_to_clock = kTurnsPerClockRead;
  // While others run, due timers are looked for every so many turns, not at every switch: a
  // clock read costs as much as a switch (chapter 6).
  static constexpr std::uint32_t kTurnsPerClockRead = 64;

 public:
  /// \brief The serials this thread has drawn and not yet handed out (see scheduler.cpp).
  struct Serials {
    std::uint64_t next = 0;
    std::uint64_t end = 0;  // this block is [next, end)
    std::uint64_t take();
    void refill();
  };
  /// \brief Forgets the block drawn: the next serial comes from the process-wide counter.
  void redraw_serials() noexcept { serials = {}; }

 private:
  Serials serials;
  // constinit: other files read it directly, not through a wrapper that first runs a dynamic
  // initializer if there is one (GCC 12's UBSan build tested the address that wrapper gives with
  // the flags of its own test for an initializer, and reported a null pointer).
  static constinit thread_local Scheduler* tls;

 public:
  /// \brief Who is told when which actor ends: made by supervisor.cpp when first needed.
  Supervision* supervision = nullptr;
};
// [scheduler]

// [hooks]
// Supervision's hooks into the scheduler, defined in supervisor.cpp: the scheduler calls them at
// the few places where an actor's end or its stop concerns its supervisor and its monitors.
/// \brief An actor with Slot::watched has ended: its supervisor and its monitors are told.
void signal_end(Scheduler& s, Slot& ended);
/// \brief True while `s` supervises children that have not ended: a stopped supervisor may
/// still wait, for them.
[[nodiscard]] bool supervises_live_children(const Scheduler& s, const Slot& a) noexcept;
/// \brief `a` caught the cancellation of its stop and went on: its supervisor stops waiting
/// for it (it is told now), and its end goes to the root sentinel.
void stop_refused(Scheduler& s, Slot& a) noexcept;
/// \brief Frees what supervision kept for the run (when the scheduler goes).
void drop_supervision(Supervision* table) noexcept;
// [hooks]

}  // namespace smarm::detail
