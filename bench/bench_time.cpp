// bench_time.cpp — chapter 6's time next to its peers, in one run: the timer structure itself
// (arming and cancelling a timeout among many pending ones, and firing a million in order: the
// runtime's wheel, the "smarm" rows, against the binary and 4-ary heaps with back-indices it was
// chosen over, kept here so that the choice can be measured again, and Go's time.AfterFunc +
// Stop); a wait with a timeout answered in time (a round
// trip through recv_for, beside the plain round trip and Boost.Fiber's pop_wait_for); a round
// trip through a select over two channels, with and without a deadline, beside Go's select
// (Boost.Fiber has no select); and a million actors sleeping on random deadlines, woken in order
// (and a million goroutines).
#include <smarm/actor.hpp>
#include <smarm/channel.hpp>
#include <smarm/select.hpp>
#include <smarm/time.hpp>

#include <sys/resource.h>

#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <vector>

#include "bench_main.hpp"
#include "peer.hpp"
#include "timer_wheel.hpp"  // the runtime's own, from final/src (bench/CMakeLists.txt)

namespace {

using namespace std::chrono_literals;
constexpr std::uint32_t kNone = UINT32_MAX;
constexpr std::uint64_t kSecond = 1'000'000'000;

// ---- the structures: a d-ary min-heap of (deadline, id), each id's position kept beside it so
// that a cancelled timer leaves at once (the design chapter 6 measures the wheel against)
template <int Arity>
class Heap {
 public:
  void arm(std::uint32_t id, std::uint64_t deadline) {
    if (id >= pos_.size()) pos_.resize(std::size_t{id} + 1, kNone);
    pos_[id] = static_cast<std::uint32_t>(heap_.size());
    heap_.push_back({deadline, id});
    up(pos_[id]);
  }
  void cancel(std::uint32_t id) {
    const std::uint32_t i = pos_[id];
    pos_[id] = kNone;
    const Entry last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;
    heap_[i] = last;
    pos_[last.id] = i;
    if (i > 0 && heap_[(i - 1) / Arity].deadline > last.deadline) {
      up(i);
    } else {
      down(i);
    }
  }
  std::uint32_t pop(std::uint64_t now) {
    if (heap_.empty() || heap_[0].deadline > now) return kNone;
    const std::uint32_t id = heap_[0].id;
    cancel(id);
    return id;
  }

