// bench_primes.cpp — the prototype's headline benchmark: count the primes below a bound by fanning
// the range out to many actors, one per chunk, each sending its count back through a channel that
// the caller sums (fan-out / fan-in), against the same function run serially in this process, and
// the same computation in Rust on tokio's current-thread runtime (tokio::spawn per chunk) and in
// Go's goroutines (bench/peers/, run by bench/peer.hpp), each beside its own language's serial
// loop. What the runtime costs is the time over serial: the prototype's runtime measured 3.4%, and
// this one's target is at most 1%, faster than tokio.
#include <smarm/actor.hpp>
#include <smarm/channel.hpp>

#include <cstdint>
#include <string>

#include "bench_main.hpp"
#include "peer.hpp"

namespace {

// The count (primes below 3,000,000: 216,816) takes some 0.3 s here; 1000 chunks of 3000 numbers
// make the actors many while each still computes far longer than it costs to spawn.
constexpr std::uint32_t kBound = 3'000'000;
constexpr std::uint32_t kChunks = 1000;
constexpr std::uint32_t kPrimesBelowBound = 216'816;

// The primes in [lo, hi), by trial division by odd numbers: the same function, written the same
// way, in every language (bench/peers/peers.go, bench/peers/tokio/src/main.rs).
std::uint32_t count_primes(std::uint32_t lo, std::uint32_t hi) {
  std::uint32_t count = 0;
  for (std::uint32_t n = lo; n < hi; ++n) {
    if (n < 2 || (n % 2 == 0 && n != 2)) continue;
    bool prime = true;
    for (std::uint32_t d = 3; d * d <= n; d += 2) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime ? 1 : 0;
  }
  return count;
}

// Chunk i of kChunks: [lo, hi).
std::uint32_t chunk_start(std::uint32_t i) {
  return static_cast<std::uint32_t>(std::uint64_t{kBound} * i / kChunks);
}

void check(benchmark::State& state, std::uint32_t count) {
  if (count != kPrimesBelowBound) state.SkipWithError("wrong count of primes");
}

// Every row, the peers' too, reports CPU time: the count is the processor's work alone, so its CPU
// time is what a runtime adds to it, while its wall time on a machine that others share is mostly
// how long it waited for a core.

// The same chunks, one after the other on this thread: the reference.
void BM_primes_serial(benchmark::State& state) {
  for (auto _ : state) {
    const double start = smarm_bench::cpu_seconds();
    std::uint32_t total = 0;
    for (std::uint32_t i = 0; i < kChunks; ++i) {
      total += count_primes(chunk_start(i), chunk_start(i + 1));
    }
    benchmark::DoNotOptimize(total);
    state.SetIterationTime(smarm_bench::cpu_seconds() - start);
    check(state, total);
  }
}

// One actor per chunk, each sending its count through one channel with room for every answer, so
// that no sender waits; the caller receives and sums them.
void BM_primes_smarm(benchmark::State& state) {
  for (auto _ : state) {
    const double start = smarm_bench::cpu_seconds();
    std::uint32_t total = 0;
    smarm::run([&total] {
      auto [tx, rx] = smarm::channel<std::uint32_t>(kChunks);
      for (std::uint32_t i = 0; i < kChunks; ++i) {
        smarm::spawn([tx = tx, i]() mutable {
          (void)tx.send(count_primes(chunk_start(i), chunk_start(i + 1)));
        }).detach();
      }
      tx.close();
      while (std::optional<std::uint32_t> count = rx.recv()) total += *count;
    });
    benchmark::DoNotOptimize(total);
    state.SetIterationTime(smarm_bench::cpu_seconds() - start);
    check(state, total);
  }
}

const bool registered = [] {
  benchmark::RegisterBenchmark("primes/serial", BM_primes_serial)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("primes/smarm", BM_primes_smarm)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  const std::string args = std::to_string(kBound) + " " + std::to_string(kChunks) + " " +
                           std::to_string(kPrimesBelowBound);
  using smarm_bench::register_peer;
  register_peer("primes/tokio", smarm_bench::tokio_peer(), "primes " + args, 1.0);
  register_peer("primes/rust_serial", smarm_bench::tokio_peer(), "primes_serial " + args, 1.0);
  register_peer("primes/go", smarm_bench::go_peer(), "primes " + args, 1.0);
  register_peer("primes/go_serial", smarm_bench::go_peer(), "primes_serial " + args, 1.0);
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
