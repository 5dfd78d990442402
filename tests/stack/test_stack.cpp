// test_stack.cpp — guarded stacks: whole pages, never huge ones, recycling without new mappings
// or page faults, memory given back lazily and in bulk, the mapping budget and its canary fallback,
// what the guard and canary zones catch, and the ways a SIGSEGV ends (overflow report, or default).
#include <smarm/context.hpp>
#include <smarm/stack.hpp>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
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

// Whether the kernel holds a page of memory at `p` now.
bool resident(const std::byte* p) {
  const auto page_start = reinterpret_cast<std::uintptr_t>(p) / page() * page();
  unsigned char in_core = 0;
  EXPECT_EQ(mincore(reinterpret_cast<void*>(page_start), page(), &in_core), 0);
  return (in_core & 1U) != 0;
}

std::int64_t minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Writes the top page of a stack, as a new context does (its start record and first frame).
std::byte* touch_top(const Stack& s) {
  std::byte* top = s.usable().data() + s.size() - 1;
  *static_cast<volatile std::byte*>(top) = std::byte{1};
  return top;
}

// Acquires `n` stacks, writes the top page of each, and returns them (still held).
std::vector<Stack> burst(StackPool& pool, std::size_t n) {
  std::vector<Stack> held;
  held.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    held.push_back(pool.acquire());
    touch_top(held.back());
  }
  return held;
}

// The VmFlags line of /proc/self/smaps for the mapping that holds `p` ("rd wr mr mw me ac nh"),
// or "" if no mapping holds it.
std::string vm_flags(const void* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    // A mapping's first line starts "start-end " in hex; its fields follow, one a line.
    const std::size_t dash = line.find('-');
    const std::size_t space = line.find(' ');
    if (dash != std::string::npos && space != std::string::npos && dash < space &&
        line.find_first_not_of("0123456789abcdef") == dash) {
      const std::uintptr_t start = std::stoull(line.substr(0, dash), nullptr, 16);
      const std::uintptr_t end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
      inside = start <= at && at < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.substr(8) + " ";
    }
  }
  return "";
}

bool no_huge_pages(const void* p) { return vm_flags(p).find(" nh ") != std::string::npos; }

std::vector<const std::byte*> tops_of(const std::vector<Stack>& stacks) {
  std::vector<const std::byte*> tops;
  tops.reserve(stacks.size());
  for (const Stack& s : stacks) tops.push_back(s.usable().data() + s.size() - 1);
  return tops;
}

