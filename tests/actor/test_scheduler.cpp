// test_scheduler.cpp — the scheduler's internal contract (src/scheduler.hpp), checked from the
// inside: a mechanism that wakes an actor twice, or otherwise moves one against the life an actor
// may lead, stops the process in the builds that run the tests, instead of corrupting a list.
// Registered only where the checks are compiled in (SMARM_CHECKS, on with the tests by default).
#include <gtest/gtest.h>

#include <smarm/actor.hpp>

#include "scheduler.hpp"

namespace {

using smarm::detail::Scheduler;
using smarm::detail::Slot;
using smarm::detail::Wait;

// What a buggy mechanism would do: wake a waiting actor, and then wake it again before it runs.
void wake_twice() {
  smarm::run([] {
    smarm::JoinHandle sleeper = smarm::spawn([] { smarm::park(); });
    smarm::yield_now();  // the sleeper runs and parks
    Scheduler& s = *Scheduler::of_thread();
    Slot& slot = *s.find(sleeper.pid());
    ASSERT_TRUE(Scheduler::waits_for(slot, Wait::Park));
    s.ready(slot);
    s.ready(slot);  // the second wake would queue the slot twice
  });
}

TEST(SchedulerDeathTest, ADoubleWakeIsCaught) {
  EXPECT_DEATH(wake_twice(), "smarm: internal check failed at .*scheduler.*woken twice");
}

// The wait/wake pair as a mechanism uses it: record where the waker will find the actor, wait,
// and be woken once, by the waker, with ready().
TEST(Scheduler, WaitReturnsAfterOneReady) {
  smarm::run([] {
    Slot* waiter = nullptr;
    bool woken = false;
    smarm::JoinHandle h = smarm::spawn([&] {
      Scheduler& s = *Scheduler::of_thread();
      waiter = &s.running();
      woken = s.wait(Wait::Park);
    });
    smarm::yield_now();
    ASSERT_NE(waiter, nullptr);
    EXPECT_TRUE(Scheduler::waits_for(*waiter, Wait::Park));
    Scheduler::of_thread()->ready(*waiter);
    EXPECT_FALSE(Scheduler::waits_for(*waiter, Wait::Park));
    h.join();
    EXPECT_TRUE(woken);
  });
}

}  // namespace
