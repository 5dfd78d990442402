// bench_switch.cpp — the cost of one context switch: smarm next to Boost.Context and POSIX
// swapcontext in one binary and one run, plus the switch variants chapter 1 discusses.
//
// Every benchmark ping-pongs between the benchmark loop and one other context; an iteration is a
// round trip, i.e. two switches, and the `per_op` counter reports the time per switch.
#include <smarm/context.hpp>

#include <ucontext.h>
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>

#include <cstdio>
#include <vector>

#include "bench_main.hpp"

namespace {

constexpr std::size_t kStackSize = 64 * 1024;

void count_switches(benchmark::State& state) { smarm_bench::per_op(state, 2); }

// --- smarm, through the public API --------------------------------------------------------------
struct SmarmPair {
  smarm::Context main, other;
};

void smarm_echo(void* arg) {
  auto* p = static_cast<SmarmPair*>(arg);
  for (;;) p->other.switch_to(p->main);
}

void BM_smarm(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  SmarmPair p;
  p.other = smarm::Context::make(stack, smarm_echo, &p, p.main);
  for (auto _ : state) p.main.switch_to(p.other);
  count_switches(state);
}
BENCHMARK(BM_smarm)->Name("switch/smarm");

// --- the raw switch and its variants (same frame, one decision changed each) ---------------------
using SwitchFn = void(void**, void*);

template <SwitchFn* Switch>
struct RawPair {
  void* main_sp = nullptr;
  void* other_sp = nullptr;
  static void echo(void* arg) {
    auto* p = static_cast<RawPair*>(arg);
    for (;;) Switch(&p->other_sp, p->main_sp);
  }
};

// Both sides switch from a loop: the shape where a `ret` into the other context is mispredicted.
template <SwitchFn* Switch>
void BM_raw(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  RawPair<Switch> p;
  p.other_sp = smarm_make_frame(stack.data() + stack.size(), &RawPair<Switch>::echo, &p);
  for (auto _ : state) Switch(&p.main_sp, p.other_sp);
  count_switches(state);
}

// Both sides switch through one out-of-line function that returns afterwards, as a scheduler's
// yield does: the code after the switch executes a `ret` on the resumed stack.
template <SwitchFn* Switch>
[[gnu::noinline]] void yield_through(void** save, void* to) {
  Switch(save, to);
  benchmark::ClobberMemory();
}

template <SwitchFn* Switch>
struct WrappedPair {
  void* main_sp = nullptr;
  void* other_sp = nullptr;
  static void echo(void* arg) {
    auto* p = static_cast<WrappedPair*>(arg);
    for (;;) yield_through<Switch>(&p->other_sp, p->main_sp);
  }
};

template <SwitchFn* Switch>
void BM_wrapped(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  WrappedPair<Switch> p;
  p.other_sp = smarm_make_frame(stack.data() + stack.size(), &WrappedPair<Switch>::echo, &p);
  for (auto _ : state) yield_through<Switch>(&p.main_sp, p.other_sp);
  count_switches(state);
}

BENCHMARK(BM_raw<smarm_switch>)->Name("switch_loop/smarm_switch (path chosen at start-up)");
BENCHMARK(BM_wrapped<smarm_switch>)->Name("switch_via_function/smarm_switch (path chosen)");

}  // namespace

