// bench_main.hpp — the main() every benchmark program shares: medians of interleaved repetitions
// by default, reported by Google Benchmark's own reporters (so its --benchmark_format,
// --benchmark_out and other flags work), then a side-by-side table of each group's medians with
// their ratio to smarm; and print_machine(), the machine and date a program's figures belong to.
//
// Benchmarks are named "<group>/<implementation>", e.g. "yield/smarm" and "yield/boost_fiber".
// The figure compared is the counter "per_op" when a benchmark sets one (seconds per operation,
// see per_op()), else the real time per iteration; the counters "faults" and "peak_rss" (see
// peak_rss()), when set, are shown too. Rows measured by a peer program in another language come
// from bench/peer.hpp.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace smarm_bench {

// Reports the time per operation when one iteration performs `ops` of them.
inline void per_op(benchmark::State& state, double ops) {
  state.counters["per_op"] = benchmark::Counter(
      ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Reports the peak resident memory, in bytes, of the process that ran a benchmark (the counter
// "peak_rss", which the console shows in units of 1024: its M is a MiB).
inline void peak_rss(benchmark::State& state, double bytes) {
  state.counters["peak_rss"] =
      benchmark::Counter(bytes, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
}

// The peak resident memory of this process (VmHWM), in bytes: 0 if /proc does not say.
inline double peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024;
  }
  return 0;
}

// The CPU time this process has used, in seconds (user and system, every thread). Rows whose wall
// time is mostly waiting (sleepers) or mostly another program's share of a busy machine (the
// primes count) report this instead.
inline double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Lowers this process's peak resident memory to what is resident now (Linux 4.0 on), so that
// peak_resident_bytes() afterwards measures what follows, not the benchmarks that ran before.
inline void reset_peak_resident() { std::ofstream("/proc/self/clear_refs") << "5"; }

// Prints the CPU (vendor and model, from /proc/cpuinfo) and the date, which every figure a
// benchmark prints depends on. Programs whose output is data (JSON) print this to stderr.
inline void print_machine(std::FILE* out = stdout) {
  std::string vendor, model, implementer, part;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const auto start = line.find_first_not_of(' ', colon + 1);
    const std::string value = start == std::string::npos ? "" : line.substr(start);
    // x86 names the vendor and model; aarch64 gives the implementer and part numbers. Every CPU
    // has its own entry; the first one speaks for all.
    if (key == "vendor_id" && vendor.empty()) vendor = value;
    if (key == "model name" && model.empty()) model = value;
    if (key == "CPU implementer" && implementer.empty()) implementer = "implementer " + value;
    if (key == "CPU part" && part.empty()) part = "part " + value;
  }
  if (vendor.empty()) vendor = implementer.empty() ? "unknown vendor" : implementer;
  if (model.empty()) model = part.empty() ? "unknown model" : part;

  char date[64] = "unknown date";
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  if (localtime_r(&now, &local) != nullptr) {
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", &local);
  }
  std::fprintf(out, "CPU: %s, %s (%ld logical CPUs online)\nDate: %s\n\n", vendor.c_str(),
               model.c_str(), sysconf(_SC_NPROCESSORS_ONLN), date);
  std::fflush(out);
}

// Hands every report on to the reporter Google Benchmark's flags chose (console, JSON or CSV) and
// keeps each group's medians for the side-by-side table.
class SideBySide : public benchmark::BenchmarkReporter {
 public:
  explicit SideBySide(benchmark::BenchmarkReporter* display) : display_(display) {}

  bool ReportContext(const Context& context) override { return display_->ReportContext(context); }

  void ReportRuns(const std::vector<Run>& runs) override {
    display_->ReportRuns(runs);
    for (const Run& run : runs) {
      const std::string name = run.run_name.str();
      const auto slash = name.find('/');
      if (slash == std::string::npos) continue;
      // "<group>/<implementation>[/iterations:1/manual_time...]": the table names the first two.
      const std::string group = name.substr(0, slash);
      const std::string impl = name.substr(slash + 1, name.find('/', slash + 1) - slash - 1);
      Row row;
      row.impl = impl;
      if (run.error_occurred) {
        row.skipped = run.error_message;  // a peer that could not run: said, never shown as 0
      } else if (run.run_type != Run::RT_Aggregate || run.aggregate_name != "median") {
        continue;
      } else {
        row.ns = run.GetAdjustedRealTime();  // in the run's time unit
        row.ns *= run.time_unit == benchmark::kMicrosecond   ? 1e3
                  : run.time_unit == benchmark::kMillisecond ? 1e6
                  : run.time_unit == benchmark::kSecond      ? 1e9
                                                             : 1.0;
        if (auto it = run.counters.find("per_op"); it != run.counters.end())
          row.ns = it->second * 1e9;
        if (auto it = run.counters.find("faults"); it != run.counters.end())
          row.faults = it->second;
        if (auto it = run.counters.find("peak_rss"); it != run.counters.end())
          row.peak_mib = it->second / (1024.0 * 1024.0);
      }
      if (groups_.find(group) == groups_.end()) order_.push_back(group);
      auto& rows = groups_[group];
      const bool seen =
          std::any_of(rows.begin(), rows.end(), [&impl](const Row& r) { return r.impl == impl; });
      if (!seen) rows.push_back(row);
    }
  }

  void Finalize() override { display_->Finalize(); }

  // The table of each group that has a smarm row, fastest first, with the minor page faults per
  // operation ("faults") and the peak resident memory ("peak_rss") where a benchmark counts them.
  void print_table(std::FILE* out) {
    bool header = false;
    for (const std::string& group : order_) {
      auto& rows = groups_[group];
      // The reference is the row named "smarm", else the first whose name begins with it.
      auto smarm = std::find_if(rows.begin(), rows.end(), [](const Row& r) {
        return r.impl == "smarm" && r.skipped.empty();
      });
      if (smarm == rows.end()) {
        smarm = std::find_if(rows.begin(), rows.end(), [](const Row& r) {
          return r.impl.rfind("smarm", 0) == 0 && r.skipped.empty();
        });
      }
      if (smarm == rows.end()) continue;
      if (!header) {
        std::fprintf(out, "\nMedians, one run (ratio: time relative to smarm):\n");
        header = true;
      }
      const double reference = smarm->ns;
      std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return a.skipped.empty() && (!b.skipped.empty() || a.ns < b.ns);
      });
      std::fprintf(out, "  %s\n", group.c_str());
      for (const Row& r : rows) {
        if (!r.skipped.empty()) {
          std::fprintf(out, "    %-34s skipped: %s\n", r.impl.c_str(), r.skipped.c_str());
          continue;
        }
        std::fprintf(out, "    %-34s %12.2f ns   %8.2fx", r.impl.c_str(), r.ns, r.ns / reference);
        if (r.faults >= 0) std::fprintf(out, "   %8.3f faults", r.faults);
        if (r.peak_mib >= 0) std::fprintf(out, "   %8.1f MiB peak", r.peak_mib);
        std::fprintf(out, "\n");
      }
    }
    std::fflush(out);
  }

 private:
  struct Row {
    std::string impl;
    double ns = 0;
    double faults = -1;    // negative: not counted
    double peak_mib = -1;  // negative: not counted
    std::string skipped;   // why the row could not run, if it could not
  };
  benchmark::BenchmarkReporter* display_;
  std::vector<std::string> order_;
  std::map<std::string, std::vector<Row>> groups_;
};

