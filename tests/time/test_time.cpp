// test_time.cpp — time (chapter 6): sleepers woken in the order of their deadlines, virtual time
// that jumps, a timeout on each blocking call told apart from "closed" and "cancelled", a late
// value never lost, and no timer left behind by a wait that ended early. Internal: it counts the
// scheduler's pending timers.
#include <smarm/actor.hpp>
#include <smarm/channel.hpp>
#include <smarm/supervisor.hpp>
#include <smarm/time.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "scheduler.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Clock;
using smarm::JoinHandle;
using smarm::RecvStatus;
using smarm::SendStatus;
using smarm::TimeMode;

std::uint32_t timers_pending() { return smarm::detail::Scheduler::of_thread()->timers_pending(); }

TEST(Time, SleepersWakeInTheOrderOfTheirDeadlinesAtThoseVeryInstants) {
  constexpr int kSleepers = 10'000;
  std::vector<Clock::duration> wake_offsets;  // when each woke, after the start
  std::vector<Clock::duration> asked;         // in the order woken: the sleep each asked for
  smarm::run(
      [&] {
        const Clock::time_point start = Clock::now();
        std::mt19937_64 random(6);
        for (int i = 0; i < kSleepers; ++i) {
          // From a nanosecond to ten hours: every level of the wheel, and equal deadlines too.
          const auto d = Clock::duration(std::int64_t{1} << (random() % 46)) + (random() % 3) * 1ns;
          smarm::spawn([&, d] {
            smarm::sleep_until(start + d);
            wake_offsets.push_back(Clock::now() - start);
            asked.push_back(d);
          });
        }
      },
      TimeMode::Virtual);
  ASSERT_EQ(asked.size(), std::size_t{kSleepers});
  for (int i = 0; i < kSleepers; ++i) {
    EXPECT_EQ(wake_offsets[i], asked[i]) << "woke at another instant than its deadline";
    if (i > 0) {
      EXPECT_LE(asked[i - 1], asked[i]) << "woke out of order";
    }
  }
}

TEST(Time, OnTheRealClockSleepersWakeInOrderWhileOtherActorsComeAndGo) {
  // Timers found due at the end of a turn whose actor ended go behind those woken before them,
  // not in front with what the ending actor woke (chapter 4's hand-off).
  constexpr int kSleepers = 2000;
  std::vector<int> woken;
  bool all_woken = false;
  smarm::run([&] {
    const Clock::time_point start = Clock::now() + 50ms;
    std::mt19937 random(4);
    std::vector<JoinHandle> sleepers;
    for (int i = 0; i < kSleepers; ++i) {
      const int offset_us = static_cast<int>(random() % 20'000);
      sleepers.push_back(smarm::spawn([&, offset_us] {
        const Clock::time_point deadline = start + std::chrono::microseconds(offset_us);
        // Under qemu, a sanitizer or a loaded machine the first turns of 2000 actors can outlast
        // the 50 ms: a sleeper whose deadline passed before it slept is not one that was woken.
        const bool woken_by_timer = Clock::now() < deadline;
        smarm::sleep_until(deadline);
        if (woken_by_timer) woken.push_back(offset_us);
      }));
    }
    JoinHandle churn = smarm::spawn([&] {  // actors that start and end while the timers fire
      while (!all_woken) smarm::spawn([] {}).join();
    });
    for (JoinHandle& s : sleepers) s.join();
    all_woken = true;
    churn.join();
  });
  ASSERT_GT(woken.size(), 0U);  // as many as slept before their deadlines
  EXPECT_TRUE(std::is_sorted(woken.begin(), woken.end()));
}

TEST(Time, VirtualTimeLetsAnHourPassInNoTime) {
  Clock::duration slept{};
  const auto real_start = std::chrono::steady_clock::now();
  smarm::run(
      [&] {
        const Clock::time_point start = Clock::now();
        smarm::sleep_for(1h);
        slept = Clock::now() - start;
      },
      TimeMode::Virtual);
  EXPECT_EQ(slept, Clock::duration(1h));
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 1h);
}

TEST(Time, OnTheRealClockASleepIsNeverShort) {
  Clock::duration slept{};
  smarm::run([&] {
    const Clock::time_point start = Clock::now();
    smarm::sleep_for(20ms);
    slept = Clock::now() - start;
  });
  EXPECT_GE(slept, Clock::duration(20ms));
  // Outside a run, the clock is the steady clock's.
  const auto steady = std::chrono::steady_clock::now().time_since_epoch();
  EXPECT_GE(Clock::now().time_since_epoch(), steady);
}

