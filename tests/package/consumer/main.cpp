// main.cpp — the outside project's program: it spawns an actor through the installed (or added)
// smarm, joins it and checks that the actor ran.
#include <smarm/actor.hpp>

#include <cstdio>

int main() {
  int answer = 0;
  const smarm::Outcome outcome = smarm::run([&answer] {
    smarm::JoinHandle child = smarm::spawn([&answer] { answer = 42; });
    child.join().rethrow_if_failed();
  });
  if (!outcome.ok() || answer != 42) {
    std::fprintf(stderr, "consumer: the actor did not run to its end (answer %d)\n", answer);
    return 1;
  }
  std::printf("consumer: an actor was spawned and joined (answer %d)\n", answer);
  return 0;
}
