// test_context.cpp — the context switch's contract: registers, FP control and flags, alignment,
// deep stacks, exceptions, the end of a context, the outermost frame, and the errors a user can
// make.
#include <gtest/gtest.h>
#include <unwind.h>

#include <cfenv>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <smarm/context.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

extern "C" {
void smarm_test_switch_with_sentinels(void** save, void* to, std::uint64_t* out);
void smarm_test_clobber_and_switch(void** save, void* to);
std::uintptr_t smarm_test_caller_sp();
// Hidden in the library, visible to this static link:
void smarm_trampoline();
#if defined(__x86_64__)
extern unsigned char smarm_switch_mxcsr_always;  // the path the switch takes, chosen at start-up
#endif

// libgcc's lookup of the unwind information (FDE) that covers an address, as unwinders use it.
struct dwarf_eh_bases {
  void* tbase;
  void* dbase;
  void* func;
};
const void* _Unwind_Find_FDE(void* pc, dwarf_eh_bases* bases);
}

namespace {

using smarm::Context;

constexpr std::uint64_t sentinel(unsigned i) {
  return 0x5EED000000000000ULL + i * 0x0000010101010101ULL + 1;
}

#if defined(__x86_64__)
constexpr unsigned kSavedRegisters = 6;  // rbx rbp r12 r13 r14 r15
constexpr unsigned kOutWords = kSavedRegisters + 2;
#else
constexpr unsigned kSavedRegisters = 19;  // x19-x29, d8-d15
constexpr unsigned kOutWords = kSavedRegisters + 1;
#endif

std::uint64_t fp_control_now() {
#if defined(__x86_64__)
  std::uint16_t cw = 0;
  asm volatile("fnstcw %0" : "=m"(cw));
  // Only the control bits: the low six MXCSR bits are sticky exception flags.
  return (std::uint64_t{_mm_getcsr()} & ~std::uint64_t{0x3f}) | (std::uint64_t{cw} << 32);
#else
  std::uint64_t fpcr = 0;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  return fpcr;
#endif
}

// The whole FP state the switch carries: on x86-64 MXCSR (modes and exception flags) and the x87
// control word; on aarch64 FPCR (modes) and FPSR (exception flags).
struct FpState {
  std::uint64_t control = 0, status = 0;
  bool operator==(const FpState&) const = default;
};

FpState fp_state_now() {
  FpState s;
#if defined(__x86_64__)
  std::uint32_t mxcsr = 0;
  std::uint16_t cw = 0;
  asm volatile("stmxcsr %0; fnstcw %1" : "=m"(mxcsr), "=m"(cw));
  s.control = mxcsr | (std::uint64_t{cw} << 32);
#else
  asm volatile("mrs %0, fpcr; mrs %1, fpsr" : "=r"(s.control), "=r"(s.status));
#endif
  return s;
}

void fp_state_set(const FpState& s) {
#if defined(__x86_64__)
  const auto mxcsr = static_cast<std::uint32_t>(s.control);
  const auto cw = static_cast<std::uint16_t>(s.control >> 32);
  asm volatile("ldmxcsr %0; fldcw %1" : : "m"(mxcsr), "m"(cw));
#else
  asm volatile("msr fpcr, %0; msr fpsr, %1" : : "r"(s.control), "r"(s.status));
#endif
}

std::ostream& operator<<(std::ostream& os, const FpState& s) {
  return os << std::hex << "{control 0x" << s.control << ", status 0x" << s.status << "}"
            << std::dec;
}

// Runs `body` on every path of the switch. On x86-64 the switch reloads the FP words either only
// when they differ or always, as chosen at start-up from the CPU vendor; both must keep the
// contract on any machine, so each is forced in turn. AArch64 has one path.
template <class Body>
void on_every_path(Body body) {
#if defined(__x86_64__)
  struct Restore {
    unsigned char chosen = smarm_switch_mxcsr_always;
    ~Restore() { smarm_switch_mxcsr_always = chosen; }
  } restore;
  for (const unsigned char mxcsr_always : {0, 1}) {
    smarm_switch_mxcsr_always = mxcsr_always;
    SCOPED_TRACE(mxcsr_always != 0 ? "path: MXCSR always" : "path: compare");
    body();
  }
#else
  body();
#endif
}

std::uint64_t fp_control_in(const std::uint64_t (&out)[kOutWords]) {
#if defined(__x86_64__)
  return (out[6] & ~std::uint64_t{0x3f}) | ((out[7] & 0xffff) << 32);
#else
  return out[19];
#endif
}

// The other side of the register test: runs on a raw frame and, every time it is resumed,
// clobbers every callee-saved register and the FP control state before switching back.
struct RawPair {
  void* main_sp = nullptr;
  void* other_sp = nullptr;
};

void clobberer(void* arg) {
  auto* p = static_cast<RawPair*>(arg);
  for (;;) smarm_test_clobber_and_switch(&p->other_sp, p->main_sp);
}

TEST(ContextSwitch, EveryCalleeSavedRegisterSurvivesARoundTrip) {
  on_every_path([] {
    std::vector<std::byte> stack(64 * 1024);
    RawPair pair;
    pair.other_sp = smarm_make_frame(stack.data() + stack.size(), clobberer, &pair);
    const std::uint64_t control = fp_control_now();
    // The first round trip enters the other side through the trampoline, the second resumes it.
    for (int round = 0; round < 2; ++round) {
      std::uint64_t out[kOutWords] = {};
      smarm_test_switch_with_sentinels(&pair.main_sp, pair.other_sp, out);
      for (unsigned i = 0; i < kSavedRegisters; ++i) {
        EXPECT_EQ(out[i], sentinel(i)) << "callee-saved register #" << i << ", round " << round;
      }
      EXPECT_EQ(fp_control_in(out), control) << "FP control words, round " << round;
    }
    EXPECT_EQ(fp_control_now(), control);
  });
}

// Two contexts each set their own rounding mode and keep it while the other runs.
struct Rounding {
  Context main, up, down;
  double up_third = 0, down_third = 0;
  bool up_kept = false, down_kept = false;
};

double third() {
  volatile double one = 1.0, three = 3.0;
  return one / three;
}

void rounding_mode_round_trip() {
  std::vector<std::byte> up_stack(64 * 1024), down_stack(64 * 1024);
  Rounding r;
  r.up = Context::make(
      up_stack,
      [](void* arg) {
        auto* r = static_cast<Rounding*>(arg);
        std::fesetround(FE_UPWARD);
        r->up.switch_to(r->down);  // down sets FE_DOWNWARD, then comes back here
        r->up_kept = std::fegetround() == FE_UPWARD;
        r->up_third = third();
      },
      &r, r.main);
  r.down = Context::make(
      down_stack,
      [](void* arg) {
        auto* r = static_cast<Rounding*>(arg);
        std::fesetround(FE_DOWNWARD);
        r->down.switch_to(r->up);
        r->down_kept = std::fegetround() == FE_DOWNWARD;
        r->down_third = third();
      },
      &r, r.main);
  const int before = std::fegetround();
  const std::uint64_t control = fp_control_now();
  r.main.switch_to(r.up);  // up -> down -> up (finishes) -> main
  EXPECT_TRUE(r.up_kept);
  EXPECT_GT(r.up_third, third());  // the division itself obeyed the context's SSE/FPCR mode
  EXPECT_EQ(std::fegetround(), before);
  EXPECT_EQ(fp_control_now(), control);
  r.main.switch_to(r.down);  // down resumes, finishes -> main
  EXPECT_TRUE(r.down_kept);
  EXPECT_LT(r.down_third, r.up_third);
  EXPECT_EQ(fp_control_now(), control);
}

TEST(ContextSwitch, RoundingModeBelongsToTheContext) { on_every_path(rounding_mode_round_trip); }

// Every control bit belongs to the context on its own: a switch that compared the FP words
// without one of them (say DAZ, or the whole x87 word) would pass every test that changes the
// rounding mode, and leak that bit from one context to the next.
struct ControlBit {
  const char* name;
  std::uint64_t mask;  // in FpState::control
};

#if defined(__x86_64__)
constexpr std::uint64_t kX87 = 32;  // the x87 control word sits above MXCSR in FpState::control
constexpr ControlBit kControlBits[] = {
    {"MXCSR DAZ (denormals are zero)", 1u << 6},
    {"MXCSR invalid-operation mask", 1u << 7},
    {"MXCSR denormal mask", 1u << 8},
    {"MXCSR divide-by-zero mask", 1u << 9},
    {"MXCSR overflow mask", 1u << 10},
    {"MXCSR underflow mask", 1u << 11},
    {"MXCSR precision mask", 1u << 12},
    {"MXCSR rounding control, low bit", 1u << 13},
    {"MXCSR rounding control, high bit", 1u << 14},
    {"MXCSR FTZ (flush to zero)", 1u << 15},
    {"x87 invalid-operation mask", 1ull << (kX87 + 0)},
    {"x87 denormal mask", 1ull << (kX87 + 1)},
    {"x87 divide-by-zero mask", 1ull << (kX87 + 2)},
    {"x87 overflow mask", 1ull << (kX87 + 3)},
    {"x87 underflow mask", 1ull << (kX87 + 4)},
    {"x87 precision mask", 1ull << (kX87 + 5)},
    {"x87 precision control, low bit", 1ull << (kX87 + 8)},
    {"x87 precision control, high bit", 1ull << (kX87 + 9)},
    {"x87 rounding control, low bit", 1ull << (kX87 + 10)},
    {"x87 rounding control, high bit", 1ull << (kX87 + 11)},
};
#else
constexpr ControlBit kControlBits[] = {
    {"FPCR rounding mode, low bit", 1u << 22},
    {"FPCR rounding mode, high bit", 1u << 23},
    {"FPCR FZ (flush to zero)", 1u << 24},
    {"FPCR DN (default NaN)", 1u << 25},
    {"FPCR AHP (alternative half precision)", 1u << 26},
};
#endif

struct OneBit {
  Context main, ctx;
  FpState mine, theirs, seen_by_ctx;
};

void control_bit_round_trip(const ControlBit& bit) {
  SCOPED_TRACE(bit.name);
  // No pending flags: unmasking an exception with its flag set would trap, and equal flags keep
  // the control bit the only difference between the two contexts.
  std::feclearexcept(FE_ALL_EXCEPT);
  std::vector<std::byte> stack(64 * 1024);
  OneBit s;
  s.mine = fp_state_now();
  s.theirs = s.mine;
  s.theirs.control ^= bit.mask;
  s.ctx = Context::make(
      stack,
      [](void* arg) {
        auto* s = static_cast<OneBit*>(arg);
        fp_state_set(s->theirs);
        s->ctx.switch_to(s->main);
        s->seen_by_ctx = fp_state_now();
        fp_state_set(s->mine);
      },
      &s, s.main);
  s.main.switch_to(s.ctx);  // the context changes the one bit and comes back
  const FpState seen_by_main = fp_state_now();
  fp_state_set(s.mine);  // so that a failure here cannot spread to the rest of the suite
  EXPECT_EQ(seen_by_main, s.mine) << "the context's bit leaked into the one it switched to";
  s.main.switch_to(s.ctx);  // the context resumes, looks, and finishes
  EXPECT_EQ(s.seen_by_ctx, s.theirs) << "the context lost its bit while suspended";
  EXPECT_EQ(fp_state_now(), s.mine);
}

TEST(ContextSwitch, EachControlBitAloneBelongsToTheContext) {
  on_every_path([] {
    for (const ControlBit& bit : kControlBits) control_bit_round_trip(bit);
  });
}

// The exception flags are status, not mode, and the ABI lets a call change them; the switch's
// rule is that they belong to the context too (see switch_<arch>.S), whether or not the two
// contexts also differ in their modes.
struct Flags {
  Context main, ctx;
  bool other_rounding = false;
  int raised_before = -1, seen_after = -1;
};

// Divides at run time, even where the quotient is unused: the point is the flags it raises.
double divide(double a, double b) {
  volatile double x = a, y = b;
  volatile double quotient = x / y;
  return quotient;
}

void flags_round_trip(bool other_rounding) {
  SCOPED_TRACE(other_rounding ? "the context rounds upward" : "both contexts round alike");
  std::feclearexcept(FE_ALL_EXCEPT);
  std::vector<std::byte> stack(64 * 1024);
  Flags s;
  s.other_rounding = other_rounding;
  s.ctx = Context::make(
      stack,
      [](void* arg) {
        auto* s = static_cast<Flags*>(arg);
        if (s->other_rounding) std::fesetround(FE_UPWARD);
        (void)divide(1.0, 3.0);  // raises "inexact" in this context
        s->raised_before = std::fetestexcept(FE_ALL_EXCEPT);
        s->ctx.switch_to(s->main);
        s->seen_after = std::fetestexcept(FE_ALL_EXCEPT);
        std::fesetround(FE_TONEAREST);
      },
      &s, s.main);
  s.main.switch_to(s.ctx);
  EXPECT_EQ(s.raised_before, FE_INEXACT);
  EXPECT_EQ(std::fetestexcept(FE_ALL_EXCEPT), 0) << "the context's flags followed the switch";
  (void)divide(1.0, 0.0);  // raises "divide by zero" here, in main, while the context waits
  s.main.switch_to(s.ctx);
  EXPECT_EQ(s.seen_after, FE_INEXACT) << "the context did not get its own flags back";
  EXPECT_EQ(std::fetestexcept(FE_ALL_EXCEPT), FE_DIVBYZERO) << "main did not get its own back";
  std::feclearexcept(FE_ALL_EXCEPT);
}

TEST(ContextSwitch, ExceptionFlagsBelongToTheContext) {
  on_every_path([] {
    flags_round_trip(false);
    flags_round_trip(true);
  });
}

TEST(ContextSwitch, FirstFrameIsAlignedAsTheAbiRequires) {
  // Deliberately misaligned stack bounds: make() must align the first frame itself.
  std::vector<std::byte> stack(64 * 1024);
  std::span<std::byte> odd(stack.data() + 3, stack.size() - 10);
  struct State {
    Context main, ctx;
    std::uintptr_t sp = 1;
  } s;
  s.ctx = Context::make(
      odd, [](void* arg) { static_cast<State*>(arg)->sp = smarm_test_caller_sp(); }, &s, s.main);
  s.main.switch_to(s.ctx);
  EXPECT_EQ(s.sp % 16, 0u) << "stack pointer at a call from the entry function";
  EXPECT_GT(s.sp, reinterpret_cast<std::uintptr_t>(odd.data()));
  EXPECT_LT(s.sp, reinterpret_cast<std::uintptr_t>(odd.data() + odd.size()));
}

// A recursion deep enough to need megabytes of stack, with a live buffer in every frame.
[[gnu::noinline]] std::uint64_t descend(unsigned depth) {
  volatile std::uint8_t frame[128];
  for (unsigned i = 0; i < sizeof frame; ++i) frame[i] = static_cast<std::uint8_t>(depth + i);
  std::uint64_t below = depth == 0 ? 0 : descend(depth - 1);
  return below + frame[depth % sizeof frame];
}

TEST(ContextSwitch, DeepRecursionInsideAContext) {
  constexpr unsigned kDepth = 20000;  // a few MiB of frames, more under AddressSanitizer
  std::vector<std::byte> stack(32 * 1024 * 1024);
  struct State {
    Context main, ctx;
    std::uint64_t result = 0;
  } s;
  s.ctx = Context::make(
      stack, [](void* arg) { static_cast<State*>(arg)->result = descend(kDepth); }, &s, s.main);
  s.main.switch_to(s.ctx);
  EXPECT_EQ(s.result, descend(kDepth));  // the same computation on the thread's own stack
}

TEST(ContextSwitch, ExceptionThrownAndCaughtInsideAContext) {
  std::vector<std::byte> stack(256 * 1024);
  struct State {
    Context main, ctx;
    std::string caught;
    int resumed = 0;
  } s;
  s.ctx = Context::make(
      stack,
      [](void* arg) {
        auto* s = static_cast<State*>(arg);
        try {
          s->ctx.switch_to(s->main);  // suspended once before the throw
          [&] { throw std::runtime_error("thrown in a context"); }();
        } catch (const std::runtime_error& e) {
          s->ctx.switch_to(s->main);  // and once inside the handler
          s->caught = e.what();
        }
      },
      &s, s.main);
  s.main.switch_to(s.ctx);
  ++s.resumed;
  s.main.switch_to(s.ctx);
  ++s.resumed;
  EXPECT_TRUE(s.caught.empty());
  s.main.switch_to(s.ctx);
  EXPECT_EQ(s.caught, "thrown in a context");
  EXPECT_EQ(s.resumed, 2);
  // The thread's own stack still throws and catches normally afterwards.
  EXPECT_THROW(throw std::logic_error("main"), std::logic_error);
}

TEST(ContextSwitch, ReturningResumesTheOnReturnContext) {
  std::vector<std::byte> stack_a(64 * 1024), stack_b(64 * 1024);
  struct State {
    Context main, a, b;
    std::vector<std::string> trace;
  } s;
  // b returns into a (suspended where it switched to b); a returns into main.
  s.a = Context::make(
      stack_a,
      [](void* arg) {
        auto* s = static_cast<State*>(arg);
        s->trace.push_back("a starts");
        s->a.switch_to(s->b);
        s->trace.push_back("a resumed after b returned");
      },
      &s, s.main);
  s.b = Context::make(
      stack_b, [](void* arg) { static_cast<State*>(arg)->trace.push_back("b runs"); }, &s, s.a);
  s.main.switch_to(s.a);
  s.trace.push_back("main resumed after a returned");
  EXPECT_EQ(s.trace, (std::vector<std::string>{"a starts", "b runs", "a resumed after b returned",
                                               "main resumed after a returned"}));
  EXPECT_TRUE(s.a.empty());
  EXPECT_TRUE(s.b.empty());

  // The stack of a finished context can carry a new one.
  s.a = Context::make(
      stack_a, [](void* arg) { static_cast<State*>(arg)->trace.push_back("again"); }, &s, s.main);
  s.main.switch_to(s.a);
  EXPECT_EQ(s.trace.back(), "again");
}

// The unwinder must stop at the trampoline: walking past it would read whatever lies above the
// stack top. Walk from inside a context and look at the last frame.
struct Walk {
  std::vector<std::uintptr_t> ips;
};

_Unwind_Reason_Code record_frame(_Unwind_Context* ctx, void* arg) {
  auto* walk = static_cast<Walk*>(arg);
  // libgcc reports the caller of the outermost frame, whose return address is undefined, as a
  // last frame with IP 0 before it answers end-of-stack.
  if (const auto ip = _Unwind_GetIP(ctx); ip != 0) walk->ips.push_back(ip);
  return walk->ips.size() > 64 ? _URC_NORMAL_STOP : _URC_NO_REASON;
}

TEST(ContextSwitch, UnwindingStopsAtTheTrampoline) {
  std::vector<std::byte> stack(64 * 1024);
  // Fill the stack with plausible-looking garbage so an unterminated walk would not stop by luck.
  for (std::size_t i = 0; i + sizeof(void*) <= stack.size(); i += sizeof(void*)) {
    auto self = reinterpret_cast<std::uintptr_t>(&stack[i]);
    std::memcpy(&stack[i], &self, sizeof self);
  }
  struct State {
    Context main, ctx;
    Walk walk;
    _Unwind_Reason_Code reason = _URC_NO_REASON;
  } s;
  s.ctx = Context::make(
      stack,
      [](void* arg) {
        auto* s = static_cast<State*>(arg);
        s->reason = _Unwind_Backtrace(record_frame, &s->walk);
      },
      &s, s.main);
  s.main.switch_to(s.ctx);
  EXPECT_EQ(s.reason, _URC_END_OF_STACK);
  ASSERT_FALSE(s.walk.ips.empty());
  ASSERT_LT(s.walk.ips.size(), 10u);
  const auto trampoline = reinterpret_cast<std::uintptr_t>(&smarm_trampoline);
  EXPECT_GT(s.walk.ips.back(), trampoline);
  EXPECT_LE(s.walk.ips.back(), trampoline + 16) << "the last frame is the trampoline's";
}

// While the switch enters a context that has never run, the frame it is restoring shows the
// trampoline as the caller. A debugger or profiler looks up a caller's unwind information at the
// return address minus one (the call instruction); that address must lie in the trampoline's
// own, or the walk would show a bogus caller and continue into garbage.
TEST(ContextSwitch, ANewContextLooksCalledFromTheTrampoline) {
  std::vector<std::byte> stack(4096);
  void* frame = smarm_make_frame(
      stack.data() + stack.size(), [](void*) {}, nullptr);
#if defined(__x86_64__)
  constexpr std::size_t kResumeSlot = 56;
#else
  constexpr std::size_t kResumeSlot = 88;
#endif
  std::uintptr_t resume = 0;
  std::memcpy(&resume, static_cast<std::byte*>(frame) + kResumeSlot, sizeof resume);
  dwarf_eh_bases at_resume{}, at_call{};
  const void* fde_at_resume = _Unwind_Find_FDE(reinterpret_cast<void*>(resume), &at_resume);
  const void* fde_at_call = _Unwind_Find_FDE(reinterpret_cast<void*>(resume - 1), &at_call);
  ASSERT_NE(fde_at_resume, nullptr);
  EXPECT_EQ(fde_at_call, fde_at_resume) << "the caller's lookup finds other unwind information";
  EXPECT_EQ(at_call.func, reinterpret_cast<void*>(&smarm_trampoline));
}

TEST(ContextSwitch, MakeRejectsATooSmallStack) {
  std::vector<std::byte> stack(Context::min_stack_size - 1);
  Context main;
  EXPECT_THROW((void)Context::make(
                   stack, [](void*) {}, nullptr, main),
               std::invalid_argument);
}

TEST(ContextSwitchDeathTest, EscapingExceptionIsReportedAndAborts) {
  EXPECT_DEATH(
      {
        std::vector<std::byte> stack(64 * 1024);
        Context main;
        Context ctx = Context::make(
            stack, [](void*) { throw std::runtime_error("boom"); }, nullptr, main);
        main.switch_to(ctx);
      },
      "exception escaped a context's function: boom");
}

TEST(ContextSwitchDeathTest, SwitchingToAnEmptyContextIsReportedAndAborts) {
  EXPECT_DEATH(
      {
        Context main;
        Context never_made;
        main.switch_to(never_made);
      },
      "switch to an empty Context");
}

}  // namespace
