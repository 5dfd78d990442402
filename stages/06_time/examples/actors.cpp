// actors.cpp — actors as plain blocking functions: spawn, join with outcomes, park and unpark,
// and an actor that fails without taking anything else down.
#include <smarm/actor.hpp>

#include <cstdio>
#include <stdexcept>
#include <vector>

int main() {
  // [actors]
  smarm::run([] {
    // Three workers, each a plain function that blocks (yields) in the middle of its work.
    std::vector<smarm::JoinHandle> workers;
    for (int id = 0; id < 3; ++id) {
      workers.push_back(smarm::spawn([id] {
        std::printf("worker %d starts as %s\n", id, smarm::self().to_string().c_str());
        smarm::yield_now();
        if (id == 1) throw std::runtime_error("worker 1 gives up");
        std::printf("worker %d is done\n", id);
      }));
    }
    for (smarm::JoinHandle& w : workers) {
      const smarm::Pid pid = w.pid();
      const smarm::Outcome outcome = w.join();
      std::printf("%s ended %s\n", pid.to_string().c_str(),
                  outcome.ok() ? "normally" : "by an exception");
    }

    // A sleeper parks until someone unparks it.
    smarm::JoinHandle sleeper = smarm::spawn([] {
      std::printf("sleeper parks\n");
      smarm::park();
      std::printf("sleeper woke up\n");
    });
    smarm::yield_now();
    smarm::unpark(sleeper.pid());
    sleeper.join();
  });
  // [actors]
  std::printf("run returned: no actor is left\n");
  return 0;
}
