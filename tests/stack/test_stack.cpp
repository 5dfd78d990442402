// test_stack.cpp — guarded stacks: whole pages, recycling without new mappings, the mapping budget
// and its canary fallback, and the two ways a SIGSEGV ends (overflow report, or default).
#include <smarm/context.hpp>
#include <smarm/stack.hpp>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "../support/overflow.hpp"

namespace {

using smarm::Context;
using smarm::Stack;
using smarm::StackPool;

std::size_t page() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

// Runs what a measurement below runs once beforehand, so that the allocator's (and, in sanitizer
// builds, the sanitizer's) own first-use mappings are not counted as the pool's.
void warm_up(StackPool::Options options, std::size_t stacks) {
  StackPool pool(options);
  std::vector<Stack> held;
  for (std::size_t i = 0; i < stacks; ++i) held.push_back(pool.acquire());
}

std::size_t mapping_count() {
  std::ifstream maps("/proc/self/maps");
  std::size_t lines = 0;
  for (std::string line; std::getline(maps, line);) ++lines;
  return lines;
}

TEST(Stack, SizeIsWholePagesAndAllOfItIsWritable) {
  StackPool pool;
  Stack stack = pool.acquire(1000);
  ASSERT_TRUE(stack);
  EXPECT_EQ(stack.size(), page());
  EXPECT_TRUE(stack.guarded());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(stack.usable().data()) % page(), 0u);
  for (std::byte& b : stack.usable()) b = std::byte{0x5a};
  EXPECT_EQ(pool.acquire(3 * page() + 1).size(), 4 * page());
}

TEST(Stack, ReleasedStacksAreReusedWithoutNewMappings) {
  StackPool pool;
  std::byte* first = nullptr;
  {
    Stack s = pool.acquire();
    first = s.usable().data();
  }
  const StackPool::Stats before = pool.stats();
  for (int i = 0; i < 10000; ++i) {
    Stack s = pool.acquire();
    ASSERT_EQ(s.usable().data(), first) << "the most recently released stack comes back first";
  }
  EXPECT_EQ(pool.stats().slabs, before.slabs);
  EXPECT_EQ(pool.stats().in_use, 0u);
  EXPECT_EQ(pool.stats().free, 1u);
}

TEST(Stack, MovingAHandleMovesOwnership) {
  StackPool pool;
  Stack a = pool.acquire();
  Stack b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): an empty handle is the documented state
  EXPECT_TRUE(b);
  EXPECT_EQ(pool.stats().in_use, 1u);
  b.reset();
  EXPECT_FALSE(b);
  EXPECT_EQ(pool.stats().in_use, 0u);
}

TEST(Stack, AContextRunsDeepOnAPooledStack) {
  StackPool pool;
  Stack stack = pool.acquire(1024 * 1024);
  struct State {
    Context main, ctx;
    std::size_t touched = 0;
  } s;
  s.ctx = Context::make(
      stack.usable(),
      [](void* arg) {
        // Use most of the stack: 768 KiB of a 1 MiB stack, in one frame's array.
        auto* s = static_cast<State*>(arg);
        std::vector<std::byte> heap(1);
        volatile std::byte big[768 * 1024];
        for (std::size_t i = 0; i < sizeof big; i += 4096) big[i] = heap[0];
        s->touched = sizeof big;
      },
      &s, s.main);
  s.main.switch_to(s.ctx);
  EXPECT_EQ(s.touched, 768u * 1024);
}

TEST(Stack, AGuardedStackCostsTwoMappings) {
  constexpr std::size_t kStacks = 200;
  warm_up({}, kStacks);
  StackPool pool;
  std::vector<Stack> stacks;
  stacks.reserve(kStacks);
  const std::size_t before = mapping_count();
  for (std::size_t i = 0; i < kStacks; ++i) stacks.push_back(pool.acquire());
  const std::size_t added = mapping_count() - before;
  EXPECT_EQ(pool.stats().guarded, kStacks);
  // Guarded slabs hold 64 stacks; each slot of a slab is a guard mapping and a memory mapping.
  const std::size_t slots = (kStacks + 63) / 64 * 64;
  EXPECT_EQ(pool.stats().mappings, 2 * slots);
  EXPECT_GE(added, 2 * slots - 8);  // what the kernel counts (a few mappings of the heap may
  EXPECT_LE(added, 2 * slots + 8);  // come and go meanwhile)
}

