// bench_stack.cpp — a pooled guarded stack against the mmap, mprotect and munmap it avoids.
//
// An iteration makes one 64 KiB stack and gives it back. The "touch top" benchmarks also write
// one byte at the top of the stack, as a new context does (its start record and first frame live
// there): a pooled stack's top page is still committed, a fresh mapping's takes a page fault.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <map>
#include <new>
#include <smarm/stack.hpp>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kStackSize = 64 * 1024;

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

BENCHMARK(BM_pool<false>)->Name("pool")->Unit(benchmark::kNanosecond);
BENCHMARK(BM_mmap<false>)->Name("mmap")->Unit(benchmark::kNanosecond);
BENCHMARK(BM_pool<true>)->Name("pool/touch top")->Unit(benchmark::kNanosecond);
BENCHMARK(BM_mmap<true>)->Name("mmap/touch top")->Unit(benchmark::kNanosecond);

// Prints the usual table, then the medians per stack side by side with the unpooled/pooled ratio.
class SideBySide : public benchmark::ConsoleReporter {
 public:
  SideBySide() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Aggregate || run.aggregate_name != "median") continue;
      medians_[run.run_name.str()] = run.GetAdjustedRealTime();  // ns: every benchmark's unit
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nMedian real time per stack made and given back (ns), one run:\n");
    std::printf("  %-16s %12s %12s %10s\n", "", "pool", "mmap", "mmap/pool");
    for (const char* suffix : {"", "/touch top"}) {
      const auto pool = medians_.find(std::string("pool") + suffix);
      const auto mmap = medians_.find(std::string("mmap") + suffix);
      if (pool == medians_.end() || mmap == medians_.end()) continue;
      std::printf("  %-16s %9.2f ns %9.2f ns %9.1fx\n", *suffix != '\0' ? "touch top" : "untouched",
                  pool->second, mmap->second, mmap->second / pool->second);
    }
  }

 private:
  std::map<std::string, double> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  // Medians of interleaved repetitions unless the caller chooses otherwise: the machine is shared.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=9", aggr = "--benchmark_report_aggregates_only=true",
              shuffle = "--benchmark_enable_random_interleaving=true";
  const bool chose = std::any_of(args.begin() + 1, args.end(), [](const char* a) {
    return std::string(a).rfind("--benchmark_repetitions", 0) == 0;
  });
  if (!chose) {
    args.insert(args.begin() + 1, {reps.data(), aggr.data(), shuffle.data()});
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  SideBySide reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
