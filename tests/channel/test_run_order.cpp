// test_run_order.cpp — who runs after a spawn or a wake (chapter 4): a tree of spawns runs depth
// first with only its explored path alive, two actors waking each other leave the others their
// turns, an actor that ends hands its turn to the one it woke, and no run of turns at the front
// keeps the back waiting long.
#include <smarm/actor.hpp>
#include <smarm/channel.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using smarm::JoinHandle;
using smarm::Receiver;
using smarm::Sender;

// Skynet's shape, smaller: each inner actor spawns `fan` children and sums what they send it.
struct Tree {
  int fan = 0;
  int alive = 0;  // spawned and not yet ended
  int most_alive = 0;
  std::string order;  // the path of each actor as it starts, e.g. "0", "00", "01"
  void grow(int depth, const std::string& path, Sender<std::int64_t>& up) {
    order += path + ' ';
    if (depth == 0) {
      (void)up.send(1);
      return;
    }
    auto [tx, rx] = smarm::channel<std::int64_t>();
    for (int i = 0; i < fan; ++i) {
      ++alive;
      most_alive = std::max(most_alive, alive);
      smarm::spawn([this, depth, child = path + std::to_string(i), tx = tx]() mutable {
        grow(depth - 1, child, tx);
        --alive;
      }).detach();
    }
    std::int64_t sum = 0;
    for (int i = 0; i < fan; ++i) sum += rx.recv().value();
    (void)up.send(sum);
  }
};

TEST(RunOrder, ATreeOfSpawnsRunsDepthFirstWithOnlyItsPathAlive) {
  Tree tree;
  tree.fan = 10;
  std::int64_t leaves = 0;
  smarm::run([&] {
    auto [tx, rx] = smarm::channel<std::int64_t>();
    tree.grow(4, "r", tx);
    leaves = rx.recv().value();
  });
  EXPECT_EQ(leaves, 10'000);
  // Breadth first (FIFO), all 11,110 would be alive at once; depth first, a path of 4 with the
  // siblings each actor on it spawned.
  EXPECT_LE(tree.most_alive, 4 * 10);
  // Children in the order they were spawned, each one's subtree before its next sibling.
  EXPECT_EQ(tree.order.substr(0, 25), "r r0 r00 r000 r0000 r0001");
}

TEST(RunOrder, TwoActorsWakingEachOtherLeaveTheOthersTheirTurns) {
  constexpr int kRounds = 1000;
  int bystander_turns = 0;
  bool done = false;
  smarm::run([&] {
    auto [ping_tx, ping_rx] = smarm::channel<int>(1);
    auto [pong_tx, pong_rx] = smarm::channel<int>(1);
    JoinHandle bystander = smarm::spawn([&] {
      while (!done) {
        ++bystander_turns;
        smarm::yield_now();
      }
    });
    JoinHandle echo = smarm::spawn([rx = std::move(ping_rx), tx = pong_tx]() mutable {
      while (auto v = rx.recv()) (void)tx.send(*v);
    });
    for (int i = 0; i < kRounds; ++i) {
      (void)ping_tx.send(i);
      ASSERT_EQ(pong_rx.recv(), i);
    }
    done = true;
    ping_tx.close();
    echo.join();
    bystander.join();
  });
  // Each wake puts the woken actor behind the bystander: it runs once per send at least.
  EXPECT_GE(bystander_turns, 2 * kRounds);
}

TEST(RunOrder, AnActorThatEndsHandsItsTurnToTheJoinerItWakes) {
  std::string order;
  smarm::run([&] {
    JoinHandle worker = smarm::spawn([&] { order += 'w'; });
    JoinHandle other = smarm::spawn([&] {
      order += 'o';
      smarm::yield_now();
      order += 'O';
    });
    worker.join();  // the worker ends, and its joiner runs before `other`, waiting since earlier
    order += 'j';
    other.join();
  });
  EXPECT_EQ(order, "wjoO");  // in chapter 3's FIFO order, "wojO"
}

TEST(RunOrder, ALoopOfSpawnAndJoinLeavesTheActorsAtTheBackTheirTurns) {
  // Each round spawns a child (to the front), joins it, and takes the child's turn over when it
  // ends (to the front again): without a bound, the bystander at the back would never run again.
  int loops = 0;
  bool done = false;
  smarm::run([&] {
    JoinHandle bystander = smarm::spawn([&] {
      for (int i = 0; i < 10; ++i) smarm::yield_now();
      done = true;
    });
    smarm::yield_now();  // the bystander runs once and yields: it waits at the back now
    while (!done && loops < 1'000'000) {
      smarm::spawn([] {}).join();
      ++loops;
    }
    bystander.join();
  });
  EXPECT_TRUE(done);
  EXPECT_LT(loops, 1000);  // ten turns of the bystander, one in every 65 at most
}

}  // namespace