TEST(Time, ActorsThatRunAreInterruptedForNoTimerButWokenSleepersGetTheirTurns) {
  // A sleeper's deadline passes while two actors yield to each other: the loop never idles, yet
  // the sleeper wakes (the clock is read at turn ends).
  bool woke = false;
  int turns_after = 0;
  smarm::run([&] {
    JoinHandle sleeper = smarm::spawn([&] {
      smarm::sleep_for(1ms);
      woke = true;
    });
    JoinHandle busy = smarm::spawn([&] {
      while (!woke) smarm::yield_now();
    });
    while (!woke) {
      smarm::yield_now();
      ++turns_after;
    }
    busy.join();
    sleeper.join();
  });
  EXPECT_TRUE(woke);
  EXPECT_GT(turns_after, 0);
}

TEST(Time, RecvTimesOutThenTheLateValueWaitsInTheChannel) {
  // [usage]
  smarm::run(
      [] {
        auto [tx, rx] = smarm::channel<int>();
        const Clock::time_point start = Clock::now();
        smarm::RecvResult<int> r = rx.recv_for(10ms);
        EXPECT_EQ(r.status, RecvStatus::TimedOut);
        EXPECT_EQ(Clock::now() - start, Clock::duration(10ms));
        EXPECT_EQ(timers_pending(), 0U);
        ASSERT_EQ(tx.send(7).status, SendStatus::Sent);
        EXPECT_EQ(rx.recv_for(10ms).value, 7);
        tx.close();
        EXPECT_EQ(rx.recv_for(10ms).status, RecvStatus::Closed);  // closed, not timed out
      },
      TimeMode::Virtual);
  // [usage]
}

TEST(Time, AValueSentAtTheDeadlineIsReceivedOnceWhicheverWins) {
  for (int sender_first = 0; sender_first < 2; ++sender_first) {
    int received = 0;
    smarm::run(
        [&] {
          auto [tx, rx] = smarm::channel<int>();
          const Clock::time_point deadline = Clock::now() + 5ms;
          auto send_at_deadline = [&, tx = tx]() mutable {
            smarm::sleep_until(deadline);
            ASSERT_EQ(tx.send(1).status, SendStatus::Sent);
          };
          // Equal deadlines fire in the order armed: whoever waits first runs first.
          JoinHandle sender = sender_first != 0 ? smarm::spawn(send_at_deadline) : JoinHandle();
          if (sender_first != 0) smarm::yield_now();  // the sender is asleep first
          if (sender_first == 0) sender = smarm::spawn(send_at_deadline);
          smarm::RecvResult<int> r = rx.recv_until(deadline);
          if (r) ++received;
          sender.join();
          if (rx.try_recv()) ++received;  // otherwise it stayed in the channel
        },
        TimeMode::Virtual);
    EXPECT_EQ(received, 1) << "sender first: " << sender_first;
  }
}

TEST(Time, SendTimesOutOnAFullChannelAndLeavesTheQueueAtOnce) {
  smarm::run(
      [] {
        auto [tx, rx] = smarm::channel<int>(1);
        ASSERT_EQ(tx.send(1).status, SendStatus::Sent);
        smarm::SendResult<int> late = tx.send_for(2, 10ms);
        EXPECT_EQ(late.status, SendStatus::TimedOut);
        EXPECT_EQ(late.value, 2);  // handed back
        // The timed-out sender is not queued any more: room goes to the next one.
        JoinHandle next = smarm::spawn([tx2 = tx]() mutable { (void)tx2.send(3); });
        smarm::yield_now();  // it parks on the full channel
        EXPECT_EQ(rx.recv(), 1);
        EXPECT_EQ(rx.recv(), 3);
        next.join();
        EXPECT_EQ(rx.try_recv().status, RecvStatus::Empty);
        EXPECT_EQ(timers_pending(), 0U);
        { smarm::Receiver<int> dropped = std::move(rx); }            // the receiver goes
        EXPECT_EQ(tx.send_for(4, 10ms).status, SendStatus::Closed);  // closed, not timed out
      },
      TimeMode::Virtual);
}

