// bench_stack.cpp — a pooled guarded stack against the mmap, mprotect and munmap it avoids.
//
// An iteration makes one 64 KiB stack and gives it back. The "touch top" benchmarks also write
// one byte at the top of the stack, as a new context does (its start record and first frame live
// there): a pooled stack's top page is still committed, a fresh mapping's takes a page fault.
#include <smarm/stack.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <new>

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

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
