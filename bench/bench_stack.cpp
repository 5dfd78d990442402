// bench_stack.cpp — a pooled guarded stack against the mmap, mprotect and munmap it avoids.
//
// An iteration makes one 64 KiB stack and gives it back. The "touch top" benchmarks also write
// one byte at the top of the stack, as a new context does (its start record and first frame live
// there): a pooled stack's top page is still committed, a fresh mapping's takes a page fault.
// The burst benchmarks take 1000 stacks, touch each, and give them all back, reporting the minor
// page faults per stack: what a pool that gives memory back on every release would pay.
#include <smarm/stack.hpp>

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "bench_main.hpp"

namespace {

constexpr std::size_t kStackSize = std::size_t{64} * 1024;

std::size_t page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

// Writes one byte at the top of a stack, where a new context's first frame goes.
void touch_top(std::byte* low, std::size_t size) {
  *static_cast<volatile std::byte*>(low + size - 1) = std::byte{1};
}

// --- the pooled path: StackPool::acquire, and the release when the handle dies ------------------
template <bool Touch>
void BM_pool(benchmark::State& state) {
  smarm::StackPool pool;
  for (auto _ : state) {
    smarm::Stack s = pool.acquire(kStackSize);
    if constexpr (Touch) touch_top(s.usable().data(), s.size());
    benchmark::DoNotOptimize(s.usable().data());
  }
}

// --- the unpooled path: a mapping of its own per stack, with its guard page ---------------------
template <bool Touch>
void BM_mmap(benchmark::State& state) {
  const std::size_t guard = page_size();
  const std::size_t bytes = kStackSize + guard;
  for (auto _ : state) {
    void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    auto* base = static_cast<std::byte*>(memory);
    if (mprotect(base, guard, PROT_NONE) != 0) throw std::bad_alloc();
    if constexpr (Touch) touch_top(base + guard, kStackSize);
    benchmark::DoNotOptimize(base);
    munmap(memory, bytes);
  }
}

// Each group compares the pool (named smarm_pool, the reference) with the mapping it avoids.
BENCHMARK(BM_pool<false>)->Name("stack_untouched/smarm_pool");
BENCHMARK(BM_mmap<false>)->Name("stack_untouched/mmap_mprotect_munmap");
BENCHMARK(BM_pool<true>)->Name("stack_top_touched/smarm_pool");
BENCHMARK(BM_mmap<true>)->Name("stack_top_touched/mmap_mprotect_munmap");

// --- bursts: 1000 stacks held at once, then all given back -----------------------------------
constexpr std::size_t kBurst = 1000;

std::int64_t minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

void per_stack(benchmark::State& state, std::int64_t faults_before) {
  const double stacks = static_cast<double>(state.iterations()) * static_cast<double>(kBurst);
  smarm_bench::per_op(state, static_cast<double>(kBurst));
  state.counters["faults"] = static_cast<double>(minor_faults() - faults_before) / stacks;
}

// The pool as it is: released stacks stay committed until their decay period has passed.
// With keep_free = 0 and no decay: every release gives its memory back at once, which is what
// the pool did before (chapter 2 tells why it no longer does).
template <bool GiveBackAtOnce>
void BM_pool_burst(benchmark::State& state) {
  smarm::StackPool pool;
  if (GiveBackAtOnce) pool.set_options({.keep_free = 0, .decay = std::chrono::milliseconds(0)});
  std::vector<smarm::Stack> held;
  held.reserve(kBurst);
  const std::int64_t before = minor_faults();
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBurst; ++i) {
      held.push_back(pool.acquire(kStackSize));
      touch_top(held.back().usable().data(), kStackSize);
    }
    held.clear();
    if (GiveBackAtOnce) pool.idle();
  }
  per_stack(state, before);
}

void BM_mmap_burst(benchmark::State& state) {
  const std::size_t guard = page_size();
  const std::size_t bytes = kStackSize + guard;
  std::vector<std::byte*> held;
  held.reserve(kBurst);
  const std::int64_t before = minor_faults();
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBurst; ++i) {
      void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (memory == MAP_FAILED) throw std::bad_alloc();
      auto* base = static_cast<std::byte*>(memory);
      if (mprotect(base, guard, PROT_NONE) != 0) throw std::bad_alloc();
      touch_top(base + guard, kStackSize);
      held.push_back(base);
    }
    for (std::byte* base : held) munmap(base, bytes);
    held.clear();
  }
  per_stack(state, before);
}

BENCHMARK(BM_pool_burst<false>)->Name("stack_burst_x1000/smarm_pool");
BENCHMARK(BM_pool_burst<true>)->Name("stack_burst_x1000/pool_giving_back_at_every_release");
BENCHMARK(BM_mmap_burst)->Name("stack_burst_x1000/mmap_mprotect_munmap");

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
