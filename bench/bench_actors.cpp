// bench_actors.cpp — actors against their peers in one run: a yield between two actors, and the
// spawn + join of a trivial actor, next to Boost.Fiber and std::thread (Go: bench/peers/go).
#include <smarm/actor.hpp>

#include <boost/fiber/all.hpp>
#include <thread>

#include "bench_main.hpp"

namespace {

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
BENCHMARK(BM_yield_smarm)->Name("yield/smarm");

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
BENCHMARK(BM_yield_boost_fiber)->Name("yield/boost_fiber");

// ---- spawn + join of an actor that does nothing

void BM_spawn_join_smarm(benchmark::State& state) {
  smarm::run([&] {
    for (auto _ : state) smarm::spawn([] {}).join();
  });
}
BENCHMARK(BM_spawn_join_smarm)->Name("spawn_join/smarm");

void BM_spawn_join_boost_fiber(benchmark::State& state) {
  for (auto _ : state) boost::fibers::fiber([] {}).join();
}
BENCHMARK(BM_spawn_join_boost_fiber)->Name("spawn_join/boost_fiber");

void BM_spawn_join_thread(benchmark::State& state) {
  for (auto _ : state) std::thread([] {}).join();
}
BENCHMARK(BM_spawn_join_thread)->Name("spawn_join/std_thread");

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
