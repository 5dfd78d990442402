// bench_mutex.cpp — chapter 6's timeout mutex next to its peers, in one run: a lock and unlock
// without contention, and contended between 10 actors that each lock 1000 times and yield while
// they hold the lock, so that the others queue. smarm's lock always has a deadline (lock_for 1 s);
// beside it Boost.Fiber's timed_mutex (try_lock_for 1 s) and its plain mutex, and Go's sync.Mutex
// (bench/peers/peers.go, GOMAXPROCS=1), which has no timed lock.
#include <smarm/actor.hpp>
#include <smarm/mutex.hpp>

#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_main.hpp"
#include "peer.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int kActors = 10;
constexpr int kLocksEach = 1000;

// ---- without contention: one actor locks and unlocks, and touches the value in between

void BM_uncontended_smarm(benchmark::State& state) {
  smarm::run([&] {
    smarm::Mutex<std::uint64_t> m;
    for (auto _ : state) {
      auto g = m.lock_for(1s);
      benchmark::DoNotOptimize(++*g);
    }
  });
}

template <class Mutex, bool Timed>
void BM_uncontended_boost(benchmark::State& state) {
  Mutex m;
  std::uint64_t value = 0;
  for (auto _ : state) {
    if constexpr (Timed) {
      if (!m.try_lock_for(1s)) state.SkipWithError("timed out");
    } else {
      m.lock();
    }
    benchmark::DoNotOptimize(++value);
    m.unlock();
  }
}

// ---- contended: kActors actors each lock kLocksEach times, yielding with the lock held; per lock

void BM_contended_smarm(benchmark::State& state) {
  for (auto _ : state) {
    std::uint64_t total = 0;
    smarm::run([&] {
      smarm::Mutex<std::uint64_t> m;
      std::vector<smarm::JoinHandle> actors;
      for (int a = 0; a < kActors; ++a) {
        actors.push_back(smarm::spawn([&] {
          for (int i = 0; i < kLocksEach; ++i) {
            auto g = m.lock_for(1s);
            smarm::yield_now();
            ++*g;
          }
        }));
      }
      for (smarm::JoinHandle& h : actors) h.join();
      total = *m.try_lock();
    });
    if (total != std::uint64_t{kActors} * kLocksEach) state.SkipWithError("a lock was lost");
  }
  smarm_bench::per_op(state, double{kActors} * kLocksEach);
}

template <class Mutex, bool Timed>
void BM_contended_boost(benchmark::State& state) {
  for (auto _ : state) {
    Mutex m;
    std::uint64_t total = 0;
    std::vector<boost::fibers::fiber> fibers;
    for (int a = 0; a < kActors; ++a) {
      fibers.emplace_back([&] {
        for (int i = 0; i < kLocksEach; ++i) {
          if constexpr (Timed) {
            if (!m.try_lock_for(1s)) return;
          } else {
            m.lock();
          }
          boost::this_fiber::yield();
          ++total;
          m.unlock();
        }
      });
    }
    for (boost::fibers::fiber& f : fibers) f.join();
    if (total != std::uint64_t{kActors} * kLocksEach) state.SkipWithError("a lock timed out");
  }
  smarm_bench::per_op(state, double{kActors} * kLocksEach);
}

const bool registered = [] {
  using boost::fibers::mutex;
  using boost::fibers::timed_mutex;
  benchmark::RegisterBenchmark("mutex_uncontended/smarm", BM_uncontended_smarm);
  benchmark::RegisterBenchmark("mutex_uncontended/boost_fiber_timed_mutex",
                               BM_uncontended_boost<timed_mutex, true>);
  benchmark::RegisterBenchmark("mutex_uncontended/boost_fiber_mutex",
                               BM_uncontended_boost<mutex, false>);
  benchmark::RegisterBenchmark("mutex_contended_10/smarm", BM_contended_smarm)->UseRealTime();
  benchmark::RegisterBenchmark("mutex_contended_10/boost_fiber_timed_mutex",
                               BM_contended_boost<timed_mutex, true>)
      ->UseRealTime();
  benchmark::RegisterBenchmark("mutex_contended_10/boost_fiber_mutex",
                               BM_contended_boost<mutex, false>)
      ->UseRealTime();
  // Go's sync.Mutex (GOMAXPROCS=1), by bench/peer.hpp: Lock + Unlock alone, and 10 goroutines
  // that each lock 1000 times with a runtime.Gosched while they hold the lock.
  smarm_bench::register_peer("mutex_uncontended/go_sync_mutex", smarm_bench::go_peer(),
                             "mutex 10000000", 10'000'000.0);
  smarm_bench::register_peer("mutex_contended_10/go_sync_mutex", smarm_bench::go_peer(),
                             "mutex_contended " + std::to_string(kActors) + " 100000",
                             double{kActors} * 100'000);
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
