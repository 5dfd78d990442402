// test_select.cpp — select over several receivers (chapter 6): it says which receiver is ready
// and receives nothing itself; it waits until one is, or until its deadline; a closed receiver is
// ready; the ready ones are chosen alike; and whatever ends it (a value, the deadline, a stop, a
// deadlock's cancellation), no registration is left on any channel and no timer in the wheel.
// Internal: it looks at each channel's registered receiver and counts the scheduler's timers.
#include <smarm/actor.hpp>
#include <smarm/channel.hpp>
#include <smarm/select.hpp>
#include <smarm/supervisor.hpp>
#include <smarm/time.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "scheduler.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Clock;
using smarm::JoinHandle;
using smarm::Receiver;
using smarm::RecvStatus;
using smarm::Sender;
using smarm::SendStatus;
using smarm::TimeMode;

std::uint32_t timers_pending() { return smarm::detail::Scheduler::of_thread()->timers_pending(); }

// True while an actor is registered as the receiver of `r`'s channel (parked in recv or select).
template <class T>
bool registered(Receiver<T>& r) {
  return smarm::detail::SelectAccess::core(r, "test").receiving != nullptr;
}

TEST(Select, WaitsForTheFirstReadyReceiverAndReceivesNothingItself) {
  // [usage]
  smarm::run(
      [] {
        auto [numbers_tx, numbers] = smarm::channel<int>();
        auto [words_tx, words] = smarm::channel<std::string>();
        JoinHandle writer = smarm::spawn([tx = words_tx]() mutable {
          smarm::sleep_for(5ms);
          (void)tx.send("hello");
        });
        const Clock::time_point start = Clock::now();
        switch (smarm::select(numbers, words)) {  // parks until one of them is ready
          case 0:
            ADD_FAILURE() << "nothing was sent on numbers";
            break;
          case 1:
            EXPECT_EQ(words.recv(), "hello");  // ready: this recv does not park
            break;
        }
        EXPECT_EQ(Clock::now() - start, Clock::duration(5ms));
        EXPECT_EQ(smarm::select_for(10ms, numbers, words), std::nullopt);  // nothing in 10 ms
        (void)numbers_tx.send(7);
        EXPECT_EQ(smarm::select_for(10ms, numbers, words), 0U);  // at once: 7 is waiting
        EXPECT_EQ(numbers.recv(), 7);
        writer.join();
      },
      TimeMode::Virtual);
  // [usage]
}

TEST(Select, AReceiverReadyAlreadyIsChosenWithoutWaitingAndTheOthersKeepTheirValues) {
  smarm::run(
      [] {
        auto [a_tx, a] = smarm::channel<int>();
        auto [b_tx, b] = smarm::channel<int>(1);
        (void)b_tx.send(2);
        const Clock::time_point start = Clock::now();
        EXPECT_EQ(smarm::select_for(1h, a, b), 1U);
        EXPECT_EQ(Clock::now(), start);
        EXPECT_EQ(timers_pending(), 0U);  // nothing waited: no timer was armed
        EXPECT_EQ(a.try_recv().status, RecvStatus::Empty);
        (void)a_tx.send(1);
        EXPECT_EQ(smarm::select_for(0ms, a), 0U);  // a zero wait polls
        // Both are ready now; whichever is chosen, the other's value is still there.
        const std::size_t chosen = smarm::select(a, b);
        ASSERT_LT(chosen, 2U);
        EXPECT_EQ((chosen == 0 ? a : b).recv(), chosen == 0 ? 1 : 2);
        EXPECT_EQ((chosen == 0 ? b : a).recv(), chosen == 0 ? 2 : 1);
        EXPECT_EQ(smarm::select_for(0ms, a, b), std::nullopt);  // polls, nothing ready
        EXPECT_EQ(timers_pending(), 0U);
      },
      TimeMode::Virtual);
}

