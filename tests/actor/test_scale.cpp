// test_scale.cpp — a million actors alive at once on a default Linux: within vm.max_map_count,
// because past the mapping budget the stacks become canary stacks (chapter 2).
#include <smarm/actor.hpp>
#include <smarm/stack.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace {

std::size_t mapping_count() {
  std::ifstream maps("/proc/self/maps");
  std::size_t lines = 0;
  for (std::string line; std::getline(maps, line);) ++lines;
  return lines;
}

std::size_t max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  std::size_t n = 65530;
  f >> n;
  return n;
}

TEST(ActorScale, AMillionActorsAliveAtOnce) {
  constexpr std::size_t kActors = 1'000'000;
  std::size_t woke = 0;
  std::size_t alive_at_peak = 0;
  std::size_t maps_at_peak = 0;
  smarm::StackPool::Stats stats;
  smarm::run([&] {
    std::vector<smarm::JoinHandle> handles;
    handles.reserve(kActors);
    for (std::size_t i = 0; i < kActors; ++i) {
      handles.push_back(smarm::spawn([&woke] {
        smarm::park();
        ++woke;
      }));
    }
    smarm::yield_now();  // every one of them runs and parks: a million alive at once
    stats = smarm::StackPool::local().stats();
    alive_at_peak = stats.in_use;
    maps_at_peak = mapping_count();
    EXPECT_EQ(woke, 0u);
    for (smarm::JoinHandle& h : handles) smarm::unpark(h.pid());
    for (smarm::JoinHandle& h : handles) EXPECT_TRUE(h.join().ok());
  });
  EXPECT_EQ(woke, kActors);
  EXPECT_EQ(alive_at_peak, kActors + 1);  // and the first actor
  EXPECT_LT(maps_at_peak, max_map_count());
  EXPECT_GT(stats.guarded, 0u);
  EXPECT_GT(stats.canary, 0u) << "a million guarded stacks would need two million mappings";
  EXPECT_EQ(smarm::StackPool::local().stats().in_use, 0u);
}

}  // namespace
