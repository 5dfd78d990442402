// gdb_switch_driver.cpp — the program gdb_step_switch.py steps through, one instruction at a time:
// it takes every path of the x86-64 switch once, so that a backtrace can be checked at each of
// their instructions.
#include <cfenv>
#include <cstdio>
#include <smarm/context.hpp>
#include <vector>

extern "C" unsigned char smarm_switch_mxcsr_always;  // hidden in the library; see switch_x86_64.S

namespace {

struct Pair {
  smarm::Context main, ctx;
};

// Comes back once with the creator's FP words, once with other ones, then finishes.
void echo(void* arg) {
  auto* p = static_cast<Pair*>(arg);
  p->ctx.switch_to(p->main);
  std::fesetround(FE_DOWNWARD);
  p->ctx.switch_to(p->main);
  std::fesetround(FE_TONEAREST);
}

void run_pair(unsigned char mxcsr_always) {
  smarm_switch_mxcsr_always = mxcsr_always;
  std::vector<std::byte> stack(64 * 1024);
  Pair p;
  p.ctx = smarm::Context::make(stack, echo, &p, p.main);
  p.main.switch_to(p.ctx);  // first entry, through the trampoline
  p.main.switch_to(p.ctx);  // a plain resume: both contexts have the same FP words
  p.main.switch_to(p.ctx);  // the words differ: the target's are reloaded; then it finishes
}

}  // namespace

int main() {
  run_pair(0);  // the compare path
  run_pair(1);  // the MXCSR-always path
  std::puts("driver done");
  return 0;
}