TEST(Select, TheDeadlineComesWithNothingConsumedNoRegistrationAndNoTimerLeft) {
  smarm::run(
      [] {
        auto [a_tx, a] = smarm::channel<int>();
        auto [b_tx, b] = smarm::channel<int>();
        const Clock::time_point start = Clock::now();
        EXPECT_EQ(smarm::select_until(start + 10ms, a, b), std::nullopt);
        EXPECT_EQ(Clock::now() - start, Clock::duration(10ms));
        EXPECT_FALSE(registered(a));
        EXPECT_FALSE(registered(b));
        EXPECT_EQ(timers_pending(), 0U);
        // The losing channels work as before: a later send wakes a plain recv on each.
        JoinHandle sender =
            smarm::spawn([a_tx = std::move(a_tx), b_tx = std::move(b_tx)]() mutable {
              smarm::sleep_for(1ms);
              (void)a_tx.send(1);
              smarm::sleep_for(1ms);
              (void)b_tx.send(2);
            });
        EXPECT_EQ(a.recv(), 1);
        EXPECT_EQ(b.recv(), 2);
        sender.join();
        EXPECT_EQ(a.recv(), std::nullopt);  // closed, and nothing else was queued
        EXPECT_EQ(b.recv(), std::nullopt);
      },
      TimeMode::Virtual);
}

TEST(Select, WokenByOneChannelItLeavesNoRegistrationOnTheOthers) {
  smarm::run(
      [] {
        auto [a_tx, a] = smarm::channel<int>();
        auto [b_tx, b] = smarm::channel<int>();
        auto [c_tx, c] = smarm::channel<int>();
        JoinHandle sender = smarm::spawn([tx = b_tx]() mutable {
          smarm::sleep_for(1ms);
          (void)tx.send(2);
        });
        EXPECT_EQ(smarm::select_for(1h, a, b, c), 1U);
        EXPECT_FALSE(registered(a));
        EXPECT_FALSE(registered(b));
        EXPECT_FALSE(registered(c));
        EXPECT_EQ(timers_pending(), 0U);
        // A send on a losing channel now wakes nobody, and the value waits for its receiver.
        (void)a_tx.send(1);
        EXPECT_EQ(a.try_recv().value, 1);
        EXPECT_EQ(b.try_recv().value, 2);
        sender.join();
      },
      TimeMode::Virtual);
}

TEST(Select, AValueSentAtTheDeadlineIsChosenOrStaysInItsChannel) {
  for (int sender_first = 0; sender_first < 2; ++sender_first) {
    int received = 0;
    bool timed_out = false;
    smarm::run(
        [&] {
          auto [a_tx, a] = smarm::channel<int>();
          auto [b_tx, b] = smarm::channel<int>();
          const Clock::time_point deadline = Clock::now() + 5ms;
          auto send_at_deadline = [&, tx = b_tx]() mutable {
            smarm::sleep_until(deadline);
            ASSERT_EQ(tx.send(1).status, SendStatus::Sent);
          };
          // Equal deadlines fire in the order armed: whoever waits first runs first.
          JoinHandle sender = sender_first != 0 ? smarm::spawn(send_at_deadline) : JoinHandle();
          if (sender_first != 0) smarm::yield_now();  // the sender is asleep first
          if (sender_first == 0) sender = smarm::spawn(send_at_deadline);
          const std::optional<std::size_t> chosen = smarm::select_until(deadline, a, b);
          timed_out = !chosen.has_value();
          if (chosen == 1U && b.try_recv()) ++received;
          sender.join();
          if (b.try_recv()) ++received;  // otherwise it stayed in the channel
          EXPECT_EQ(a.try_recv().status, RecvStatus::Empty);
          EXPECT_FALSE(registered(a));
          EXPECT_FALSE(registered(b));
        },
        TimeMode::Virtual);
    EXPECT_EQ(received, 1) << "sender first: " << sender_first;
    // The sender's timer fires first: its value is there when the selector runs, and is chosen.
    EXPECT_EQ(timed_out, sender_first == 0) << "sender first: " << sender_first;
  }
}

