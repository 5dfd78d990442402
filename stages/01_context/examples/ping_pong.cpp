// ping_pong.cpp — two contexts hand control back and forth; the smallest program built on the
// context switch, and the listing chapter 1 opens with.
#include <smarm/context.hpp>

#include <cstdio>
#include <vector>

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
  std::vector<std::byte> ping_stack(64 * 1024);
  std::vector<std::byte> pong_stack(64 * 1024);
  Players p;
  p.ping = smarm::Context::make(ping_stack, ping, &p, p.main);
  p.pong = smarm::Context::make(pong_stack, pong, &p, p.main);
  p.main.switch_to(p.ping);  // runs until ping returns
  std::printf("back in main; pong is left suspended\n");
  return 0;
}
// [usage]
