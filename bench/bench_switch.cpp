// bench_switch.cpp — the cost of one context switch: smarm next to Boost.Context and POSIX
// swapcontext in one binary and one run, plus the switch variants chapter 1 discusses.
//
// Every benchmark ping-pongs between the benchmark loop and one other context; an iteration is a
// round trip, i.e. two switches, and the `switch` counter reports the time per switch.
#include <benchmark/benchmark.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>
#include <cstdio>
#include <map>
#include <smarm/context.hpp>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kStackSize = 64 * 1024;

void count_switches(benchmark::State& state) {
  state.counters["switch"] = benchmark::Counter(
      2, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// --- smarm, through the public API --------------------------------------------------------------
struct SmarmPair {
  smarm::Context main, other;
};

void smarm_echo(void* arg) {
  auto* p = static_cast<SmarmPair*>(arg);
  for (;;) p->other.switch_to(p->main);
}

void BM_smarm(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  SmarmPair p;
  p.other = smarm::Context::make(stack, smarm_echo, &p, p.main);
  for (auto _ : state) p.main.switch_to(p.other);
  count_switches(state);
}
BENCHMARK(BM_smarm);

// --- the raw switch and its variants (same frame, one decision changed each) ---------------------
using SwitchFn = void(void**, void*);

template <SwitchFn* Switch>
struct RawPair {
  void* main_sp = nullptr;
  void* other_sp = nullptr;
  static void echo(void* arg) {
    auto* p = static_cast<RawPair*>(arg);
    for (;;) Switch(&p->other_sp, p->main_sp);
  }
};

// Both sides switch from a loop: the shape where a `ret` into the other context is mispredicted.
template <SwitchFn* Switch>
void BM_raw(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  RawPair<Switch> p;
  p.other_sp = smarm_make_frame(stack.data() + stack.size(), &RawPair<Switch>::echo, &p);
  for (auto _ : state) Switch(&p.main_sp, p.other_sp);
  count_switches(state);
}

// Both sides switch through one out-of-line function that returns afterwards, as a scheduler's
// yield does: the code after the switch executes a `ret` on the resumed stack.
template <SwitchFn* Switch>
[[gnu::noinline]] void yield_through(void** save, void* to) {
  Switch(save, to);
  benchmark::ClobberMemory();
}

template <SwitchFn* Switch>
struct WrappedPair {
  void* main_sp = nullptr;
  void* other_sp = nullptr;
  static void echo(void* arg) {
    auto* p = static_cast<WrappedPair*>(arg);
    for (;;) yield_through<Switch>(&p->other_sp, p->main_sp);
  }
};

template <SwitchFn* Switch>
void BM_wrapped(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  WrappedPair<Switch> p;
  p.other_sp = smarm_make_frame(stack.data() + stack.size(), &WrappedPair<Switch>::echo, &p);
  for (auto _ : state) yield_through<Switch>(&p.main_sp, p.other_sp);
  count_switches(state);
}

BENCHMARK(BM_raw<smarm_switch>)->Name("variant/jmp (smarm)/loop");
BENCHMARK(BM_wrapped<smarm_switch>)->Name("variant/jmp (smarm)/via-function");

}  // namespace

#if defined(__x86_64__)
extern "C" {
SwitchFn smarm_bench_switch_ret;
SwitchFn smarm_bench_switch_nofp;
SwitchFn smarm_bench_switch_fpalways;
}
namespace {
BENCHMARK(BM_raw<smarm_bench_switch_ret>)->Name("variant/ret/loop");
BENCHMARK(BM_wrapped<smarm_bench_switch_ret>)->Name("variant/ret/via-function");
BENCHMARK(BM_raw<smarm_bench_switch_nofp>)->Name("variant/jmp, no FP control/loop");
BENCHMARK(BM_raw<smarm_bench_switch_fpalways>)->Name("variant/jmp, FP reloaded always/loop");
BENCHMARK(BM_wrapped<smarm_bench_switch_fpalways>)
    ->Name("variant/jmp, FP reloaded always/via-function");
}  // namespace
#endif

namespace {

// --- Boost.Context: the fcontext primitive, and the fiber built on it ----------------------------
namespace bctx = boost::context;

void fcontext_echo(bctx::detail::transfer_t t) {
  for (;;) t = bctx::detail::jump_fcontext(t.fctx, nullptr);
}

void BM_boost_fcontext(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  auto ctx = bctx::detail::make_fcontext(stack.data() + stack.size(), stack.size(), fcontext_echo);
  for (auto _ : state) ctx = bctx::detail::jump_fcontext(ctx, nullptr).fctx;
  count_switches(state);
}
BENCHMARK(BM_boost_fcontext)->Name("boost_fcontext");

void BM_boost_fiber(benchmark::State& state) {
  bctx::fiber f{[](bctx::fiber&& main) {
    for (;;) main = std::move(main).resume();
    return std::move(main);
  }};
  for (auto _ : state) f = std::move(f).resume();
  count_switches(state);
  // The echo fiber never returns; Boost unwinds it with forced_unwind when f is destroyed.
}
BENCHMARK(BM_boost_fiber)->Name("boost_fiber");

// --- POSIX swapcontext
// ------------------------------------------------------------------------------
ucontext_t uc_main, uc_other;

void ucontext_echo() {
  for (;;) swapcontext(&uc_other, &uc_main);
}

void BM_swapcontext(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  getcontext(&uc_other);
  uc_other.uc_stack.ss_sp = stack.data();
  uc_other.uc_stack.ss_size = stack.size();
  uc_other.uc_link = nullptr;
  makecontext(&uc_other, ucontext_echo, 0);
  for (auto _ : state) swapcontext(&uc_main, &uc_other);
  count_switches(state);
}
BENCHMARK(BM_swapcontext)->Name("swapcontext");

// Prints the usual table, then the per-switch medians side by side with their ratio to smarm.
class SideBySide : public benchmark::ConsoleReporter {
 public:
  SideBySide() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Aggregate || run.aggregate_name != "median") continue;
      if (auto it = run.counters.find("switch"); it != run.counters.end()) {
        medians_[run.run_name.str()] = it->second.value * 1e9;
      }
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const auto smarm = medians_.find("BM_smarm");
    if (smarm == medians_.end()) return;
    std::printf("\nMedian time per switch (ns), one run:\n");
    for (const char* name : {"BM_smarm", "boost_fcontext", "boost_fiber", "swapcontext"}) {
      if (auto it = medians_.find(name); it != medians_.end()) {
        std::printf("  %-16s %8.2f ns   %6.2fx smarm\n", name, it->second,
                    it->second / smarm->second);
      }
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