std::size_t resident_count(const std::vector<const std::byte*>& pages) {
  std::size_t n = 0;
  for (const std::byte* p : pages) n += resident(p) ? 1 : 0;
  return n;
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

TEST(Stack, PastTheBudgetStacksAreCanariesThatCostTwoMappingsPerSlab) {
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
  EXPECT_LE(mapping_count() - before, 2 * 10 + 2 + 8);  // a canary slab and its guard page
  EXPECT_FALSE(stacks[10].overflowed());
  EXPECT_GT(StackPool::mapping_budget(), 1000u);
}

// With transparent huge pages "always", one touched page of a stack could bring a 2 MiB page for
// it and its neighbours: both kinds of slab ask the kernel for small pages only (MADV_NOHUGEPAGE,
// "nh" among the mapping's flags).
TEST(Stack, SlabsAreNeverBackedByHugePages) {
  const std::size_t bytes = 4 * page();
  void* control = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(control, MAP_FAILED);
  const bool reported = madvise(control, bytes, MADV_NOHUGEPAGE) == 0 && no_huge_pages(control);
  munmap(control, bytes);
  if (!reported) {
    GTEST_SKIP() << "this kernel (or emulator) has no transparent huge pages, or does not show "
                    "MADV_NOHUGEPAGE in /proc/self/smaps";
  }
  StackPool pool(StackPool::Options{.max_guarded = 1});
  const Stack guarded = pool.acquire();
  const Stack canary = pool.acquire();
  ASSERT_TRUE(guarded.guarded());
  ASSERT_FALSE(canary.guarded());
  for (const Stack* s : {&guarded, &canary}) {
    const std::byte* top = touch_top(*s);
    EXPECT_TRUE(no_huge_pages(s->usable().data())) << vm_flags(s->usable().data());
    EXPECT_TRUE(no_huge_pages(top)) << vm_flags(top);
  }
}

TEST(Stack, ReleasedStacksStayCommittedAndComeBackWithoutAPageFault) {
  constexpr std::size_t kStacks = 2000;
  StackPool pool;
  const std::vector<const std::byte*> tops = [&] {
    const std::vector<Stack> held = burst(pool, kStacks);
    return tops_of(held);
  }();  // the burst ends: every stack goes back to the pool
  EXPECT_EQ(pool.stats().committed, kStacks);
  EXPECT_EQ(pool.stats().purges, 0u) << "no madvise when a stack is released";
  EXPECT_EQ(resident_count(tops), kStacks);

  std::vector<Stack> again;
  again.reserve(kStacks);
  const std::int64_t before = minor_faults();
  for (std::size_t i = 0; i < kStacks; ++i) {
    again.push_back(pool.acquire());
    touch_top(again.back());
  }
  const std::int64_t faults = minor_faults() - before;
  EXPECT_LT(faults, static_cast<std::int64_t>(kStacks / 10)) << "a second burst reuses warm stacks";
  EXPECT_EQ(pool.stats().slabs, (kStacks + 63) / 64) << "and maps nothing new";
}

// [promise_tests]
TEST(Stack, AfterABurstMemoryGoesBackBetweenOneAndTwoDecayPeriodsInBulk) {
  constexpr std::size_t kStacks = 1000;
  const StackPool::Options options{.keep_free = 64, .decay = std::chrono::seconds(1)};
  StackPool pool(options);                              // its first decay period begins
  const auto start = std::chrono::steady_clock::now();  // no earlier than that
  const std::vector<const std::byte*> tops = [&] {
    const std::vector<Stack> held = burst(pool, kStacks);
    return tops_of(held);
  }();
  const std::size_t slabs = pool.stats().slabs;

  pool.idle(start + std::chrono::milliseconds(999));  // within the first period: nothing
  EXPECT_EQ(resident_count(tops), kStacks);
  pool.idle(start + std::chrono::seconds(1));  // one period: the stacks were used during it
  EXPECT_EQ(pool.stats().committed, kStacks);
  EXPECT_EQ(resident_count(tops), kStacks);

  pool.idle(start + std::chrono::seconds(2));  // free for a whole period: given back
  EXPECT_EQ(pool.stats().committed, options.keep_free);
  EXPECT_EQ(resident_count(tops), options.keep_free);
  for (std::size_t i = kStacks - options.keep_free; i < kStacks; ++i) {
    EXPECT_TRUE(resident(tops[i])) << "the most recently released stacks stay committed";
  }
  EXPECT_LE(pool.stats().purges, slabs) << "one madvise per run of neighbouring stacks at most";
  EXPECT_GE(pool.stats().purges, 1u);
}

// [promise_tests]

TEST(Stack, AStackInUseDuringAPeriodIsNotGivenBack) {
  const StackPool::Options options{.keep_free = 0, .decay = std::chrono::seconds(1)};
  StackPool pool(options);
  const auto start = std::chrono::steady_clock::now();
  { const std::vector<Stack> held = burst(pool, 100); }
  pool.idle(start + std::chrono::seconds(1));
  {
    const std::vector<Stack> reused = burst(pool, 100);  // all of them come back into use
  }
  pool.idle(start + std::chrono::seconds(2));  // they were used in that period: kept
  EXPECT_EQ(pool.stats().committed, 100u);
  pool.idle(start + std::chrono::seconds(3));
  EXPECT_EQ(pool.stats().committed, 0u);
}

// The default decay: stacks that wait a few seconds between uses keep their memory.
TEST(Stack, ByDefaultAFreeStackKeepsItsMemoryForTenSeconds) {
  StackPool pool(StackPool::Options{.keep_free = 0});
  const auto start = std::chrono::steady_clock::now();
  { const std::vector<Stack> held = burst(pool, 100); }
  for (int s = 1; s <= 10; ++s) pool.idle(start + std::chrono::seconds(s));
  EXPECT_EQ(pool.stats().committed, 100u) << "free for ten seconds: kept";
  EXPECT_EQ(pool.stats().purges, 0u);
  pool.idle(start + std::chrono::seconds(20));  // free for two periods: given back
  EXPECT_EQ(pool.stats().committed, 0u);
}

TEST(Stack, TrimGivesBackEveryFreeStackAndTheyComeBackZeroed) {
  StackPool pool;
  std::vector<const std::byte*> tops;
  {
    std::vector<Stack> held = burst(pool, 300);
    for (std::byte& b : held[0].usable()) b = std::byte{0xab};
    tops = tops_of(held);
  }
  EXPECT_EQ(pool.trim(), 300 * StackPool::default_size);
  EXPECT_EQ(pool.stats().committed, 0u);
  EXPECT_EQ(resident_count(tops), 0u);
  EXPECT_EQ(pool.trim(), 0u);
  std::vector<Stack> again;
  for (int i = 0; i < 300; ++i) again.push_back(pool.acquire());
  for (const Stack& s : again) {
    ASSERT_EQ(s.usable()[0], std::byte{0});  // MADV_DONTNEED: fresh zero pages
    ASSERT_EQ(s.usable()[s.size() - 1], std::byte{0});
  }
}

TEST(Stack, DecayZeroGivesBackAtEveryIdle) {
  StackPool pool(StackPool::Options{.keep_free = 2, .decay = std::chrono::milliseconds(0)});
  { const std::vector<Stack> held = burst(pool, 10); }
  pool.idle();
  EXPECT_EQ(pool.stats().committed, 2u);
}

TEST(Stack, AFreeGuardedStackIsHandedOutBeforeACanary) {
  StackPool pool(StackPool::Options{.max_guarded = 2});
  {
    std::vector<Stack> held;
    for (int i = 0; i < 4; ++i) held.push_back(pool.acquire());
    ASSERT_TRUE(held[1].guarded());
    ASSERT_FALSE(held[2].guarded());
  }  // released first to last: the canaries are the last ones back
  std::vector<Stack> again;
  for (int i = 0; i < 4; ++i) again.push_back(pool.acquire());
  EXPECT_TRUE(again[0].guarded());
  EXPECT_TRUE(again[1].guarded());
  EXPECT_FALSE(again[2].guarded());
}

TEST(Stack, ASizeBeyondAnyStackIsAClearError) {
  StackPool pool;
  EXPECT_THROW((void)pool.acquire(SIZE_MAX), std::length_error);
  EXPECT_THROW((void)pool.acquire(SIZE_MAX - page()), std::length_error);
  EXPECT_EQ(pool.stats().in_use, 0u);
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
      "\\(65536 bytes\\) ran into its guard zone at 0x[0-9a-f]+");
}

