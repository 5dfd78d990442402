// bench_supervision.cpp — the cost of a crash and its restart under a one-for-one supervisor,
// next to Erlang/OTP's `supervisor` on one scheduler (bench/peers/peers.erl, run by peer.hpp).
// One operation is one restart: a child fails, its supervisor hears the signal, checks its
// restart intensity and starts the child again. As in the Erlang workload, each supervisor sees
// kRestarts restarts (its intensity allows exactly those), then its child returns (it is
// transient) and the supervisor ends: the supervisor's own start and end are counted, spread over
// its restarts. The child fails by a C++ exception, a std::runtime_error thrown and caught; two
// more rows split that figure: a child that returns (supervision alone) and the throw alone.
#include <smarm/actor.hpp>
#include <smarm/supervisor.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "bench_main.hpp"
#include "peer.hpp"

namespace {

constexpr int kRestarts = 100;  // per supervisor, as peers.erl's restart workload

// Each iteration is one supervisor and its kRestarts restarts of a child that throws.
void BM_restart_smarm(benchmark::State& state) {
  smarm::run([&] {
    for (auto _ : state) {
      auto failures = std::make_shared<int>(kRestarts);
      smarm::JoinHandle sup =
          smarm::spawn(smarm::Supervisor(smarm::Strategy::OneForOne,
                                         {{"crashy",
                                           [failures] {
                                             if ((*failures)-- > 0)
                                               throw std::runtime_error("crash");
                                           },
                                           smarm::Restart::Transient}},
                                         kRestarts, std::chrono::hours(1)));
      benchmark::DoNotOptimize(sup.join().ok());
    }
  });
  smarm_bench::per_op(state, kRestarts);
}

// The same restarts, the child returning instead of throwing: a permanent child is restarted
// however it ends. What is left is the supervision's own cost: the signal, the supervisor's
// turn, the intensity check, the spawn. (After its kRestarts restarts the supervisor gives up by
// RestartIntensityExceeded, one throw spread over them.)
void BM_restart_smarm_returning(benchmark::State& state) {
  smarm::run([&] {
    for (auto _ : state) {
      smarm::JoinHandle sup = smarm::spawn(smarm::Supervisor(
          smarm::Strategy::OneForOne, {{"returns", [] {}}}, kRestarts, std::chrono::hours(1)));
      benchmark::DoNotOptimize(sup.join().ok());
    }
  });
  smarm_bench::per_op(state, kRestarts);
}

// What a C++ crash costs without any actor: the child's throw of a std::runtime_error, caught as
// actor_main catches it, through as many frames (the std::function a child is kept in).
[[gnu::noinline]] std::exception_ptr crash_and_catch(const std::function<void()>& body) {
  try {
    body();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

void BM_throw_alone(benchmark::State& state) {
  const std::function<void()> body = [] { throw std::runtime_error("crash"); };
  for (auto _ : state) benchmark::DoNotOptimize(crash_and_catch(body));
}

const bool registered = [] {
  benchmark::RegisterBenchmark("restart/smarm", BM_restart_smarm)->UseRealTime();
  benchmark::RegisterBenchmark("restart/smarm_child_returns", BM_restart_smarm_returning)
      ->UseRealTime();
  benchmark::RegisterBenchmark("restart/cxx_throw_alone", BM_throw_alone)->UseRealTime();
  // Erlang/OTP's supervisor, one scheduler: 1000 supervisors of 100 restarts each.
  smarm_bench::register_peer("restart/erlang", smarm_bench::erlang_peer(), "restart 100000 100",
                             100'000.0);
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return smarm_bench::main(argc, argv); }
