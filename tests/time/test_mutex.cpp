// test_mutex.cpp — the timeout mutex (chapter 6): the lock without contention, FIFO hand-off to a
// thousand waiters while deadlines fire among them, a timed-out waiter that leaves the queue at
// once, a holder unwound by an exception, a stop or a deadlock that releases the lock, and a clear
// error for each misuse. Internal: it counts the scheduler's pending timers.
#include <smarm/actor.hpp>
#include <smarm/mutex.hpp>
#include <smarm/supervisor.hpp>
#include <smarm/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "scheduler.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Clock;
using smarm::JoinHandle;
using smarm::LockStatus;
using smarm::Mutex;
using smarm::TimeMode;

std::uint32_t timers_pending() { return smarm::detail::Scheduler::of_thread()->timers_pending(); }

// The message of the smarm::Error that `f` throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const smarm::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Mutex, WithoutContentionALockTakesNoTimerAndTheGuardReachesTheValue) {
  // [usage]
  Mutex<std::vector<int>> m;  // protects a vector
  smarm::run(
      [&] {
        if (auto g = m.lock_for(10ms)) {  // a deadline, always; free: locked at once
          g->push_back(1);
          EXPECT_TRUE(m.locked());
          EXPECT_EQ(timers_pending(), 0U);  // nobody waited: no timer was armed
        }
        EXPECT_FALSE(m.locked());  // the guard unlocked as its scope ended
        smarm::MutexGuard<std::vector<int>> g = m.try_lock();
        ASSERT_EQ(g.status(), LockStatus::Locked);
        (*g).push_back(2);
        g.unlock();  // early, by hand
        EXPECT_FALSE(g);
        EXPECT_FALSE(m.locked());
        EXPECT_EQ(m.lock_until(Clock::now())->size(), 2U);  // a deadline that has passed: free
      },
      TimeMode::Virtual);
  // [usage]
}

TEST(Mutex, ABusyMutexIsBusyForTryLockAndTimesOutAtTheDeadline) {
  smarm::run(
      [] {
        Mutex<int> m(5);
        auto held = m.try_lock();
        ASSERT_TRUE(held);
        JoinHandle other = smarm::spawn([&] {
          EXPECT_EQ(m.try_lock().status(), LockStatus::Busy);
          const Clock::time_point start = Clock::now();
          auto g = m.lock_for(10ms);
          EXPECT_EQ(g.status(), LockStatus::TimedOut);
          EXPECT_EQ(Clock::now() - start, Clock::duration(10ms));         // exactly then
          EXPECT_EQ(m.lock_until(start).status(), LockStatus::TimedOut);  // passed: at once
          EXPECT_EQ(m.waiters(), 0U);
        });
        other.join();
        EXPECT_EQ(*held, 5);
        EXPECT_EQ(timers_pending(), 0U);
      },
      TimeMode::Virtual);
}

TEST(Mutex, AThousandWaitersGetTheLockInTheOrderTheyCameWhileDeadlinesFireAmongThem) {
  // Waiter i waits an hour, unless i % 3 == 1: then its deadline comes half a millisecond after
  // i/2 ms, while it is still queued (each holder keeps the lock for a millisecond). Lock
  // hand-offs happen on whole milliseconds, deadlines between them: every short waiter times out
  // in the queue, among the hand-offs, and every other waiter gets the lock, in the order it came.
  constexpr int kWaiters = 1000;
  Mutex<std::vector<int>> m;
  std::vector<int> timed_out;
  std::size_t queued = 0;  // the waiters still queued, by the test's own count
  std::size_t acquired_while_others_timed_out = 0;
  smarm::run(
      [&] {
        const Clock::time_point start = Clock::now();
        auto g = m.try_lock();
        ASSERT_TRUE(g);
        for (int i = 0; i < kWaiters; ++i) {
          smarm::spawn([&, i] {
            const Clock::duration wait =
                i % 3 == 1 ? Clock::duration(1ms) * (i / 2) + 500us : Clock::duration(1h);
            ++queued;
            auto mine = m.lock_for(wait);
            --queued;
            if (!mine) {
              EXPECT_EQ(mine.status(), LockStatus::TimedOut) << i;
              EXPECT_EQ(Clock::now() - start, wait) << "waiter " << i << " timed out off time";
              EXPECT_EQ(m.waiters(), queued) << "waiter " << i << " still queued";
              timed_out.push_back(i);
              return;
            }
            // Holding the lock, it is off the queue, and the others are on it.
            EXPECT_EQ(m.waiters(), queued) << i;
            mine->push_back(i);
            if (!timed_out.empty() && timed_out.size() < std::size_t{kWaiters / 3}) {
              ++acquired_while_others_timed_out;
            }
            smarm::sleep_for(1ms);
          });
        }
        // Every waiter runs and queues (a yield lets 64 spawned actors run before the yielder).
        while (m.waiters() < std::size_t{kWaiters}) smarm::yield_now();
        EXPECT_EQ(m.waiters(), std::size_t{kWaiters});
        EXPECT_EQ(timers_pending(), std::uint32_t{kWaiters});
        smarm::sleep_for(1ms);
      },  // the guard goes: waiter 0 first
      TimeMode::Virtual);
  std::vector<int> expected_order;
  std::vector<int> expected_timed_out;
  for (int i = 0; i < kWaiters; ++i) {
    (i % 3 == 1 ? expected_timed_out : expected_order).push_back(i);
  }
  smarm::run([&] {
    auto all = m.try_lock();
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, expected_order);
  });
  EXPECT_EQ(timed_out, expected_timed_out);
  EXPECT_GT(acquired_while_others_timed_out, std::size_t{kWaiters / 3})
      << "the deadlines did not fire among the hand-offs";
  EXPECT_EQ(m.waiters(), 0U);
}

