// bench_actors.cpp — actors against their peers in one run: a yield between two actors, and the
// spawn + join of trivial actors in the shapes programs use them — one at a time, in batches of
// 1000, and a million alive at once — next to Boost.Fiber (pooled and default stacks) and
// std::thread, Go's goroutines (bench/peers/peers.go) and tokio's tasks (bench/peers/tokio), each
// run by bench/peer.hpp as a subprocess one measurement at a time, interleaved with the others.
// Each batch benchmark also reports the minor page faults per actor that getrusage counts, since a
// fault costs microseconds on a virtual machine.
#include <sys/resource.h>
#include <smarm/actor.hpp>
#include <smarm/stack.hpp>

#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_main.hpp"
#include "peer.hpp"

namespace {

constexpr std::size_t kStackSize = std::size_t{64} * 1024;  // smarm's default, for every peer

// ---- yield between two actors: one iteration is one yield of each

void BM_yield_smarm(benchmark::State& state) {
  smarm::run([&] {
    bool stop = false;
    smarm::JoinHandle partner = smarm::spawn([&] {
      while (!stop) smarm::yield_now();
    });
    for (auto _ : state) smarm::yield_now();
    stop = true;
    partner.join();
  });
  smarm_bench::per_op(state, 2);
}
BENCHMARK(BM_yield_smarm)->Name("yield/smarm")->UseRealTime();

// The same on canary stacks, which are checked at every switch (chapter 2): what the check costs.
// It runs on a thread of its own, whose pool makes only canary stacks, so that the other
// benchmarks keep their guarded ones; the time is measured there, by hand.
void BM_yield_smarm_canary(benchmark::State& state) {
  constexpr int kYields = 10000;
  std::thread canary([&state] {
    smarm::StackPool::local().set_options({.max_guarded = 0});
    smarm::run([&state] {
      bool stop = false;
      smarm::JoinHandle partner = smarm::spawn([&] {
        while (!stop) smarm::yield_now();
      });
      for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < kYields; ++i) smarm::yield_now();
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        state.SetIterationTime(took.count());
      }
      stop = true;
      partner.join();
    });
  });
  canary.join();
  smarm_bench::per_op(state, 2 * kYields);
}
BENCHMARK(BM_yield_smarm_canary)->Name("yield/smarm_on_canary_stacks")->UseManualTime();

void BM_yield_boost_fiber(benchmark::State& state) {
  bool stop = false;
  boost::fibers::fiber partner([&] {
    while (!stop) boost::this_fiber::yield();
  });
  for (auto _ : state) boost::this_fiber::yield();
  stop = true;
  partner.join();
  smarm_bench::per_op(state, 2);
}
BENCHMARK(BM_yield_boost_fiber)->Name("yield/boost_fiber")->UseRealTime();

// ---- spawn + join of actors that do nothing, `batch` alive at a time
//
// One iteration spawns `batch` actors and then joins them all; the time and the faults are
// reported per actor. A batch of 1 is spawn + join one at a time; a batch of 1,000,000 is Go's
// `go f()` a million times followed by a WaitGroup's Wait. Every repetition starts with one
// untimed round, as the Go peer's does: the figures are the steady state after a warm-up, while
// the repetitions of the other rows come in between (a million-actor round of a peer takes
// seconds, in which smarm's pool may give back the memory of the stacks it left unused;
// bench/actor_memory measures the cold round).

std::int64_t minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Counts the faults of the timed iterations and reports them, with the time, per actor.
class PerActor {
 public:
  PerActor(benchmark::State& state, std::size_t batch)
      : state_(state), batch_(static_cast<double>(batch)), start_(minor_faults()) {}
  PerActor(const PerActor&) = delete;
  PerActor& operator=(const PerActor&) = delete;
  PerActor(PerActor&&) = delete;
  PerActor& operator=(PerActor&&) = delete;
  ~PerActor() {
    const double actors = static_cast<double>(state_.iterations()) * batch_;
    smarm_bench::per_op(state_, batch_);
    state_.counters["faults"] = static_cast<double>(minor_faults() - start_) / actors;
  }