TEST(Select, AClosedReceiverIsReadyAndItsRecvSaysClosed) {
  smarm::run(
      [] {
        auto [a_tx, a] = smarm::channel<int>();
        auto [b_tx, b] = smarm::channel<int>();
        // Closed while the selector waits: the last sender's going wakes it.
        JoinHandle closer = smarm::spawn([tx = std::move(b_tx)]() mutable {
          smarm::sleep_for(1ms);
          (void)tx.send(9);
          tx.close();
        });
        EXPECT_EQ(smarm::select(a, b), 1U);
        closer.join();
        EXPECT_EQ(b.recv(), 9);  // what was queued before the close comes first
        EXPECT_EQ(smarm::select(a, b), 1U);
        EXPECT_EQ(b.try_recv().status, RecvStatus::Closed);
        EXPECT_EQ(smarm::select_for(1h, a, b), 1U);  // closed already: ready at once
        EXPECT_EQ(timers_pending(), 0U);
        EXPECT_FALSE(registered(a));
      },
      TimeMode::Virtual);
}

// Each ready receiver is chosen about as often as each other, wherever it stands in the list:
// always taking the first ready one would starve the others, and a rotating start would favour
// the one after a receiver that is never ready.
TEST(Select, ReadyReceiversAreChosenAlikeAndNoneStarves) {
  constexpr int kRounds = 30'000;
  std::array<int, 3> chosen{};
  smarm::run([&] {
    auto [a_tx, a] = smarm::channel<int>();
    auto [b_tx, b] = smarm::channel<int>();  // never ready
    auto [c_tx, c] = smarm::channel<int>();
    (void)a_tx.send(0);
    (void)c_tx.send(0);
    for (int i = 0; i < kRounds; ++i) {
      const std::size_t k = smarm::select(a, b, c);
      ASSERT_LT(k, 3U);
      ++chosen[k];
      // The chosen one is ready: its recv would not park. It is made ready again at once.
      smarm::RecvResult<int> got = (k == 0 ? a : k == 1 ? b : c).try_recv();
      ASSERT_EQ(got.status, RecvStatus::Received);
      (void)(k == 0 ? a_tx : c_tx).send(0);
    }
  });
  EXPECT_EQ(chosen[1], 0);
  // Half each, give or take: a fair coin strays by 1% of 30,000 (ten standard deviations) once in
  // more runs than will ever be made.
  EXPECT_GT(chosen[0], kRounds * 45 / 100);
  EXPECT_GT(chosen[2], kRounds * 45 / 100);
}

TEST(Select, AStoppedSelectorUnwindsAndLeavesNoRegistrationNorTimer) {
  bool unwound = false;
  smarm::run(
      [&] {
        // Named ends, not structured bindings: clang 14 cannot capture those in a lambda. A
        // sender unused keeps its channel open from its pair.
        std::pair a_ends = smarm::channel<int>();
        Sender<int>& a_tx = a_ends.first;
        Receiver<int>& a = a_ends.second;
        std::pair b_ends = smarm::channel<int>();
        Receiver<int>& b = b_ends.second;
        JoinHandle selector = smarm::spawn([&] {
          struct Flag {
            bool* set;
            ~Flag() { *set = true; }
          } flag{&unwound};
          (void)smarm::select_for(1h, a, b);
          ADD_FAILURE() << "select returned to a stopped actor";
        });
        smarm::yield_now();
        EXPECT_TRUE(registered(a));  // it waits, registered on both
        EXPECT_TRUE(registered(b));
        EXPECT_EQ(timers_pending(), 1U);
        EXPECT_TRUE(smarm::stop(selector.pid()));
        (void)a_tx.send(1);                  // before it runs again: wakes nobody twice
        EXPECT_FALSE(selector.join().ok());  // ended by the cancellation
        EXPECT_FALSE(registered(a));
        EXPECT_FALSE(registered(b));
        EXPECT_EQ(timers_pending(), 0U);
        EXPECT_EQ(a.try_recv().value, 1);  // not consumed
      },
      TimeMode::Virtual);
  EXPECT_TRUE(unwound);
}

TEST(Select, ASelectNothingCanEndIsADeadlockNamedInTheReportAndUnwound) {
  // The receivers outlive the run, so that their channels can be looked at after it.
  std::pair a_ends = smarm::channel<int>();
  Receiver<int>& a = a_ends.second;
  std::pair b_ends = smarm::channel<std::string>();
  Receiver<std::string>& b = b_ends.second;
  std::string report;
  try {
    smarm::run([&] { (void)smarm::select(a, b); });
    ADD_FAILURE() << "no deadlock";
  } catch (const smarm::Deadlock& d) {
    report = d.what();
  }
  EXPECT_NE(report.find("in select on channels"), std::string::npos) << report;
  EXPECT_FALSE(registered(a));
  EXPECT_FALSE(registered(b));
}

