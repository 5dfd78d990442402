// test_timer_wheel.cpp — the timer wheel of stage 06 against a plain ordered model: every deadline
// fires at its time, in order, equal ones in the order armed, across all the wheel's levels;
// cancelled timers never fire; the bound never passes the earliest deadline.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "timer_wheel.hpp"

namespace {

using smarm::detail::TimerWheel;

TEST(TimerWheel, FiresEveryDeadlineInOrderAndNeverACancelledOne) {
  constexpr std::uint32_t kIds = 2000;
  TimerWheel wheel;
  std::multimap<std::pair<std::uint64_t, std::uint64_t>, std::uint32_t> model;  // (deadline, arm#)
  std::vector<std::uint64_t> deadline_of(kIds, 0);
  std::vector<std::uint64_t> armed_as(kIds, 0);
  std::mt19937_64 random(11);
  std::uint64_t now = 1'000'000'007;  // not on a window boundary
  std::uint64_t arms = 0;
  for (int round = 0; round < 200'000; ++round) {
    const std::uint32_t id = random() % kIds;
    const int what = static_cast<int>(random() % 10);
    if (what < 5 && !wheel.armed(id)) {
      // Any level: 0 to 2^40 ns ahead, with many collisions on small offsets.
      const std::uint64_t ahead =
          random() % 4 == 0 ? random() % 8 : random() % (1ULL << (random() % 41));
      deadline_of[id] = now + ahead;
      armed_as[id] = arms++;
      wheel.arm(id, deadline_of[id]);
      model.emplace(std::make_pair(deadline_of[id], armed_as[id]), id);
    } else if (what < 7 && wheel.armed(id)) {
      wheel.cancel(id);
      model.erase(model.find({deadline_of[id], armed_as[id]}));
    } else {
      if (!model.empty()) {
        EXPECT_LE(wheel.bound(), model.begin()->first.first);
      }
      now += random() % (1ULL << (random() % 30));  // the clock moves on
      for (std::uint32_t fired; (fired = wheel.pop(now)) != TimerWheel::kNone;) {
        ASSERT_FALSE(model.empty()) << "fired a timer that was not pending";
        EXPECT_EQ(fired, model.begin()->second) << "out of order";
        EXPECT_LE(deadline_of[fired], now) << "fired early";
        EXPECT_TRUE(wheel.take_fired(fired));
        model.erase(model.begin());
      }
      if (!model.empty()) {
        EXPECT_GT(model.begin()->first.first, now) << "left one that was due";
      }
    }
    ASSERT_EQ(wheel.size(), model.size());
  }
}

TEST(TimerWheel, TheBoundLeadsToTheEarliestDeadlineInAFewSteps) {
  TimerWheel wheel;
  const std::uint64_t deadline = (1ULL << 50) + 12'345;
  wheel.arm(0, deadline);
  int steps = 0;
  std::uint32_t fired = TimerWheel::kNone;
  while (fired == TimerWheel::kNone) {
    const std::uint64_t bound = wheel.bound();
    ASSERT_LE(bound, deadline);
    fired = wheel.pop(bound);  // as the loop does: sleep until the bound, then pop
    ++steps;
  }
  EXPECT_EQ(fired, 0U);
  EXPECT_LE(steps, 11);  // at most one a level
  EXPECT_EQ(wheel.bound(), UINT64_MAX);
}

}  // namespace
