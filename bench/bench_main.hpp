// bench_main.hpp — the main() every benchmark program shares: medians of interleaved repetitions
// by default, then a side-by-side table of each group's medians with their ratio to smarm.
//
// Benchmarks are named "<group>/<implementation>", e.g. "yield/smarm" and "yield/boost_fiber".
// The figure compared is the counter "per_op" when a benchmark sets one (seconds per operation,
// see per_op()), else the real time per iteration.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace smarm_bench {

// Reports the time per operation when one iteration performs `ops` of them.
inline void per_op(benchmark::State& state, double ops) {
  state.counters["per_op"] = benchmark::Counter(
      ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

class SideBySide : public benchmark::ConsoleReporter {
 public:
  SideBySide() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Aggregate || run.aggregate_name != "median") continue;
      const std::string name = run.run_name.str();
      const auto slash = name.find('/');
      if (slash == std::string::npos) continue;
      double ns = run.GetAdjustedRealTime();  // in the run's time unit
      ns *= run.time_unit == benchmark::kMicrosecond   ? 1e3
            : run.time_unit == benchmark::kMillisecond ? 1e6
            : run.time_unit == benchmark::kSecond      ? 1e9
                                                       : 1.0;
      if (auto it = run.counters.find("per_op"); it != run.counters.end()) ns = it->second * 1e9;
      std::string group = name.substr(0, slash);
      if (groups_.find(group) == groups_.end()) order_.push_back(group);
      groups_[group].emplace_back(name.substr(slash + 1), ns);
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    bool header = false;
    for (const std::string& group : order_) {
      auto& rows = groups_[group];
      const auto smarm = std::find_if(rows.begin(), rows.end(),
                                      [](const auto& r) { return r.first.rfind("smarm", 0) == 0; });
      if (smarm == rows.end()) continue;
      if (!header) {
        std::printf("\nMedians, one run (ratio: time relative to smarm):\n");
        header = true;
      }
      const double reference = smarm->second;
      std::sort(rows.begin(), rows.end(),
                [](const auto& a, const auto& b) { return a.second < b.second; });
      std::printf("  %s\n", group.c_str());
      for (const auto& [impl, ns] : rows) {
        std::printf("    %-34s %12.2f ns   %8.2fx\n", impl.c_str(), ns, ns / reference);
      }
    }
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::vector<std::pair<std::string, double>>> groups_;
};

// Runs the registered benchmarks: 9 interleaved repetitions reported as aggregates unless the
// command line chooses otherwise, since the machine is shared and noisy.
inline int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=9";
  std::string aggregates = "--benchmark_report_aggregates_only=true";
  std::string shuffle = "--benchmark_enable_random_interleaving=true";
  const bool chose = std::any_of(args.begin() + 1, args.end(), [](const char* a) {
    return std::string(a).rfind("--benchmark_repetitions", 0) == 0;
  });
  if (!chose) args.insert(args.begin() + 1, {reps.data(), aggregates.data(), shuffle.data()});
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  SideBySide reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace smarm_bench