TEST(Select, CancelledWhileUnwindingAlreadyItGivesUpWithNoReceiversIndex) {
  std::pair rx_ends = smarm::channel<int>();
  Receiver<int>& rx = rx_ends.second;
  std::size_t got = 0;
  EXPECT_THROW(smarm::run([&] {
                 struct SelectsInItsDestructor {
                   Receiver<int>* rx;
                   std::size_t* got;
                   ~SelectsInItsDestructor() { *got = smarm::select(*rx); }
                 } selects{&rx, &got};
                 throw std::runtime_error("fails, and unwinds into a select");
               }),
               smarm::Deadlock);
  EXPECT_EQ(got, 1U);  // one receiver given: 1 is none of theirs
  EXPECT_FALSE(registered(rx));
}

// Under qemu a tenth, as the timeouts of test_time.cpp.
#if defined(__aarch64__)
constexpr int kSelects = 100'000;
#else
constexpr int kSelects = 1'000'000;
#endif

TEST(Select, AMillionSelectsLeaveNoTimerNorRegistrationBehind) {
  std::uint32_t most_pending = 0;
  int answered = 0;
  smarm::run([&] {
    auto [ask_tx, ask_rx] = smarm::channel<int>(1);
    auto [even_tx, even] = smarm::channel<int>(1);
    auto [odd_tx, odd] = smarm::channel<int>(1);
    JoinHandle echo = smarm::spawn([rx = std::move(ask_rx), even_tx = std::move(even_tx),
                                    odd_tx = std::move(odd_tx)]() mutable {
      while (auto v = rx.recv_for(1h)) (void)(*v.value % 2 == 0 ? even_tx : odd_tx).send(*v.value);
    });
    for (int i = 0; i < kSelects; ++i) {
      (void)ask_tx.send(i);
      // Nothing is ready yet: each select parks, and the answer on one channel wakes it.
      const std::optional<std::size_t> k = smarm::select_for(1h, even, odd);
      if (k == static_cast<std::size_t>(i % 2) && (*k == 0 ? even : odd).try_recv().value == i) {
        ++answered;
      }
      most_pending = std::max(most_pending, timers_pending());
    }
    EXPECT_FALSE(registered(even));
    EXPECT_FALSE(registered(odd));
    ask_tx.close();
    echo.join();
    EXPECT_EQ(timers_pending(), 0U);
  });
  EXPECT_EQ(answered, kSelects);
  EXPECT_LE(most_pending, 1U);  // the echo's, at most: each select's timer goes when it is woken
}

TEST(Select, MisuseIsAClearError) {
  std::pair a_ends = smarm::channel<int>();
  Sender<int>& a_tx = a_ends.first;
  Receiver<int>& a = a_ends.second;
  std::pair b_ends = smarm::channel<int>();
  Sender<int>& b_tx = b_ends.first;
  Receiver<int>& b = b_ends.second;
  EXPECT_THROW((void)smarm::select(a, b), smarm::NotInActor);
  EXPECT_THROW((void)smarm::select_for(1ms, a), smarm::NotInActor);
  smarm::run([&] {
    (void)a_tx.send(1);  // ready: the misuse is told all the same
    EXPECT_THROW((void)smarm::select(a, b, a), smarm::Error);
    Receiver<int> moved = std::move(b);
    EXPECT_THROW((void)smarm::select(a, b), smarm::Error);  // b is empty now
    // Another actor is parked receiving on `moved`: selecting on it too could lose its wake.
    JoinHandle receiver = smarm::spawn([&] { EXPECT_EQ(moved.recv(), 2); });
    smarm::yield_now();
    EXPECT_THROW((void)smarm::select_for(1ms, moved), smarm::Error);
    (void)b_tx.send(2);
    receiver.join();
    EXPECT_EQ(smarm::select(a, moved), 0U);  // after the errors, the receivers are as they were
  });
}

}  // namespace