 private:
  struct Entry {
    std::uint64_t deadline;
    std::uint32_t id;
  };
  void up(std::uint32_t i) {
    const Entry e = heap_[i];
    while (i > 0) {
      const std::uint32_t parent = (i - 1) / Arity;
      if (heap_[parent].deadline <= e.deadline) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, e);
  }
  void down(std::uint32_t i) {
    const Entry e = heap_[i];
    const auto n = static_cast<std::uint32_t>(heap_.size());
    for (;;) {
      const std::uint32_t first = i * Arity + 1;
      if (first >= n) break;
      std::uint32_t best = first;
      for (std::uint32_t c = first + 1; c < std::min(first + Arity, n); ++c) {
        if (heap_[c].deadline < heap_[best].deadline) best = c;
      }
      if (heap_[best].deadline >= e.deadline) break;
      place(i, heap_[best]);
      i = best;
    }
    place(i, e);
  }
  void place(std::uint32_t i, const Entry& e) {
    heap_[i] = e;
    pos_[e.id] = i;
  }
  std::vector<Entry> heap_;
  std::vector<std::uint32_t> pos_;
};

// A 1 s timeout armed and cancelled (answered in time) while `pending` other timers wait on
// random deadlines 10 to 20 s away; the clock advances 1 µs a round.
template <class Timers>
void BM_arm_cancel(benchmark::State& state, std::uint32_t pending) {
  Timers timers;
  std::mt19937_64 random(42);
  for (std::uint32_t i = 0; i < pending; ++i) {
    timers.arm(i, 10 * kSecond + random() % (10 * kSecond));
  }
  std::uint64_t now = 0;
  for (auto _ : state) {
    now += 1000;
    timers.arm(pending, now + kSecond);
    benchmark::ClobberMemory();
    timers.cancel(pending);
  }
}

// A million timers on random deadlines within a second, armed, then fired in order; per timer.
template <class Timers>
void BM_fire(benchmark::State& state) {
  constexpr std::uint32_t kTimers = 1'000'000;
  std::mt19937_64 random(7);
  std::vector<std::uint64_t> deadlines(kTimers);
  for (std::uint64_t& d : deadlines) d = 1 + random() % kSecond;
  for (auto _ : state) {
    Timers timers;
    for (std::uint32_t i = 0; i < kTimers; ++i) timers.arm(i, deadlines[i]);
    std::uint64_t last = 0;
    std::uint32_t fired = 0;
    for (std::uint32_t id; (id = timers.pop(UINT64_MAX)) != kNone; ++fired) {
      if (deadlines[id] < last) state.SkipWithError("fired out of order");
      last = deadlines[id];
    }
    if (fired != kTimers) state.SkipWithError("lost a timer");
  }
  smarm_bench::per_op(state, kTimers);
}

// ---- a round trip whose receives wait with a 1 s timeout, always answered in time: the timer
// is armed and cancelled twice a round trip, beside the same round trip without timeouts

void BM_round_trip_smarm(benchmark::State& state, bool timeout) {
  smarm::run([&] {
    auto [to, from_main] = smarm::channel<int>(1);
    auto [back, from_echo] = smarm::channel<int>(1);
    smarm::JoinHandle echo =
        smarm::spawn([timeout, rx = std::move(from_main), tx = std::move(back)]() mutable {
          for (;;) {
            const std::optional<int> v = timeout ? rx.recv_for(1s).value : rx.recv();
            if (!v) return;
            (void)tx.send(*v);
          }
        });
    int i = 0;
    for (auto _ : state) {
      (void)to.send(i);
      benchmark::DoNotOptimize(timeout ? from_echo.recv_for(1s).value : from_echo.recv());
      ++i;
    }
    to.close();
    echo.join();
  });
}

void BM_round_trip_boost(benchmark::State& state) {
  using Channel = boost::fibers::buffered_channel<int>;
  Channel to(2);
  Channel back(2);
  boost::fibers::fiber echo([&] {
    int v = 0;
    while (to.pop_wait_for(v, 1s) == boost::fibers::channel_op_status::success) back.push(v);
  });
  int i = 0;
  for (auto _ : state) {
    to.push(i++);
    int v = 0;
    benchmark::DoNotOptimize(back.pop_wait_for(v, 1s));
  }
  to.close();
  echo.join();
}

// ---- a round trip through an actor that selects on two channels, the value sent on each in
// turn, and answers on a third; with a deadline, every select is answered in time

void BM_select_round_trip_smarm(benchmark::State& state, bool timeout) {
  smarm::run([&] {
    auto [to_a, from_a] = smarm::channel<int>(1);
    auto [to_b, from_b] = smarm::channel<int>(1);
    auto [back, from_echo] = smarm::channel<int>(1);
    smarm::JoinHandle echo = smarm::spawn(
        [timeout, a = std::move(from_a), b = std::move(from_b), tx = std::move(back)]() mutable {
          for (;;) {
            const std::optional<std::size_t> k =
                timeout ? smarm::select_for(1s, a, b) : smarm::select(a, b);
            if (!k) continue;
            const std::optional<int> v = (*k == 0 ? a : b).recv();  // ready: does not park
            if (!v) return;
            (void)tx.send(*v);
          }
        });
    int i = 0;
    for (auto _ : state) {
      (void)(i % 2 == 0 ? to_a : to_b).send(i);
      benchmark::DoNotOptimize(from_echo.recv());
      ++i;
    }
    to_a.close();
    to_b.close();
    echo.join();
  });
}

// ---- a million actors sleeping until random deadlines, woken in order: the CPU time per sleeper
// (spawn, sleep, wake, end), since the wall time is mostly the seconds they sleep, and the minor
// page faults per sleeper, which the Go peer reports too

std::int64_t minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

void BM_sleepers_smarm(benchmark::State& state) {
  constexpr int kSleepers = 1'000'000;
  std::mt19937_64 random(3);
  std::vector<std::int64_t> offsets(kSleepers);
  // Two to three seconds ahead: the first turns of a million sleepers, each on a stack the kernel
  // has not yet mapped, take a good part of a second, and a sleeper whose deadline has passed
  // when it starts returns at once, out of order.
  for (std::int64_t& o : offsets) o = static_cast<std::int64_t>(2 * kSecond + random() % kSecond);
  for (auto _ : state) {
    std::int64_t last = 0;
    bool in_order = true;
    int late = 0;
    const double cpu = smarm_bench::cpu_seconds();
    const std::int64_t faults = minor_faults();
    // The deadlines count from the end of the spawns, which all happen in the first actor's turn
    // (spawn does not switch). Out here, since that actor ends before its sleepers wake.
    smarm::Clock::time_point start;
    smarm::run([&] {
      for (const std::int64_t o : offsets) {
        smarm::spawn([&, o] {
          const smarm::Clock::time_point deadline = start + std::chrono::nanoseconds(o);
          // On a loaded machine the first turns can outlast the head start: a sleeper whose
          // deadline passed before it slept returns at once, out of order, and is counted apart.
          if (smarm::Clock::now() >= deadline) {
            ++late;
            return;
          }
          smarm::sleep_until(deadline);
          in_order = in_order && o >= last;
          last = o;
        });
      }
      start = smarm::Clock::now();
    });
    state.SetIterationTime(smarm_bench::cpu_seconds() - cpu);
    state.counters["faults"] = static_cast<double>(minor_faults() - faults) / kSleepers;
    state.counters["late"] = late;
    // An error, not a row: Debian's libbenchmark 1.7 crashes computing the statistics of
    // repetitions one of which was skipped, and the whole program's output is lost.
    if (!in_order) {
      std::fprintf(stderr, "sleepers_1M_cpu/smarm: woken out of order\n");
      std::exit(1);
    }
  }
  smarm_bench::per_op(state, kSleepers);
}

const bool registered = [] {
  using smarm::detail::TimerWheel;
  for (const std::uint32_t pending : {1000U, 1'000'000U}) {
    const std::string group = pending == 1000 ? "arm_cancel_1000_pending" : "arm_cancel_1M_pending";
    benchmark::RegisterBenchmark((group + "/smarm").c_str(), BM_arm_cancel<TimerWheel>, pending);
    benchmark::RegisterBenchmark((group + "/binary_heap").c_str(), BM_arm_cancel<Heap<2>>, pending);
    benchmark::RegisterBenchmark((group + "/heap4").c_str(), BM_arm_cancel<Heap<4>>, pending);
  }
  benchmark::RegisterBenchmark("fire_1M_in_order/smarm", BM_fire<TimerWheel>)->Iterations(1);
  benchmark::RegisterBenchmark("fire_1M_in_order/binary_heap", BM_fire<Heap<2>>)->Iterations(1);
  benchmark::RegisterBenchmark("fire_1M_in_order/heap4", BM_fire<Heap<4>>)->Iterations(1);
  benchmark::RegisterBenchmark("timeout_round_trip/smarm", BM_round_trip_smarm, true)
      ->UseRealTime();
  benchmark::RegisterBenchmark("timeout_round_trip/smarm_without_timeout", BM_round_trip_smarm,
                               false)
      ->UseRealTime();
  benchmark::RegisterBenchmark("timeout_round_trip/boost_fiber_buffered", BM_round_trip_boost)
      ->UseRealTime();
  benchmark::RegisterBenchmark("select_round_trip/smarm", BM_select_round_trip_smarm, false)
      ->UseRealTime();
  benchmark::RegisterBenchmark("select_round_trip/smarm_select_for_1s", BM_select_round_trip_smarm,
                               true)
      ->UseRealTime();
  benchmark::RegisterBenchmark("sleepers_1M_cpu/smarm", BM_sleepers_smarm)
      ->UseManualTime()
      ->Iterations(1)
      ->Repetitions(3);
  // Go's timers (GOMAXPROCS=1), by bench/peer.hpp: time.AfterFunc + Stop among as many pending
  // timers, and a million goroutines in time.Sleep, their CPU time.
  smarm_bench::register_peer("arm_cancel_1000_pending/go_afterfunc_stop", smarm_bench::go_peer(),
                             "timer 1000 1000000", 1'000'000.0);
  smarm_bench::register_peer("arm_cancel_1M_pending/go_afterfunc_stop", smarm_bench::go_peer(),
                             "timer 1000000 1000000", 1'000'000.0)
      ->Repetitions(3);
  // Go's round trip whose receives wait at most a second: a select on the channel and a timer.
  smarm_bench::register_peer("timeout_round_trip/go_select_timer", smarm_bench::go_peer(),
                             "timed_pingpong 1000000", 1'000'000.0);
  // Go's select over two channels, and with a one-second timer too (stopped and reset each round).
  smarm_bench::register_peer("select_round_trip/go", smarm_bench::go_peer(), "select 1000000",
                             1'000'000.0);
  smarm_bench::register_peer("select_round_trip/go_with_timer", smarm_bench::go_peer(),
                             "select_timer 1000000", 1'000'000.0);
  smarm_bench::register_peer("sleepers_1M_cpu/go", smarm_bench::go_peer(), "sleepers 1000000",
                             1'000'000.0)
      ->Repetitions(3);
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