// A frame larger than a page that writes only its lowest bytes: without stack-clash probes it
// jumps straight over a one-page guard into whatever lies below.
[[gnu::noinline]] void big_frame_writing_its_bottom(void* /*unused*/) {
  volatile std::byte frame[80 * 1024];
  for (std::size_t i = 0; i < 4096; ++i) frame[i] = std::byte{1};
  smarm_test::sink = frame[0];
}

TEST(StackDeathTest, ALargeFrameCannotStepOverTheGuardZone) {
  EXPECT_DEATH(
      {
        StackPool pool;
        Stack below = pool.acquire();  // the neighbour whose top the frame would reach
        Stack stack = pool.acquire();
        Context main;
        Context ctx = Context::make(stack.usable(), big_frame_writing_its_bottom, nullptr, main);
        main.switch_to(ctx);
      },
      "smarm: stack overflow: .*\\(65536 bytes\\) ran into its guard zone");
}

TEST(StackDeathTest, OverflowOnAnotherThreadIsReported) {
  EXPECT_DEATH(
      {
        std::thread other([] {
          StackPool pool;
          overflow_in_a_context(pool);
        });
        other.join();
      },
      "smarm: stack overflow: the context running on the stack at .*\\(65536 bytes\\) ran "
      "into its guard zone");
}

TEST(StackDeathTest, AWriteAnywhereInACanaryZoneIsReportedWhenTheStackIsReleased) {
  for (const std::size_t below : {std::size_t{1}, std::size_t{257}, std::size_t{1024},
                                  std::size_t{4096}, StackPool::canary_size}) {
    EXPECT_DEATH(
        {
          StackPool pool(StackPool::Options{.max_guarded = 0});
          Stack stack = pool.acquire();
          ASSERT_FALSE(stack.guarded());
          *(stack.usable().data() - below) = std::byte{1};  // what an overflow does
          if (!stack.overflowed()) std::exit(0);
        },
        "smarm: stack overflow: .*\\(65536 bytes\\) wrote into the canary zone below it")
        << below << " bytes below the stack";
  }
}