// Runs the registered benchmarks: 9 interleaved repetitions reported as aggregates, counters as
// columns, unless the command line chooses otherwise, since the machine is shared and noisy. The
// machine and the table go to stdout around the console report, or to stderr when stdout carries
// JSON or CSV.
inline int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  const auto chose = [&args](const char* flag) {
    return std::any_of(args.begin() + 1, args.end(),
                       [flag](const char* a) { return std::string(a).rfind(flag, 0) == 0; });
  };
  std::string reps = "--benchmark_repetitions=9";
  std::string aggregates = "--benchmark_report_aggregates_only=true";
  std::string shuffle = "--benchmark_enable_random_interleaving=true";
  std::string tabular = "--benchmark_counters_tabular=true";
  if (!chose("--benchmark_repetitions")) {
    args.insert(args.begin() + 1, {reps.data(), aggregates.data(), shuffle.data()});
  }
  if (!chose("--benchmark_counters_tabular")) args.insert(args.begin() + 1, tabular.data());
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  benchmark::BenchmarkReporter* display = benchmark::CreateDefaultDisplayReporter();
  std::FILE* notes =
      dynamic_cast<benchmark::ConsoleReporter*>(display) != nullptr ? stdout : stderr;
  print_machine(notes);
  SideBySide reporter(display);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_table(notes);
  benchmark::Shutdown();
  return 0;
}

}  // namespace smarm_bench