TEST(Time, JoinTimesOutAndTheHandleStillJoins) {
  smarm::run(
      [] {
        JoinHandle sleeper = smarm::spawn([] { smarm::sleep_for(1s); });
        EXPECT_FALSE(sleeper.join_for(10ms).has_value());
        EXPECT_TRUE(sleeper.joinable());
        std::optional<smarm::Outcome> outcome = sleeper.join_for(2s);
        ASSERT_TRUE(outcome.has_value());
        EXPECT_TRUE(outcome->ok());
        EXPECT_FALSE(sleeper.joinable());
      },
      TimeMode::Virtual);
}

TEST(Time, ParkTimesOutAndAnUnparkAfterwardsIsKeptForTheNextPark) {
  smarm::run(
      [] {
        const smarm::Pid me = smarm::self();
        EXPECT_FALSE(smarm::park_for(10ms));
        JoinHandle waker = smarm::spawn([me] { smarm::unpark(me); });
        EXPECT_TRUE(smarm::park_for(10ms));  // unparked before the deadline
        waker.join();
        smarm::unpark(me);                  // comes first: kept
        EXPECT_TRUE(smarm::park_for(0ms));  // consumed at once, no wait
        EXPECT_EQ(timers_pending(), 0U);
      },
      TimeMode::Virtual);
}

TEST(Time, AStoppedSleeperUnwindsAndLeavesNoTimer) {
  bool unwound = false;
  smarm::run(
      [&] {
        JoinHandle sleeper = smarm::spawn([&] {
          struct Flag {
            bool* set;
            ~Flag() { *set = true; }
          } flag{&unwound};
          smarm::sleep_for(1h);
        });
        smarm::yield_now();
        EXPECT_EQ(timers_pending(), 1U);
        EXPECT_TRUE(smarm::stop(sleeper.pid()));
        EXPECT_FALSE(sleeper.join().ok());  // ended by the cancellation
        EXPECT_EQ(timers_pending(), 0U);
      },
      TimeMode::Virtual);
  EXPECT_TRUE(unwound);
}

TEST(Time, ActorsWaitingWhileATimerIsPendingAreNotDeadlocked) {
  // A receiver waits without a deadline; the only sender sleeps first. Not a deadlock.
  std::optional<int> got;
  smarm::run(
      [&] {
        auto [tx, rx] = smarm::channel<int>();
        JoinHandle sender = smarm::spawn([tx = std::move(tx)]() mutable {
          smarm::sleep_for(1s);
          (void)tx.send(42);
        });
        got = rx.recv();
        sender.join();
      },
      TimeMode::Virtual);
  EXPECT_EQ(got, 42);
}

TEST(Time, ASleepWithoutEndThatNothingCanEndIsReportedAsADeadlock) {
  EXPECT_THROW(smarm::run([] { smarm::sleep_until(Clock::time_point::max()); }), smarm::Deadlock);
}

// Under qemu a tenth, as the channel's ten million messages.
#if defined(__aarch64__)
constexpr int kAnswered = 100'000;
#else
constexpr int kAnswered = 1'000'000;
#endif

TEST(Time, AMillionTimeoutsAnsweredInTimeLeaveNoTimerBehind) {
  std::uint32_t most_pending = 0;
  int answered = 0;
  smarm::run([&] {
    auto [ask_tx, ask_rx] = smarm::channel<int>(1);
    auto [answer_tx, answer_rx] = smarm::channel<int>(1);
    JoinHandle echo = smarm::spawn([rx = std::move(ask_rx), tx = std::move(answer_tx)]() mutable {
      while (auto v = rx.recv_for(1h)) (void)tx.send(*v.value);
    });
    for (int i = 0; i < kAnswered; ++i) {
      (void)ask_tx.send(i);
      if (answer_rx.recv_for(1h).value == i) ++answered;
      most_pending = std::max(most_pending, timers_pending());
    }
    ask_tx.close();
    echo.join();
    EXPECT_EQ(timers_pending(), 0U);
  });
  EXPECT_EQ(answered, kAnswered);
  EXPECT_LE(most_pending, 1U);  // the echo's, at most: each wait's timer goes when it is answered
}

TEST(Time, OutsideAnActorSleepIsAClearError) {
  EXPECT_THROW(smarm::sleep_for(1ms), smarm::NotInActor);
  EXPECT_THROW((void)smarm::park_for(1ms), smarm::NotInActor);
}

}  // namespace