TEST(StackDeathTest, TheQuickCheckReadsTheTopOfTheZone) {
  EXPECT_DEATH(
      {
        StackPool pool(StackPool::Options{.max_guarded = 0});
        Stack stack = pool.acquire();
        *(stack.usable().data() - StackPool::canary_quick) = std::byte{1};
        stack.check();
        std::exit(0);
      },
      "wrote into the canary zone below it");
  // Deeper than the quick check reads: found by the full check only (best effort, chapter 2).
  StackPool pool(StackPool::Options{.max_guarded = 0});
  Stack stack = pool.acquire();
  std::byte* deep = stack.usable().data() - StackPool::canary_quick - 1;
  *deep = std::byte{1};
  stack.check();
  EXPECT_TRUE(stack.overflowed());
  *deep = std::byte{0};  // clean again, so that the release finds nothing
}

// Recurses on `stack` until its frames lie `past` bytes below the stack's low end, then returns.
void recurse_past(const Stack& stack, std::size_t past) {
  struct Job {
    const std::byte* limit;
  } job{stack.usable().data() - past};
  Context main;
  Context ctx = Context::make(
      stack.usable(),
      [](void* arg) {
        const std::byte* limit = static_cast<Job*>(arg)->limit;
        smarm_test::recurse_below(limit);
      },
      &job, main);
  main.switch_to(ctx);
}

TEST(StackDeathTest, ARecursionSixKiBPastACanaryStackIsReported) {
  EXPECT_DEATH(
      {
        StackPool pool(StackPool::Options{.max_guarded = 0});
        Stack stack = pool.acquire();
        recurse_past(stack, 6 * 1024);
      },
      "smarm: stack overflow: .*\\(65536 bytes\\) wrote into the canary zone below it");
}

TEST(StackDeathTest, ARecursionPastACanarySlabIsReported) {
  EXPECT_DEATH(
      {
        StackPool pool(StackPool::Options{.max_guarded = 0});
        Stack first = pool.acquire();  // the lowest slot: below its zone, the slab's guard page
        Context main;
        Context ctx = Context::make(
            first.usable(), [](void*) { smarm_test::recurse(0); }, nullptr, main);
        main.switch_to(ctx);
      },
      "smarm: stack overflow: .*\\(65536 bytes\\) ran past its canary zone");
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

TEST(StackDeathTest, ASentSegvIsNotSwallowed) {
  StackPool pool;  // our handler is installed
#if SMARM_ASAN
  EXPECT_DEATH({ raise(SIGSEGV); }, "");
  EXPECT_DEATH({ kill(getpid(), SIGSEGV); }, "");
#else
  EXPECT_EXIT({ raise(SIGSEGV); }, testing::KilledBySignal(SIGSEGV),
              testing::MakeMatcher(new SaysNothingOfSmarm));
  EXPECT_EXIT({ kill(getpid(), SIGSEGV); }, testing::KilledBySignal(SIGSEGV),
              testing::MakeMatcher(new SaysNothingOfSmarm));
#endif
}

// Another part of the program holds nearly all the mappings the kernel allows: the pool must
// neither abort nor fail, and makes canary stacks.
TEST(StackDeathTest, WhenTheKernelRefusesGuardsThePoolMakesCanaries) {
  EXPECT_EXIT(
      {
        std::size_t limit = 65530;
        std::ifstream("/proc/sys/vm/max_map_count") >> limit;
        // Alternate protections split one mapping into many, two more per mprotect; leave
        // 300 mappings for the allocator and one canary slab.
        const std::size_t held = mapping_count();
        const std::size_t splits = (limit - std::min(limit, held + 300)) / 2;
        const std::size_t pages = 2 * splits + 2;
        auto* region =
            static_cast<std::byte*>(mmap(nullptr, pages * page(), PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
        if (region == MAP_FAILED) std::exit(2);
        for (std::size_t i = 0; i < splits; ++i) {
          if (mprotect(region + (2 * i + 1) * page(), page(), PROT_READ) != 0) std::exit(4);
        }
        StackPool pool;
        std::vector<Stack> stacks;
        for (int i = 0; i < 300; ++i) stacks.push_back(pool.acquire());
        std::exit(pool.stats().canary > 0 ? 0 : 3);
      },
      testing::ExitedWithCode(0), "");
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
