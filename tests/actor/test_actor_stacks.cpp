// test_actor_stacks.cpp — what the scheduler does with its actors' stacks: a canary stack is
// checked whenever its actor switches away, so an overflow into a neighbour is reported before
// that neighbour runs; and the pool gives back a burst's memory when the scheduler is idle.
#include <smarm/actor.hpp>
#include <smarm/stack.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../support/overflow.hpp"

namespace {

using smarm::StackPool;

// Runs `f` on a thread of its own, whose pool is new: its stacks are carved in order.
template <class F>
void on_a_new_thread(F f) {
  std::thread t(f);
  t.join();
}

// Matches a death's stderr that holds the overflow report and no sign that actor A ran.
class ReportedBeforeARan : public testing::MatcherInterface<const std::string&> {
 public:
  bool MatchAndExplain(const std::string& output,
                       testing::MatchResultListener* /*listener*/) const override {
    const auto report = output.find("smarm: stack overflow: actor <");
    return report != std::string::npos &&
           output.find("wrote into the canary zone below it", report) != std::string::npos &&
           output.find("A ran") == std::string::npos;
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "reports the overflow, and actor A never ran";
  }
};

// [canary_switch_test]
// Actor B overflows its canary stack by more than the zone, into the top of actor A's stack just
// below it, then wakes A and yields. A must never run: the check made as B switches away reports
// the overflow first.
TEST(ActorStacksDeathTest, ACanaryOverflowIsReportedBeforeTheNeighbourRuns) {
  const auto program = [] {
    on_a_new_thread([] {
      StackPool& pool = StackPool::local();
      pool.set_options({.max_guarded = 0});
      // Slots 0, 1, 2 of one canary slab, handed out in that order: the first actor, A, B.
      std::vector<smarm::Stack> slots;
      for (int i = 0; i < 3; ++i) slots.push_back(pool.acquire());
      const std::byte* b_low = slots[2].usable().data();
      while (!slots.empty()) slots.pop_back();  // released last to first
      smarm::run([b_low] {
        smarm::JoinHandle a = smarm::spawn([] {
          smarm::park();
          std::fputs("A ran\n", stderr);
        });
        smarm::yield_now();  // A parks
        smarm::JoinHandle b = smarm::spawn([b_low, a_pid = a.pid()] {
          smarm_test::recurse_below(b_low - StackPool::canary_size - 2048);
          smarm::unpark(a_pid);
          smarm::yield_now();
        });
        b.join();
        a.join();
      });
    });
  };
  EXPECT_DEATH(program(), testing::MakeMatcher(new ReportedBeforeARan));
}
// [canary_switch_test]

// A write deep in the zone, below what the check at a switch reads: found when the actor ends and
// its stack goes back to the pool, and still reported under the actor's name.
TEST(ActorStacksDeathTest, ACanaryOverflowFoundAtTheEndNamesTheActor) {
  const auto program = [] {
    on_a_new_thread([] {
      StackPool& pool = StackPool::local();
      pool.set_options({.max_guarded = 0});
      std::vector<smarm::Stack> slots;
      for (int i = 0; i < 2; ++i) slots.push_back(pool.acquire());
      std::byte* low = slots[1].usable().data();  // the spawned actor's stack, as below
      while (!slots.empty()) slots.pop_back();
      smarm::run([low] {
        smarm::spawn([low] { *(low - StackPool::canary_quick - 1000) = std::byte{1}; }).join();
      });
    });
  };
  EXPECT_DEATH(program(),
               "smarm: stack overflow: actor <1\\.[0-9]+> running on the stack at .* wrote into "
               "the canary zone below it");
}

// [idle_test]
TEST(ActorStacks, ABurstsStacksStayCommittedAfterRun) {
  on_a_new_thread([] {
    StackPool& pool = StackPool::local();
    smarm::run([] {
      std::vector<smarm::JoinHandle> burst;
      for (int i = 0; i < 1000; ++i) burst.push_back(smarm::spawn([] {}));
      for (smarm::JoinHandle& h : burst) h.join();
    });
    // Within the decay period: every stack is ready for the next burst.
    EXPECT_EQ(pool.stats().committed, 1001u);
  });
}

TEST(ActorStacks, TheSchedulerLetsThePoolGiveMemoryBackWhenIdle) {
  on_a_new_thread([] {
    StackPool& pool = StackPool::local();
    pool.set_options({.keep_free = 8, .decay = std::chrono::milliseconds(0)});
    smarm::run([] {
      std::vector<smarm::JoinHandle> burst;
      for (int i = 0; i < 1000; ++i) burst.push_back(smarm::spawn([] {}));
      for (smarm::JoinHandle& h : burst) h.join();
    });
    // run() ended when nothing was runnable: an idle point, where the decay gives back all but
    // keep_free stacks.
    EXPECT_EQ(pool.stats().committed, 8u);
    EXPECT_GE(pool.stats().purges, 1u);
    EXPECT_LE(pool.stats().purges, pool.stats().slabs);
  });
}
// [idle_test]

}  // namespace
