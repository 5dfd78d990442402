// peer.hpp — a benchmark whose figures come from a peer program in another language: Go's
// goroutines (bench/peers/peers.go), Erlang's processes (bench/peers/peers.erl) or Rust's tokio
// tasks (bench/peers/tokio), run as a subprocess one measurement at a time, so that their rows
// interleave with the in-process ones and land in bench_main.hpp's side-by-side table. A peer whose
// toolchain was missing when the build was configured is reported as skipped, never as a zero.
//
// Every peer speaks one protocol: `<peer> <measurement> <counts...>` prints "<ns per operation>
// <minor faults per operation>" and, for measurements of memory, "<peak resident KiB>". The
// build (bench/CMakeLists.txt, smarm_bench_peers) passes each built peer's command line to a
// program as SMARM_GO_PEER, SMARM_ERLANG_PEER and SMARM_TOKIO_PEER.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_main.hpp"

namespace smarm_bench {

// A peer program: the command line that runs it, empty when its toolchain was not found, and what
// to install when it is missing.
struct Peer {
  std::vector<std::string> command;
  std::string missing;
};

// Go's goroutines, GOMAXPROCS=1.
inline const Peer& go_peer() {
  static const Peer peer{
#ifdef SMARM_GO_PEER
      {SMARM_GO_PEER},
#else
      {},
#endif
      "the Go peer is not built (Debian package golang-go) or failed"};
  return peer;
}

// Erlang's processes, on one scheduler (+S 1): escript and the script.
inline const Peer& erlang_peer() {
  static const Peer peer {
#if defined(SMARM_ERLANG_PEER) && defined(SMARM_ESCRIPT)
    {SMARM_ESCRIPT, SMARM_ERLANG_PEER},
#else
    {},
#endif
        "the Erlang peer is not built (Debian package erlang-nox) or failed"
  };
  return peer;
}

// Rust's tokio tasks on its current-thread runtime, built offline from Debian's packages.
inline const Peer& tokio_peer() {
  static const Peer peer{
#ifdef SMARM_TOKIO_PEER
      {SMARM_TOKIO_PEER},
#else
      {},
#endif
      "the tokio peer is not built (Debian packages cargo and librust-tokio-dev) or failed"};
  return peer;
}

// What one run of a peer measured. Its runtime times itself, so its start-up is not counted.
struct PeerFigures {
  double ns = 0;         // per operation
  double faults = 0;     // minor page faults per operation
  double peak_kib = -1;  // peak resident memory of the peer's process; negative: not measured
};

// Runs `peer` once with `args` (a measurement and its counts); false when it is not built, fails,
// or prints something else.
inline bool run_peer(const Peer& peer, const std::string& args, PeerFigures& out) {
  if (peer.command.empty()) return false;
  std::string command;
  for (const std::string& word : peer.command) {
    command += '\'';
    for (const char c : word) command += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += "' ";
  }
  command += args;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  const int read = std::fscanf(pipe, "%lf %lf %lf", &out.ns, &out.faults, &out.peak_kib);
  return pclose(pipe) == 0 && read >= 2;
}

// One iteration is one run of the peer, which performs `ops_per_run` operations; the time is the
// peer's own measurement. Counters: per_op, faults (per operation) and, when the peer measures it,
// peak_rss (the peak resident bytes of its process, the largest of the iterations').
inline void BM_peer(benchmark::State& state, const Peer* peer, const std::string& args,
                    double ops_per_run) {
  double faults = 0;
  double peak_kib = -1;
  for (auto _ : state) {
    PeerFigures figures;
    if (!run_peer(*peer, args, figures)) {
      state.SkipWithError(peer->missing.c_str());
      return;
    }
    state.SetIterationTime(figures.ns * 1e-9 * ops_per_run);
    faults += figures.faults;
    if (figures.peak_kib > peak_kib) peak_kib = figures.peak_kib;
  }
  per_op(state, ops_per_run);
  state.counters["faults"] = faults / static_cast<double>(state.iterations());
  if (peak_kib >= 0) peak_rss(state, peak_kib * 1024);
}

// Registers the row `name` ("<group>/<implementation>") whose figures `peer` measures with `args`,
// one run per repetition.
inline benchmark::internal::Benchmark* register_peer(const std::string& name, const Peer& peer,
                                                     const std::string& args, double ops_per_run) {
  return benchmark::RegisterBenchmark(name.c_str(), BM_peer, &peer, args, ops_per_run)
      ->UseManualTime()
      ->Iterations(1);
}

}  // namespace smarm_bench