 private:
  benchmark::State& state_;
  double batch_;
  std::int64_t start_;
};

template <std::size_t Batch>
void BM_batch_smarm(benchmark::State& state) {
  smarm::run([&] {
    std::vector<smarm::JoinHandle> handles;
    handles.reserve(Batch);
    const auto round = [&handles] {
      for (std::size_t i = 0; i < Batch; ++i) handles.push_back(smarm::spawn([] {}));
      for (smarm::JoinHandle& h : handles) h.join();
      handles.clear();
    };
    round();  // the warm-up
    const PerActor per_actor(state, Batch);
    for (auto _ : state) round();
  });
}

template <class StackAllocator, std::size_t Batch>
void BM_batch_boost_fiber(benchmark::State& state) {
  StackAllocator stacks(kStackSize);
  std::vector<boost::fibers::fiber> fibers;
  fibers.reserve(Batch);
  const auto round = [&] {
    for (std::size_t i = 0; i < Batch; ++i) fibers.emplace_back(std::allocator_arg, stacks, [] {});
    for (boost::fibers::fiber& f : fibers) f.join();
    fibers.clear();
  };
  round();  // the warm-up
  const PerActor per_actor(state, Batch);
  for (auto _ : state) round();
}

template <std::size_t Batch>
void BM_batch_thread(benchmark::State& state) {
  std::vector<std::thread> threads;
  threads.reserve(Batch);
  const PerActor per_actor(state, Batch);
  for (auto _ : state) {
    for (std::size_t i = 0; i < Batch; ++i) threads.emplace_back([] {});
    for (std::thread& t : threads) t.join();
    threads.clear();
  }
}

using boost::fibers::fixedsize_stack;
using boost::fibers::pooled_fixedsize_stack;

// Every shape for smarm and each peer; the million is timed as one round per repetition. Wall
// time throughout, as Go's figures are: the CPU time of the calling thread would leave out the
// kernel's work for std::thread on the threads it creates.

template <std::size_t Batch>
void register_batch(const std::string& group, bool threads) {
  const auto shape = [](benchmark::internal::Benchmark* b) {
    b->UseRealTime();
    if (Batch >= 1'000'000) b->Iterations(1);
  };
  benchmark::RegisterBenchmark((group + "/smarm").c_str(), BM_batch_smarm<Batch>)->Apply(shape);
  benchmark::RegisterBenchmark((group + "/boost_fiber_pooled_stack").c_str(),
                               BM_batch_boost_fiber<pooled_fixedsize_stack, Batch>)
      ->Apply(shape);
  benchmark::RegisterBenchmark((group + "/boost_fiber_default_stack").c_str(),
                               BM_batch_boost_fiber<fixedsize_stack, Batch>)
      ->Apply(shape);
  if (threads) {
    benchmark::RegisterBenchmark((group + "/std_thread").c_str(), BM_batch_thread<Batch>)
        ->Apply(shape);
  }
  const std::size_t rounds = Batch >= 1'000'000 ? 1 : Batch >= 1000 ? 200 : 200'000;
  const std::string args = "batch " + std::to_string(Batch) + " " + std::to_string(rounds);
  const auto ops = static_cast<double>(Batch * rounds);
  smarm_bench::register_peer(group + "/go", smarm_bench::go_peer(), args, ops);
  smarm_bench::register_peer(group + "/tokio", smarm_bench::tokio_peer(), args, ops);
}

const bool registered = [] {
  smarm_bench::register_peer("yield/go_gosched", smarm_bench::go_peer(), "yield 2000000",
                             2'000'000.0);
  smarm_bench::register_peer("yield/tokio", smarm_bench::tokio_peer(), "yield 2000000",
                             2'000'000.0);
  register_batch<1>("spawn_join_x1", true);
  register_batch<1000>("spawn_join_x1000", true);
  register_batch<1'000'000>("spawn_join_x1M", false);  // a million threads: not on this machine
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
