// bench_channels.cpp — channels against their peers in one run: a ping-pong round trip between
// two actors, a token passed round a ring of 1000 actors, and skynet (a tree of 1,111,111 actors,
// each leaf sending its number up through channels), next to Boost.Fiber's buffered_channel and
// unbuffered_channel on its default scheduler (skynet with launch::dispatch). Skynet also reports
// the peak resident memory of a fresh process that runs it once (this program, started again with
// --skynet-child or --skynet-child-boost), so that no memory an earlier benchmark left in a pool
// is counted.
#include <spawn.h>
#include <sys/wait.h>
#include <smarm/actor.hpp>
#include <smarm/channel.hpp>

#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_main.hpp"
#include "peer.hpp"

extern char** environ;  // NOLINT: POSIX's, for posix_spawn

namespace {

// ---- ping-pong: one iteration is one round trip (a send each way, two switches)

void BM_ping_pong_smarm(benchmark::State& state, std::size_t capacity) {
  smarm::run([&] {
    auto [to, from_main] = capacity == 0 ? smarm::channel<int>() : smarm::channel<int>(capacity);
    auto [back, from_echo] = capacity == 0 ? smarm::channel<int>() : smarm::channel<int>(capacity);
    smarm::JoinHandle echo =
        smarm::spawn([rx = std::move(from_main), tx = std::move(back)]() mutable {
          while (std::optional<int> v = rx.recv()) (void)tx.send(*v);
        });
    int i = 0;
    for (auto _ : state) {
      (void)to.send(i);
      benchmark::DoNotOptimize(from_echo.recv());
      ++i;
    }
    to.close();
    echo.join();
  });
}

template <class Channel, class... Args>
void BM_ping_pong_boost(benchmark::State& state, Args... args) {
  Channel to(args...);
  Channel back(args...);
  boost::fibers::fiber echo([&] {
    int v = 0;
    while (to.pop(v) == boost::fibers::channel_op_status::success) back.push(v);
    back.close();
  });
  int i = 0;
  for (auto _ : state) {
    to.push(i);
    int v = 0;
    back.pop(v);
    benchmark::DoNotOptimize(v);
    ++i;
  }
  to.close();
  echo.join();
}

// ---- ring: 1000 actors, each receiving from its own channel and sending to the next one's; a
// token goes 1000 times round. Per hop. A negative token stops them.

constexpr int kRing = 1000;
constexpr int kRounds = 1000;

void BM_ring_smarm(benchmark::State& state) {
  smarm::run([&] {
    std::vector<smarm::Sender<int>> senders;
    std::vector<smarm::Receiver<int>> receivers;
    for (int i = 0; i < kRing; ++i) {
      auto [tx, rx] = smarm::channel<int>(1);
      senders.push_back(std::move(tx));
      receivers.push_back(std::move(rx));
    }
    auto [done, finished] = smarm::channel<int>(1);
    for (int i = 0; i < kRing; ++i) {
      smarm::spawn([rx = std::move(receivers[i]), next = senders[(i + 1) % kRing],
                    done = done]() mutable {
        while (std::optional<int> token = rx.recv()) {
          if (*token < 0) {
            (void)next.send(*token);
            return;
          }
          if (*token == 0) {
            (void)done.send(0);
          } else {
            (void)next.send(*token - 1);
          }
        }
      }).detach();
    }
    smarm::Sender<int> first = senders[0];
    senders.clear();  // the ring's actors hold the others
    for (auto _ : state) {
      (void)first.send(kRing * kRounds - 1);
      benchmark::DoNotOptimize(finished.recv());
    }
    (void)first.send(-1);
  });
  smarm_bench::per_op(state, kRing * kRounds);
}

void BM_ring_boost(benchmark::State& state) {
  using Channel = boost::fibers::buffered_channel<int>;
  std::vector<std::unique_ptr<Channel>> channels;
  for (int i = 0; i < kRing; ++i) channels.push_back(std::make_unique<Channel>(2));
  Channel finished(2);
  std::vector<boost::fibers::fiber> fibers;
  for (int i = 0; i < kRing; ++i) {
    fibers.emplace_back([&, i] {
      Channel& rx = *channels[i];
      Channel& next = *channels[(i + 1) % kRing];
      int token = 0;
      while (rx.pop(token) == boost::fibers::channel_op_status::success) {
        if (token < 0) {
          next.push(token);
          return;
        }
        if (token == 0) {
          finished.push(0);
        } else {
          next.push(token - 1);
        }
      }
    });
  }
  for (auto _ : state) {
    channels[0]->push(kRing * kRounds - 1);
    int v = 0;
    finished.pop(v);
    benchmark::DoNotOptimize(v);
  }
  channels[0]->push(-1);
  for (boost::fibers::fiber& f : fibers) f.join();
  smarm_bench::per_op(state, kRing * kRounds);
}

// ---- skynet: each node makes a channel, spawns ten children that send it their sums, and sends
// the total of what it receives up to its parent; the leaves, 1,000,000 of them, send their number.

void skynet_smarm(smarm::Sender<std::int64_t> parent, std::int64_t num, std::int64_t size) {
  if (size == 1) {
    (void)parent.send(num);
    return;
  }
  auto [tx, rx] = smarm::channel<std::int64_t>(10);
  const std::int64_t part = size / 10;
  for (std::int64_t i = 0; i < 10; ++i) {
    smarm::spawn([tx = tx, num, part, i] { skynet_smarm(tx, num + i * part, part); }).detach();
  }
  tx.close();
  std::int64_t sum = 0;
  while (std::optional<std::int64_t> v = rx.recv()) sum += *v;
  (void)parent.send(sum);
}

std::int64_t run_skynet_smarm() {
  std::int64_t result = 0;
  smarm::run([&] {
    auto [tx, rx] = smarm::channel<std::int64_t>(1);
    skynet_smarm(std::move(tx), 0, 1'000'000);
    result = rx.recv().value();
  });
  return result;
}

// Boost.Fiber's, launched with launch::dispatch: each child runs at once, before its parent goes
// on, which runs the tree depth first. (Its default, launch::post, queues the child behind every
// ready fiber: breadth first, the whole tree alive at once.)
void skynet_boost(boost::fibers::buffered_channel<std::int64_t>& parent, std::int64_t num,
                  std::int64_t size) {
  if (size == 1) {
    parent.push(num);
    return;
  }
  boost::fibers::buffered_channel<std::int64_t> rx(16);  // a power of two, as Boost requires
  const std::int64_t part = size / 10;
  for (std::int64_t i = 0; i < 10; ++i) {
    boost::fibers::fiber(boost::fibers::launch::dispatch, [&rx, num, part, i] {
      skynet_boost(rx, num + i * part, part);
    }).detach();
  }
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += rx.value_pop();  // rx outlives the children's pushes
  parent.push(sum);
}

std::int64_t run_skynet_boost() {
  boost::fibers::buffered_channel<std::int64_t> top(2);
  skynet_boost(top, 0, 1'000'000);
  return top.value_pop();
}

// In the child: one skynet, smarm's or Boost.Fiber's, then "<seconds> <peak bytes> <result>" on
// stdout.
int skynet_child(bool boost) {
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t result = boost ? run_skynet_boost() : run_skynet_smarm();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("%.9f %.0f %lld\n", took.count(), smarm_bench::peak_resident_bytes(),
              static_cast<long long>(result));
  return result == 499'999'500'000 ? 0 : 1;
}

// One iteration is one run of skynet in a fresh process; its time is the child's own measurement.
void BM_skynet(benchmark::State& state, const char* child_flag) {
  double peak = 0;
  for (auto _ : state) {
    int fds[2];
    if (pipe(fds) != 0) {
      state.SkipWithError("pipe failed");
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::string self = "/proc/self/exe";
    std::string flag = child_flag;
    char* argv[] = {self.data(), flag.data(), nullptr};
    pid_t child = 0;
    const int spawned = posix_spawn(&child, self.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    double seconds = 0;
    long bytes = 0;
    long long result = 0;
    FILE* out = fdopen(fds[0], "r");
    const bool read =
        out != nullptr && std::fscanf(out, "%lf %ld %lld", &seconds, &bytes, &result) == 3;
    if (out != nullptr) std::fclose(out);
    int status = 0;
    if (spawned == 0) waitpid(child, &status, 0);
    if (spawned != 0 || !read || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError("the skynet child failed");
      return;
    }
    state.SetIterationTime(seconds);
    peak = std::max(peak, static_cast<double>(bytes));
  }
  smarm_bench::peak_rss(state, peak);
}

const bool registered = [] {
  benchmark::RegisterBenchmark("ping_pong/smarm", BM_ping_pong_smarm, std::size_t{1})
      ->UseRealTime();
  benchmark::RegisterBenchmark("ping_pong/smarm_unbounded", BM_ping_pong_smarm, std::size_t{0})
      ->UseRealTime();
  benchmark::RegisterBenchmark(
      "ping_pong/boost_fiber_buffered",
      BM_ping_pong_boost<boost::fibers::buffered_channel<int>, std::size_t>, std::size_t{2})
      ->UseRealTime();
  benchmark::RegisterBenchmark("ping_pong/boost_fiber_unbuffered",
                               BM_ping_pong_boost<boost::fibers::unbuffered_channel<int>>)
      ->UseRealTime();
  benchmark::RegisterBenchmark("ring/smarm", BM_ring_smarm)->UseRealTime();
  benchmark::RegisterBenchmark("ring/boost_fiber_buffered", BM_ring_boost)->UseRealTime();
  benchmark::RegisterBenchmark("skynet/smarm", BM_skynet, "--skynet-child")
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("skynet/boost_fiber_dispatch", BM_skynet, "--skynet-child-boost")
      ->UseManualTime()
      ->Iterations(1)
      ->Repetitions(3)  // some 7 s a time
      ->Unit(benchmark::kMillisecond);
  // Go's goroutines (GOMAXPROCS=1) and Erlang's processes (one scheduler), run by bench/peer.hpp
  // one measurement at a time; each row is skipped when its toolchain is not installed. A skynet
  // of Erlang's takes some 80 s and 2.9 GB a time: three repetitions, not nine.
  using smarm_bench::erlang_peer;
  using smarm_bench::go_peer;
  using smarm_bench::register_peer;
  register_peer("ping_pong/go_unbuffered", go_peer(), "pingpong 1000000", 1'000'000.0);
  register_peer("ping_pong/go_capacity_1", go_peer(), "pingpong1 1000000", 1'000'000.0);
  register_peer("ping_pong/erlang", erlang_peer(), "pingpong 1000000", 1'000'000.0);
  register_peer("ring/go", go_peer(), "ring 1000 1000", 1'000'000.0);
  register_peer("ring/erlang", erlang_peer(), "ring 1000 1000", 1'000'000.0);
  register_peer("skynet/go", go_peer(), "skynet 1000000", 1.0)->Repetitions(3);
  register_peer("skynet/erlang", erlang_peer(), "skynet 1000000", 1.0)->Repetitions(3);
  // tokio's tasks on its current-thread runtime; its mpsc channels have a capacity of 1 at least.
  using smarm_bench::tokio_peer;
  register_peer("ping_pong/tokio_capacity_1", tokio_peer(), "pingpong1 1000000", 1'000'000.0);
  register_peer("ring/tokio_capacity_1", tokio_peer(), "ring 1000 1000", 1'000'000.0);
  register_peer("skynet/tokio", tokio_peer(), "skynet 1000000", 1.0)->Repetitions(3);
  return true;
}();

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--skynet-child") == 0) return skynet_child(false);
  if (argc == 2 && std::strcmp(argv[1], "--skynet-child-boost") == 0) return skynet_child(true);
  return smarm_bench::main(argc, argv);
}
