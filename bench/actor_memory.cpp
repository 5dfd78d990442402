// actor_memory.cpp — resident memory per idle actor: spawns N actors that all park, then reads the
// process's resident set and its kernel mappings while every one of them is alive. It also counts
// the minor page faults per actor of this first, cold round, whose stacks come fresh from the
// kernel (bench_actors measures the warm rounds that follow).
//   build/release/bench/actor_memory [N ...]        (default: 100000 1000000)
#include <smarm/actor.hpp>
#include <smarm/stack.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench_main.hpp"

namespace {

std::size_t resident_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

std::size_t mappings() {
  std::ifstream maps("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

void measure(std::size_t n) {
  std::vector<smarm::JoinHandle> handles;
  handles.reserve(n);
  const std::size_t before = resident_kib();
  std::size_t during = 0, maps = 0;
  smarm::StackPool::Stats stats;
  const long faults_before = minor_faults();
  const auto start = std::chrono::steady_clock::now();
  smarm::run([&] {
    for (std::size_t i = 0; i < n; ++i) handles.push_back(smarm::spawn([] { smarm::park(); }));
    smarm::yield_now();  // every actor runs once and parks
    during = resident_kib();
    maps = mappings();
    stats = smarm::StackPool::local().stats();
    for (auto& h : handles) smarm::unpark(h.pid());
    for (auto& h : handles) h.join();
  });
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  const double count = static_cast<double>(n);
  const double faults = static_cast<double>(minor_faults() - faults_before) / count;
  const double per_actor = static_cast<double>(during - before) * 1024.0 / count;
  std::printf(
      "%9zu idle actors: %8.0f bytes resident per actor (%zu MiB in all), %zu mappings "
      "(%zu guarded stacks, %zu canary); cold round: %.0f ns and %.2f minor faults per actor\n",
      n, per_actor, (during - before) / 1024, maps, stats.guarded, stats.canary,
      elapsed.count() / count, faults);
  smarm::StackPool::local().trim();  // the next measurement starts cold too
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> counts;
  for (int i = 1; i < argc; ++i) counts.push_back(std::strtoul(argv[i], nullptr, 10));
  if (counts.empty()) counts = {100000, 1000000};
  smarm_bench::print_machine();
  for (std::size_t n : counts) measure(n);
  return 0;
}