TEST(Stack, PastTheBudgetStacksAreCanariesThatCostOneMappingPerSlab) {
  warm_up({.max_guarded = 10}, 200);
  StackPool pool(StackPool::Options{.max_guarded = 10});
  std::vector<Stack> stacks;
  stacks.reserve(200);
  const std::size_t before = mapping_count();
  for (int i = 0; i < 200; ++i) stacks.push_back(pool.acquire());
  EXPECT_EQ(pool.stats().guarded, 10u);
  EXPECT_EQ(pool.stats().canary, 190u);
  EXPECT_TRUE(stacks[9].guarded());
  EXPECT_FALSE(stacks[10].guarded());
  EXPECT_LE(mapping_count() - before, 2 * 10 + 1 + 8);
  EXPECT_FALSE(stacks[10].overflowed());
  EXPECT_GT(StackPool::mapping_budget(), 1000u);
}

TEST(Stack, StacksPastKeepFreeGiveTheirMemoryBack) {
  StackPool pool(StackPool::Options{.keep_free = 0});
  std::byte* low = nullptr;
  {
    Stack s = pool.acquire();
    low = s.usable().data();
    for (std::byte& b : s.usable()) b = std::byte{0xab};
  }
  Stack again = pool.acquire();
  ASSERT_EQ(again.usable().data(), low);
  EXPECT_EQ(again.usable()[0], std::byte{0});  // MADV_DONTNEED: fresh zero pages
  EXPECT_EQ(again.usable()[again.size() - 1], std::byte{0});
}

void overflow_in_a_context(StackPool& pool) {
  Stack stack = pool.acquire(64 * 1024);
  Context main;
  Context ctx = Context::make(
      stack.usable(), [](void*) { smarm_test::recurse(0); }, nullptr, main);
  main.switch_to(ctx);
}

TEST(StackDeathTest, OverflowIntoTheGuardPageIsReportedWithTheStackSize) {
  EXPECT_DEATH(
      {
        StackPool pool;
        overflow_in_a_context(pool);
      },
      "smarm: stack overflow: the context running on the stack at 0x[0-9a-f]+-0x[0-9a-f]+ "
      "\\(65536 bytes\\) ran into its guard page at 0x[0-9a-f]+");
}

TEST(StackDeathTest, OverflowIntoACanaryZoneIsReportedWhenTheStackIsReleased) {
  EXPECT_DEATH(
      {
        StackPool pool(StackPool::Options{.max_guarded = 0});
        Stack stack = pool.acquire();
        ASSERT_FALSE(stack.guarded());
        // What an overflow does: write below the lowest usable byte.
        *(stack.usable().data() - 8) = std::byte{1};
        if (!stack.overflowed()) std::exit(0);
      },
      "smarm: stack overflow: .*\\(65536 bytes\\) wrote into the canary zone below it");
}

// Matches a death's stderr that does not mention smarm: the fault was not taken for an overflow.
class SaysNothingOfSmarm : public testing::MatcherInterface<const std::string&> {
 public:
  bool MatchAndExplain(const std::string& output,
                       testing::MatchResultListener* /*listener*/) const override {
    return output.find("smarm") == std::string::npos;
  }
  void DescribeTo(std::ostream* os) const override { *os << "does not mention smarm"; }
};

TEST(StackDeathTest, AnyOtherSegfaultKeepsItsDefaultBehaviour) {
  StackPool pool;  // our handler is installed, and guarded slabs exist
  Stack stack = pool.acquire();
  // A PROT_NONE page that is nobody's guard page: touching it is an ordinary segfault.
  void* page_of_nobody = mmap(nullptr, page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page_of_nobody, MAP_FAILED);
  auto* target = static_cast<volatile int*>(page_of_nobody);
#if SMARM_ASAN
  // Under AddressSanitizer the previous handler is ASan's, and it must still get the fault.
  EXPECT_DEATH({ *target = 1; }, "AddressSanitizer: SEGV");
#else
  EXPECT_EXIT({ *target = 1; }, testing::KilledBySignal(SIGSEGV),
              testing::MakeMatcher(new SaysNothingOfSmarm));
#endif
  munmap(page_of_nobody, page());
}

TEST(StackDeathTest, DestroyingAPoolWhileItsStacksAreHeldIsReported) {
  EXPECT_DEATH(
      {
        auto* pool = new StackPool;
        Stack held = pool->acquire();
        delete pool;
      },
      "StackPool destroyed while 1 of its stacks are still held");
}

}  // namespace