TEST(Mutex, ATimedOutWaiterLeavesTheQueueAtOnceAndTheLockGoesToTheNextLiveOne) {
  std::vector<char> order;
  smarm::run(
      [&] {
        Mutex<int> m;
        auto g = m.try_lock();
        auto waiter = [&](char name, Clock::duration wait) {
          return smarm::spawn([&, name, wait] {
            if (auto mine = m.lock_for(wait)) {
              order.push_back(name);
            } else {
              order.push_back(static_cast<char>(name - 'A' + 'a'));  // lower case: timed out
            }
          });
        };
        JoinHandle a = waiter('A', 1h);
        JoinHandle b = waiter('B', 10ms);
        JoinHandle c = waiter('C', 1h);
        smarm::yield_now();
        EXPECT_EQ(m.waiters(), 3U);
        smarm::sleep_for(20ms);  // B's deadline comes first
        EXPECT_EQ(m.waiters(), 2U) << "the timed-out waiter is still queued";
        EXPECT_EQ(timers_pending(), 2U) << "the timed-out waiter left a timer";
        g.unlock();  // to A, then C: not to B
        a.join();
        b.join();
        c.join();
        EXPECT_FALSE(m.locked());
        EXPECT_EQ(timers_pending(), 0U);
      },
      TimeMode::Virtual);
  EXPECT_EQ(std::string(order.begin(), order.end()), "bAC");
}

TEST(Mutex, AWaiterWhoseDeadlineCameAsTheLockWasReleasedIsSkipped) {
  // The holder's sleep and B's lock end at the same instant; the holder's timer was armed first,
  // so it runs first, and unlocks while B is runnable with its deadline passed but has not run:
  // the lock goes to A, the next waiter still waiting, and B leaves the queue.
  std::vector<char> order;
  smarm::run(
      [&] {
        Mutex<int> m;
        auto g = m.try_lock();
        const Clock::time_point deadline = Clock::now() + 10ms;
        JoinHandle b = smarm::spawn([&] {
          EXPECT_EQ(m.lock_until(deadline).status(), LockStatus::TimedOut);
          order.push_back('b');
        });
        JoinHandle a = smarm::spawn([&] {
          if (m.lock_for(1h)) order.push_back('A');
        });
        smarm::sleep_until(deadline);  // armed before B's: the first to fire
        EXPECT_EQ(m.waiters(), 2U);
        g.unlock();
        EXPECT_EQ(m.waiters(), 0U) << "B did not leave the queue when it was skipped";
        EXPECT_TRUE(m.locked());  // A holds it before it even runs: no barging
        EXPECT_EQ(m.try_lock().status(), LockStatus::Busy);
        a.join();
        b.join();
      },
      TimeMode::Virtual);
  EXPECT_EQ(std::string(order.begin(), order.end()), "bA");
}

TEST(Mutex, AHolderThatThrowsReleasesTheLock) {
  smarm::run(
      [] {
        Mutex<int> m;
        JoinHandle holder = smarm::spawn([&] {
          auto g = m.try_lock();
          ASSERT_TRUE(g);
          smarm::yield_now();  // the waiter queues
          throw std::runtime_error("failed while holding the lock");
        });
        JoinHandle waiter = smarm::spawn([&] {
          auto g = m.lock_for(1h);
          ASSERT_TRUE(g);
          *g = 1;
        });
        EXPECT_FALSE(holder.join().ok());
        EXPECT_TRUE(waiter.join().ok());
        auto g = m.try_lock();
        ASSERT_TRUE(g);
        EXPECT_EQ(*g, 1);
      },
      TimeMode::Virtual);
}

