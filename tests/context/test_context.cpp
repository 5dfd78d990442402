// test_context.cpp — the context switch's contract: registers, FP control, alignment, deep stacks,
// exceptions, the end of a context, the outermost frame, and the errors a user can make.
#include <gtest/gtest.h>
#include <unwind.h>

#include <cfenv>
#include <cstdint>
#include <cstring>
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
void smarm_trampoline();  // hidden in the library, visible to this static link

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

TEST(ContextSwitch, RoundingModeBelongsToTheContext) {
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
