// select.cpp — the untyped part of select (<smarm/select.hpp>): the actor registers as the
// receiver of every channel it selects on, waits once through the scheduler's wait_until, and
// takes every registration back before it looks at what is ready, so that no channel it did not
// choose keeps a pointer to it or loses a value.
#include "smarm/select.hpp"

#include <string>

#include "scheduler.hpp"

namespace smarm::detail {

namespace {

// [choose]
// When several receivers are ready, one is chosen at random, uniformly among the ready ones, as
// Go's select does: taking the first ready one would starve the later ones of a channel that is
// always ready, and so would a rotating start whenever the calls of a program fall into step with
// the rotation. A xorshift64* generator per thread (one scheduler per thread): a few cycles, drawn
// only when a second ready receiver is found. A fixed seed, so that a run repeats.
constinit thread_local std::uint64_t random_state = 0x9E3779B97F4A7C15;

std::uint32_t random_below(std::uint32_t bound) noexcept {
  std::uint64_t x = random_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  random_state = x;
  const std::uint64_t r = (x * 0x2545F4914F6CDD1DULL) >> 32;  // the high half, the better one
  return static_cast<std::uint32_t>((r * bound) >> 32);
}

// The index of a ready arm, each ready one as likely as the others (reservoir sampling of one),
// or `n` when none is ready.
std::size_t choose_ready(const SelectArm* arms, std::size_t n) noexcept {
  std::size_t chosen = n;
  std::uint32_t ready = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!arms[i].ready(*arms[i].core)) continue;
    ++ready;
    if (ready == 1 || random_below(ready) == 0) chosen = i;
  }
  return chosen;
}
// [choose]

// Misuse, told before anything waits: each channel can hold one registered receiver, and the
// actor that is parked in it is the only one a send wakes.
void check_arms(const SelectArm* arms, std::size_t n, const char* what) {
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (arms[j].core == arms[i].core) {
        throw Error(std::string(what) + ": receivers " + std::to_string(j) + " and " +
                    std::to_string(i) + " are the same receiver; give each receiver once");
      }
    }
    if (arms[i].core->receiving != nullptr) {
      throw Error(std::string(what) + ": another actor is parked receiving on receiver " +
                  std::to_string(i) + "; a receiver is used by one actor at a time");
    }
  }
}

// [withdraw]
// Takes the actor's registrations back. A channel that woke it has cleared its own already
// (wake_receiver), and so has one that got a value after that, finding it runnable; every other
// one still names it, and must not once select returns: its next send would wake an actor that
// may by then be parked for another reason.
void withdraw(const SelectArm* arms, std::size_t n, const Slot& me) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (arms[i].core->receiving == &me) arms[i].core->receiving = nullptr;
  }
}
// [withdraw]

}  // namespace

// [select_by]
std::size_t select_by(const SelectArm* arms, std::size_t n, std::int64_t deadline,
                      const char* what) {
  Scheduler& s = Scheduler::in_actor(what);
  check_arms(arms, n, what);
  Slot& me = s.running();
  for (bool timed_out = false;;) {
    const std::size_t chosen = choose_ready(arms, n);
    if (chosen != n) return chosen;  // before waiting, or after: a late value is not lost
    if (timed_out) return kSelectTimedOut;
    // Nothing is ready. As in wait_recv, no other actor runs between the look and the wait, so
    // no value can slip in unseen.
    for (std::size_t i = 0; i < n; ++i) arms[i].core->receiving = &me;
    Scheduler::Waited waited = Scheduler::Waited::Woken;
    try {
      waited = s.wait_until(Wait::Select, deadline);  // its timer, if any, is gone either way
    } catch (...) {
      withdraw(arms, n, me);  // cancelled or stopped
      throw;
    }
    withdraw(arms, n, me);
    if (waited == Scheduler::Waited::GaveUp) return n;  // cancelled while unwinding
    timed_out = waited == Scheduler::Waited::TimedOut;
  }
}
// [select_by]

}  // namespace smarm::detail