TEST(Mutex, AStoppedHolderReleasesTheLockAndAStoppedWaiterLeavesTheQueue) {
  smarm::run(
      [] {
        Mutex<int> m;
        JoinHandle holder = smarm::spawn([&] {
          auto g = m.try_lock();
          smarm::sleep_for(1h);  // holding the lock
        });
        std::vector<int> got;
        auto waiter = [&](int id) {
          return smarm::spawn([&, id] {
            if (auto g = m.lock_for(1h)) got.push_back(id);
          });
        };
        JoinHandle first = waiter(1);
        JoinHandle second = waiter(2);
        smarm::yield_now();
        ASSERT_EQ(m.waiters(), 2U);
        EXPECT_TRUE(smarm::stop(first.pid()));  // a waiter stopped: it leaves the queue
        EXPECT_FALSE(first.join().ok());
        EXPECT_EQ(m.waiters(), 1U);
        EXPECT_TRUE(smarm::stop(holder.pid()));  // the holder stopped in its sleep: it unwinds
        EXPECT_FALSE(holder.join().ok());
        EXPECT_TRUE(second.join().ok());
        EXPECT_EQ(got, std::vector<int>{2});
        EXPECT_FALSE(m.locked());
        EXPECT_EQ(timers_pending(), 0U);
      },
      TimeMode::Virtual);
}

TEST(Mutex, AWaiterStoppedAfterTheLockWasHandedToItPassesItOn) {
  // The unlock makes the first waiter the holder and wakes it; it is stopped before it runs, so
  // its lock throws ActorCancelled: the lock it was given goes on to the next waiter.
  std::vector<int> got;
  smarm::run(
      [&] {
        Mutex<int> m;
        auto g = m.try_lock();
        auto waiter = [&](int id) {
          return smarm::spawn([&, id] {
            if (auto mine = m.lock_for(1h)) got.push_back(id);
          });
        };
        JoinHandle first = waiter(1);
        JoinHandle second = waiter(2);
        smarm::yield_now();
        g.unlock();
        EXPECT_EQ(m.waiters(), 1U);  // the first holds it, runnable
        EXPECT_TRUE(smarm::stop(first.pid()));
        EXPECT_FALSE(first.join().ok());
        EXPECT_TRUE(second.join().ok());
        EXPECT_FALSE(m.locked());
      },
      TimeMode::Virtual);
  EXPECT_EQ(got, std::vector<int>{2});
}

TEST(Mutex, AHolderUnwoundByADeadlockReleasesTheLock) {
  Mutex<int> m;
  EXPECT_THROW(smarm::run([&] {
                 auto g = m.try_lock();
                 smarm::park();  // nothing can unpark it: a deadlock, unwound
               }),
               smarm::Deadlock);
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, MisusesAreClearErrors) {
  Mutex<int> m;
  EXPECT_THROW((void)m.try_lock(), smarm::NotInActor);
  EXPECT_THROW((void)m.lock_for(1s), smarm::NotInActor);
  smarm::run(
      [&] {
        auto g = m.lock_for(1s);
        ASSERT_TRUE(g);
        // Locking again what the actor holds would wait for itself.
        EXPECT_NE(error_of([&] { (void)m.lock_for(1s); }).find("self-deadlock"), std::string::npos);
        EXPECT_NE(error_of([&] { (void)m.try_lock(); }).find("self-deadlock"), std::string::npos);
        g.unlock();
        // No wait without end.
        EXPECT_NE(
            error_of([&] { (void)m.lock_until(Clock::time_point::max()); }).find("without end"),
            std::string::npos);
        EXPECT_NE(error_of([&] { (void)m.lock_for(Clock::duration::max()); }).find("without end"),
                  std::string::npos);
        EXPECT_FALSE(m.locked());
        // A guard that holds no lock gives no access to the value.
        auto held = m.try_lock();
        smarm::spawn([&] {
          auto busy = m.try_lock();
          EXPECT_NE(error_of([&] { (void)*busy; }).find("held by another actor"),
                    std::string::npos);
          auto late = m.lock_for(1ms);
          EXPECT_NE(error_of([&] { (void)*late; }).find("timed out"), std::string::npos);
        })
            .join()
            .rethrow_if_failed();
        held.unlock();
        EXPECT_NE(error_of([&] { (void)*held; }).find("unlocked already"), std::string::npos);
      },
      TimeMode::Virtual);
}

TEST(MutexDeathTest, DestroyingAHeldMutexAbortsWithAReport) {
  EXPECT_DEATH(smarm::run([] {
                 auto m = std::make_unique<Mutex<int>>();
                 auto g = m->try_lock();
                 m.reset();
               }),
               "smarm: a Mutex destroyed while actor <[0-9.]+> holds it");
}

}  // namespace
