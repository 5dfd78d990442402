// ping_pong.cpp — two contexts hand control back and forth; the smallest program built on the
// context switch, and the listing chapter 1 opens with.
#include <smarm/context.hpp>
#include <smarm/stack.hpp>

#include <cstdio>

// [usage]
namespace {

struct Players {
  smarm::Context main;  // where main() is suspended while the players run
  smarm::Context ping;
  smarm::Context pong;
};

void ping(void* arg) {
  auto* p = static_cast<Players*>(arg);
  for (int i = 0; i < 3; ++i) {
    std::printf("ping %d\n", i);
    p->ping.switch_to(p->pong);  // suspend ping, resume pong
  }
}  // returning resumes the on_return context given to make(): main

void pong(void* arg) {
  auto* p = static_cast<Players*>(arg);
  for (int i = 0;; ++i) {
    std::printf("  pong %d\n", i);
    p->pong.switch_to(p->ping);
  }
}

}  // namespace

int main() {
  // Guarded stacks from this thread's pool: running off one ends in a clear report.
  smarm::Stack ping_stack = smarm::StackPool::local().acquire();
  smarm::Stack pong_stack = smarm::StackPool::local().acquire();
  Players p;
  p.ping = smarm::Context::make(ping_stack.usable(), ping, &p, p.main);
  p.pong = smarm::Context::make(pong_stack.usable(), pong, &p, p.main);
  p.main.switch_to(p.ping);  // runs until ping returns
  std::printf("back in main; pong is left suspended\n");
  return 0;
}
// [usage]
