// gdb_actor_driver.cpp — the program gdb_actor_bt.py debugs: one actor parks two calls deep and
// stays parked while the first actor stops in a function of its own, so that gdb can show the
// backtrace of an actor that is not running.
#include <smarm/actor.hpp>

#include <cstdio>

// Outside any namespace and never inlined: the names the backtrace must show.
extern "C" __attribute__((noinline)) void parked_actor_leaf() {
  smarm::park();
  asm volatile("");  // keeps the call to park() from becoming a tail call
}

extern "C" __attribute__((noinline)) void parked_actor_body() {
  parked_actor_leaf();
  asm volatile("");
}

// The parked actor's slot index, where gdb reads it whatever the optimisation level.
extern "C" {
volatile unsigned parked_actor_index = 0;
}

// Where gdb stops, while the actor is parked.
extern "C" __attribute__((noinline)) void actor_parked() { asm volatile(""); }

int main() {
  smarm::run([] {
    smarm::JoinHandle parked = smarm::spawn([] { parked_actor_body(); });
    smarm::yield_now();  // the actor runs and parks
    parked_actor_index = parked.pid().index();
    actor_parked();
    smarm::unpark(parked.pid());
    parked.join();
  });
  std::puts("driver done");
  return 0;
}