#if defined(__x86_64__)
extern "C" {
// The path smarm_switch takes, chosen at start-up from the CPU vendor (see switch_x86_64.S).
extern unsigned char smarm_switch_mxcsr_always;
SwitchFn smarm_bench_switch_compare;
SwitchFn smarm_bench_switch_fpalways;
SwitchFn smarm_bench_switch_ret;
SwitchFn smarm_bench_switch_mov;
SwitchFn smarm_bench_switch_x87cmp;
SwitchFn smarm_bench_switch_readback;
SwitchFn smarm_bench_switch_threadflags;
SwitchFn smarm_bench_switch_saveonly;
SwitchFn smarm_bench_switch_nofp;
}
namespace {

// smarm_switch with one path forced, whatever the CPU: both paths, each with the test that
// chooses between them, measured in the same run.
template <unsigned char MxcsrAlways, void (*Bench)(benchmark::State&)>
void BM_forced(benchmark::State& state) {
  const unsigned char chosen = smarm_switch_mxcsr_always;
  smarm_switch_mxcsr_always = MxcsrAlways;
  Bench(state);
  smarm_switch_mxcsr_always = chosen;
}

BENCHMARK(BM_forced<0, BM_raw<smarm_switch>>)->Name("switch_loop/forced: compare path");
BENCHMARK(BM_forced<1, BM_raw<smarm_switch>>)->Name("switch_loop/forced: MXCSR-always path");
BENCHMARK(BM_forced<0, BM_wrapped<smarm_switch>>)->Name("switch_via_function/forced: compare path");
BENCHMARK(BM_forced<1, BM_wrapped<smarm_switch>>)
    ->Name("switch_via_function/forced: MXCSR-always path");

BENCHMARK(BM_raw<smarm_bench_switch_compare>)->Name("switch_loop/compare, no choice");
BENCHMARK(BM_raw<smarm_bench_switch_x87cmp>)->Name("switch_loop/MXCSR always, no choice");
BENCHMARK(BM_raw<smarm_bench_switch_fpalways>)->Name("switch_loop/both always (fcontext's)");
BENCHMARK(BM_raw<smarm_bench_switch_ret>)->Name("switch_loop/both always, ret");
BENCHMARK(BM_raw<smarm_bench_switch_mov>)->Name("switch_loop/both always, movs");
BENCHMARK(BM_raw<smarm_bench_switch_readback>)->Name("switch_loop/both always + read-back");
BENCHMARK(BM_raw<smarm_bench_switch_threadflags>)->Name("switch_loop/both always, thread flags");
BENCHMARK(BM_raw<smarm_bench_switch_saveonly>)->Name("switch_loop/save only (incorrect)");
BENCHMARK(BM_raw<smarm_bench_switch_nofp>)->Name("switch_loop/no FP control (incorrect)");

BENCHMARK(BM_wrapped<smarm_bench_switch_compare>)->Name("switch_via_function/compare, no choice");
BENCHMARK(BM_wrapped<smarm_bench_switch_x87cmp>)
    ->Name("switch_via_function/MXCSR always, no choice");
BENCHMARK(BM_wrapped<smarm_bench_switch_fpalways>)
    ->Name("switch_via_function/both always (fcontext's)");
BENCHMARK(BM_wrapped<smarm_bench_switch_ret>)->Name("switch_via_function/both always, ret");

}  // namespace
#endif

namespace {

// --- Boost.Context: the fcontext primitive, and the fiber built on it ----------------------------
namespace bctx = boost::context;

void fcontext_echo(bctx::detail::transfer_t t) {
  for (;;) t = bctx::detail::jump_fcontext(t.fctx, nullptr);
}

void BM_boost_fcontext(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  auto ctx = bctx::detail::make_fcontext(stack.data() + stack.size(), stack.size(), fcontext_echo);
  for (auto _ : state) ctx = bctx::detail::jump_fcontext(ctx, nullptr).fctx;
  count_switches(state);
}
BENCHMARK(BM_boost_fcontext)->Name("switch/boost_fcontext");

void BM_boost_fiber(benchmark::State& state) {
  bctx::fiber f{[](bctx::fiber&& main) {
    for (;;) main = std::move(main).resume();
    return std::move(main);
  }};
  for (auto _ : state) f = std::move(f).resume();
  count_switches(state);
  // The echo fiber never returns; Boost unwinds it with forced_unwind when f is destroyed.
}
BENCHMARK(BM_boost_fiber)->Name("switch/boost_fiber");

// --- POSIX swapcontext
// ------------------------------------------------------------------------------
ucontext_t uc_main, uc_other;

void ucontext_echo() {
  for (;;) swapcontext(&uc_other, &uc_main);
}

void BM_swapcontext(benchmark::State& state) {
  std::vector<std::byte> stack(kStackSize);
  getcontext(&uc_other);
  uc_other.uc_stack.ss_sp = stack.data();
  uc_other.uc_stack.ss_size = stack.size();
  uc_other.uc_link = nullptr;
  makecontext(&uc_other, ucontext_echo, 0);
  for (auto _ : state) swapcontext(&uc_main, &uc_other);
  count_switches(state);
}
BENCHMARK(BM_swapcontext)->Name("switch/swapcontext");

}  // namespace

int main(int argc, char** argv) {
#if defined(__x86_64__)
  std::printf("smarm_switch path chosen at start-up: %s\n",
              smarm_switch_mxcsr_always != 0 ? "MXCSR always (AMD)" : "compare (not AMD)");
#endif
  return smarm_bench::main(argc, argv);
}
