// channel.cpp — the part of a channel that does not depend on the type of its values
// (ChannelCore in <smarm/channel.hpp>): the parked receiver, the queue of parked senders, and
// their waits and wakes, made only through the scheduler's wait/ready pair (scheduler.hpp), so
// that the stage that adds threads makes waiting thread-safe in one place.
#include "smarm/channel.hpp"

#include <string>

#include "scheduler.hpp"

namespace smarm::detail {

void ChannelCore::enter(const char* what) { (void)Scheduler::in_actor(what); }

namespace {
ChannelCore::Woke woke(Scheduler::Waited waited) noexcept {
  switch (waited) {
    case Scheduler::Waited::Woken:
      return ChannelCore::Woke::Yes;
    case Scheduler::Waited::TimedOut:
      return ChannelCore::Woke::TimedOut;
    default:
      return ChannelCore::Woke::GaveUp;
  }
}
}  // namespace

void ChannelCore::empty_endpoint(const char* what) {
  throw Error(std::string(what) +
              ": the endpoint is empty (moved from, or a sender already closed)");
}

// [wait_recv]
// No value is queued and a sender remains. Between the check of the caller and wait() no other
// actor runs (one thread, and nothing here switches), so no send can slip in between and find
// no receiver to wake: the wake-up cannot be lost. With threads, the check and the publication of
// `receiving` must be made atomic for senders, and `receiving` published only after the switch.
ChannelCore::Woke ChannelCore::wait_recv(std::int64_t deadline) {
  Scheduler& s = *Scheduler::of_thread();
  receiving = &s.running();
  Scheduler::Waited waited = Scheduler::Waited::Woken;
  try {
    waited = s.wait_until(Wait::Recv, deadline);
  } catch (...) {
    receiving = nullptr;  // cancelled: nobody is to wake it any more
    throw;
  }
  receiving = nullptr;  // timed out too: a later send queues its value for the next recv
  return woke(waited);
}

void ChannelCore::wake_receiver() noexcept {
  Slot& r = *std::exchange(receiving, nullptr);
  // A receiver cancelled by a deadlock is runnable already, and is not woken twice; nor is one
  // in select(), which the first of its channels to get a value (or its deadline) woke: it
  // removes its registrations from the others when it runs (select.cpp).
  if (Scheduler::waits_for(r, Wait::Recv) || Scheduler::waits_for(r, Wait::Select)) {
    Scheduler::of_thread()->ready(r);
  }
}
// [wait_recv]

// [wait_send]
ChannelCore::Woke ChannelCore::wait_send(SendWaiter& w, std::int64_t deadline) {
  Scheduler& s = *Scheduler::of_thread();
  w.actor = &s.running();
  w.next = nullptr;
  (last != nullptr ? last->next : first) = &w;
  last = &w;
  w.queued = true;
  Scheduler::Waited waited = Scheduler::Waited::Woken;
  try {
    waited = s.wait_until(Wait::Send, deadline);
  } catch (...) {
    unlink(w);
    throw;
  }
  unlink(w);  // still queued when it timed out, or was cancelled while unwinding: it leaves now
  return woke(waited);
}

ChannelCore::SendWaiter& ChannelCore::pop_sender() noexcept {
  SendWaiter& w = *first;
  first = w.next;
  if (first == nullptr) last = nullptr;
  w.next = nullptr;
  w.queued = false;
  return w;
}

void ChannelCore::woken(SendWaiter& w) noexcept {
  if (Scheduler::waits_for(*w.actor, Wait::Send)) Scheduler::of_thread()->ready(*w.actor);
}
// [wait_send]

// A cancelled sender leaves the queue itself; a woken one was taken off by its waker.
void ChannelCore::unlink(SendWaiter& w) noexcept {
  if (!w.queued) return;
  SendWaiter** link = &first;
  SendWaiter* previous = nullptr;
  while (*link != &w) {
    previous = *link;
    link = &(*link)->next;
  }
  *link = w.next;
  if (last == &w) last = previous;
  w.queued = false;
}

// [close]
void ChannelCore::senders_gone() noexcept {
  if (receiving != nullptr) wake_receiver();  // to find the channel empty and closed
}

void ChannelCore::receiver_gone() noexcept {
  while (first != nullptr) woken(pop_sender());  // each finds its value not taken: Closed
}
// [close]

}  // namespace smarm::detail
