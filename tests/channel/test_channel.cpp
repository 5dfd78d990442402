// test_channel.cpp — channels: FIFO order per sender, parking and waking on both sides, closing
// from either side, backpressure in the senders' order, move-only values moved and never lost,
// no allocation per message, the deadlock report, and misuse reported as clear errors.
#include <smarm/actor.hpp>
#include <smarm/channel.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// ---- every allocation of this program is counted, to show that messages allocate nothing
namespace {
std::size_t g_allocations = 0;
}  // namespace

// Out of line: inlined, g++ -O2 would pair a `new` it sees as malloc with a `delete` it sees as
// free across the tests' code, and warn (-Wmismatched-new-delete) about the pair it made itself.
[[gnu::noinline]] void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;  // NOLINT(*-no-malloc)
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }  // NOLINT(*-no-malloc)
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);  // NOLINT(*-no-malloc)
}

namespace {

using smarm::JoinHandle;
using smarm::Receiver;
using smarm::RecvStatus;
using smarm::Sender;
using smarm::SendStatus;

// Counts the live values of its kind, and the destructions of those that held a value.
struct Counted {
  static inline int alive = 0;
  static inline int destroyed = 0;
  int id = 0;
  bool moved = false;
  explicit Counted(int i) : id(i) { ++alive; }
  Counted(Counted&& o) noexcept : id(o.id) {
    o.moved = true;
    ++alive;
  }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  Counted& operator=(Counted&&) = delete;
  ~Counted() {
    --alive;
    if (!moved) ++destroyed;
  }
};

// [usage]
TEST(Channel, EachSendersValuesArriveInTheOrderItSentThem) {
  constexpr int kSenders = 4;
  constexpr int kEach = 1000;
  smarm::run([] {
    // Named variables, not a structured binding: clang 14 cannot capture one in a lambda.
    std::pair channel = smarm::channel<std::pair<int, int>>();
    Sender<std::pair<int, int>> tx = std::move(channel.first);
    Receiver<std::pair<int, int>> rx = std::move(channel.second);
    std::vector<JoinHandle> senders;
    for (int s = 0; s < kSenders; ++s) {
      senders.push_back(smarm::spawn([s, tx]() mutable {
        for (int i = 0; i < kEach; ++i) {
          EXPECT_TRUE(tx.send({s, i}));
          if (i % 7 == s) smarm::yield_now();  // interleave the senders
        }
      }));
    }
    tx.close();
    std::vector<int> next(kSenders, 0);
    int received = 0;
    while (std::optional<std::pair<int, int>> v = rx.recv()) {
      EXPECT_EQ(v->second, next[v->first]++) << "sender " << v->first;
      ++received;
    }
    EXPECT_EQ(received, kSenders * kEach);
    for (JoinHandle& h : senders) h.join();
  });
}
// [usage]

TEST(Channel, RecvParksUntilASendWakesIt) {
  std::string trace;
  smarm::run([&] {
    auto [tx, rx] = smarm::channel<int>();
    JoinHandle receiver = smarm::spawn([&trace, rx = std::move(rx)]() mutable {
      trace += "r";
      const std::optional<int> v = rx.recv();  // parks: nothing sent yet
      trace += "=" + std::to_string(v.value_or(-1));
    });
    smarm::yield_now();  // the receiver runs and parks
    trace += "s";
    EXPECT_TRUE(tx.send(42));
    trace += "S";  // the send does not switch: the receiver runs when this actor waits
    receiver.join();
  });
  EXPECT_EQ(trace, "rsS=42");
}

TEST(Channel, WhenEverySenderIsGoneTheReceiverDrainsThenSeesClosed) {
  smarm::run([] {
    auto [tx, rx] = smarm::channel<int>(8);
    Sender<int> copy = tx;
    EXPECT_TRUE(tx.send(1));
    EXPECT_TRUE(copy.send(2));
    tx.close();  // one sender closed, one left: still open
    EXPECT_FALSE(tx);
    EXPECT_EQ(rx.try_recv().value, 1);
    EXPECT_TRUE(copy.send(3));
    { const Sender<int> gone = std::move(copy); }  // the last sender, destroyed
    EXPECT_EQ(rx.recv(), 2);
    EXPECT_EQ(rx.recv(), 3);
    EXPECT_EQ(rx.recv(), std::nullopt);
    EXPECT_EQ(rx.recv(), std::nullopt) << "closed stays closed";
    EXPECT_EQ(rx.try_recv().status, RecvStatus::Closed);
  });
}

TEST(Channel, AParkedReceiverIsWokenByTheClose) {
  bool saw_closed = false;
  smarm::run([&] {
    auto [tx, rx] = smarm::channel<int>();
    JoinHandle receiver = smarm::spawn([&saw_closed, rx = std::move(rx)]() mutable {
      saw_closed = !rx.recv().has_value();  // parks, then wakes closed
    });
    smarm::yield_now();
    tx.close();
    receiver.join();
  });
  EXPECT_TRUE(saw_closed);
}

TEST(Channel, WhenTheReceiverIsGoneASendHandsItsValueBack) {
  smarm::run([] {
    auto [tx, rx] = smarm::channel<std::unique_ptr<int>>();
    { const Receiver<std::unique_ptr<int>> gone = std::move(rx); }
    auto value = std::make_unique<int>(7);
    int* const address = value.get();
    smarm::SendResult<std::unique_ptr<int>> r = tx.send(std::move(value));
    EXPECT_FALSE(r);
    EXPECT_EQ(r.status, SendStatus::Closed);
    ASSERT_TRUE(r.value.has_value());
    EXPECT_EQ(r.value->get(), address) << "the very value, handed back";
    EXPECT_EQ(tx.try_send(std::move(*r.value)).status, SendStatus::Closed);
  });
}

TEST(Channel, AParkedSenderIsWokenByTheReceiversGoingAndGetsItsValueBack) {
  smarm::run([] {
    auto [tx, rx] = smarm::channel<std::unique_ptr<int>>(1);
    EXPECT_TRUE(tx.send(std::make_unique<int>(1)));
    auto value = std::make_unique<int>(2);
    int* const address = value.get();
    JoinHandle sender = smarm::spawn([&, tx = tx]() mutable {
      smarm::SendResult<std::unique_ptr<int>> r = tx.send(std::move(value));  // full: parks
      EXPECT_EQ(r.status, SendStatus::Closed);
      EXPECT_EQ(r.value.value().get(), address);
    });
    smarm::yield_now();  // the sender parks
    { const Receiver<std::unique_ptr<int>> gone = std::move(rx); }
    sender.join();
  });
}

TEST(Channel, AFullChannelParksItsSendersAndGivesThemRoomInTheOrderTheyCame) {
  std::string trace;
  smarm::run([&] {
    auto [tx, rx] = smarm::channel<char>(2);
    EXPECT_TRUE(tx.send('0'));
    EXPECT_TRUE(tx.send('1'));
    EXPECT_EQ(tx.try_send('x').status, SendStatus::Full);
    std::vector<JoinHandle> senders;
    for (char c : {'a', 'b', 'c'}) {
      senders.push_back(smarm::spawn([&trace, c, tx = tx]() mutable {
        trace += c;
        EXPECT_TRUE(tx.send(c));  // parks: full
        trace += static_cast<char>(c - 'a' + 'A');
      }));
    }
    smarm::yield_now();  // all three park, in order
    trace += '|';
    EXPECT_EQ(tx.try_send('y').status, SendStatus::Full) << "no overtaking the parked senders";
    std::string got;
    for (int i = 0; i < 5; ++i) got += rx.recv().value();
    EXPECT_EQ(got, "01abc");
    for (JoinHandle& h : senders) h.join();
  });
  EXPECT_EQ(trace, "abc|ABC");
}

TEST(Channel, TryCallsNeverParkAndSayWhy) {
  auto [tx, rx] = smarm::channel<int>(1);  // outside run: the try calls work anywhere
  EXPECT_EQ(rx.try_recv().status, RecvStatus::Empty);
  EXPECT_EQ(tx.try_send(1).status, SendStatus::Sent);
  smarm::SendResult<int> full = tx.try_send(2);
  EXPECT_EQ(full.status, SendStatus::Full);
  EXPECT_EQ(full.value, 2);
  smarm::RecvResult<int> got = rx.try_recv();
  EXPECT_TRUE(got);
  EXPECT_EQ(got.value, 1);
  tx.close();
  EXPECT_EQ(rx.try_recv().status, RecvStatus::Closed);
}

TEST(Channel, AUniquePtrIsMovedThroughNeverCopied) {
  smarm::run([] {
    auto [tx, rx] = smarm::channel<std::unique_ptr<std::string>>();
    auto p = std::make_unique<std::string>("payload");
    const std::string* const address = p.get();
    JoinHandle sender = smarm::spawn(
        [p = std::move(p), tx = std::move(tx)]() mutable { EXPECT_TRUE(tx.send(std::move(p))); });
    std::unique_ptr<std::string> got = rx.recv().value();
    EXPECT_EQ(got.get(), address);
    EXPECT_EQ(*got, "payload");
    sender.join();
  });
}

// Under AddressSanitizer, whose LeakSanitizer checks at exit that nothing leaked, the ten million
// take about 3 s; on aarch64, run under qemu, they would take minutes, so that build sends a tenth.
#if defined(__aarch64__)
constexpr int kManyMessages = 1'000'000;
#else
constexpr int kManyMessages = 10'000'000;
#endif

TEST(Channel, TenMillionUniquePtrMessagesLeakNothing) {
  std::int64_t sum = 0;
  smarm::run([&] {
    auto [tx, rx] = smarm::channel<std::unique_ptr<int>>(64);
    JoinHandle producer = smarm::spawn([tx = std::move(tx)]() mutable {
      for (int i = 0; i < kManyMessages; ++i) EXPECT_TRUE(tx.send(std::make_unique<int>(i)));
    });
    while (std::optional<std::unique_ptr<int>> v = rx.recv()) sum += **v;
    producer.join();
  });
  EXPECT_EQ(sum, std::int64_t{kManyMessages} * (kManyMessages - 1) / 2);
}

TEST(Channel, ValuesLeftInADroppedChannelAreDestroyedExactlyOnce) {
  Counted::alive = Counted::destroyed = 0;
  smarm::run([] {
    auto [tx, rx] = smarm::channel<Counted>();
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(tx.send(Counted(i)));  // grows the ring, moving
    EXPECT_EQ(rx.recv()->id, 0);
    EXPECT_EQ(Counted::destroyed, 1);
    { const Receiver<Counted> gone = std::move(rx); }
    EXPECT_EQ(Counted::destroyed, 100);
    EXPECT_EQ(Counted::alive, 0);
  });
  EXPECT_EQ(Counted::destroyed, 100);
}

// A value may own the channel's last sender: destroying it as the receiver goes must not free
// the channel while the buffer is still being cleared (AddressSanitizer sees the use after free).
struct Holder;
using HolderPtr = std::unique_ptr<Holder>;
struct Holder {
  Sender<HolderPtr> tx;
};

TEST(Channel, AQueuedValueThatHoldsTheLastSenderGoesWithTheReceiverSafely) {
  smarm::run([] {
    auto [tx, rx] = smarm::channel<HolderPtr>();
    Sender<HolderPtr> other = tx;
    EXPECT_TRUE(other.send(std::make_unique<Holder>(Holder{std::move(tx)})));
    { const Sender<HolderPtr> gone = std::move(other); }  // the queued holder's is the last one
    { const Receiver<HolderPtr> gone = std::move(rx); }   // its buffer takes the last sender
  });
}

TEST(Channel, MessagesAllocateNothingInSteadyState) {
  std::size_t during = 0;
  smarm::run([&] {
    auto [tx, rx] = smarm::channel<int>();       // unbounded: the ring grows once, then stays
    auto [back, from] = smarm::channel<int>(1);  // bounded: allocated once
    Sender<int>& to_echo = tx;  // clang 14 cannot capture a structured binding in a lambda
    Receiver<int>& from_echo = from;
    JoinHandle echo = smarm::spawn([rx = std::move(rx), back = std::move(back)]() mutable {
      while (std::optional<int> v = rx.recv()) EXPECT_TRUE(back.send(*v));
    });
    auto round_trips = [&](int n) {
      for (int i = 0; i < n; ++i) {
        EXPECT_TRUE(to_echo.send(i));
        EXPECT_EQ(from_echo.recv(), i);
      }
    };
    round_trips(100);  // the warm-up
    const std::size_t before = g_allocations;
    round_trips(100'000);
    during = g_allocations - before;
    tx.close();
    echo.join();
  });
  EXPECT_EQ(during, 0U);
}

TEST(Channel, ADeadlockThroughChannelsNamesWhatEachActorWaitsOn) {
  Counted::alive = Counted::destroyed = 0;
  smarm::Pid receiving, sending;
  try {
    smarm::run([&] {
      auto [tx, rx] = smarm::channel<Counted>(1);
      auto [never, nothing] = smarm::channel<int>();
      EXPECT_TRUE(tx.send(Counted(1)));
      JoinHandle r = smarm::spawn([nothing = std::move(nothing)]() mutable {
        (void)nothing.recv();  // nobody sends on it
      });
      JoinHandle s = smarm::spawn([tx = tx]() mutable {
        EXPECT_TRUE(tx.send(Counted(2)));  // full, and nobody receives
      });
      receiving = r.pid();
      sending = s.pid();
      r.join();
    });
    ADD_FAILURE() << "run returned";
  } catch (const smarm::Deadlock& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(receiving.to_string() + " in recv on a channel"), std::string::npos)
        << what;
    EXPECT_NE(what.find(sending.to_string() + " in send on a full channel"), std::string::npos)
        << what;
  }
  EXPECT_EQ(Counted::alive, 0) << "the values were destroyed as the actors unwound";
  EXPECT_EQ(Counted::destroyed, 2);
}

TEST(ChannelDeathTest, AReceiverThatWaitsAgainAfterItsCancellationAbortsWithTheReport) {
  auto stubborn = [] {
    smarm::run([] {
      auto [tx, rx] = smarm::channel<int>();
      smarm::spawn([rx = std::move(rx)]() mutable {
        for (int i = 0; i < 1000; ++i) {
          try {
            (void)rx.recv();
          } catch (...) {  // swallows ActorCancelled and waits again
          }
        }
      }).detach();
      smarm::spawn([tx = std::move(tx)] {  // keeps the channel open, as stubbornly
        for (int i = 0; i < 1000; ++i) {
          try {
            smarm::park();
          } catch (...) {
          }
        }
      })
          .detach();
    });
  };
  EXPECT_DEATH(
      stubborn(),
      "smarm: deadlock: 2 actor\\(s\\) parked and nothing can wake them: <[0-9]+\\.[0-9]+> "
      "in recv on a channel, <[0-9]+\\.[0-9]+> in park\\(\\)\n"
      "smarm: deadlock again");
}

TEST(Channel, MisuseIsAClearError) {
  std::pair channel = smarm::channel<int>();  // not a structured binding: captured below
  Sender<int>& tx = channel.first;
  Receiver<int>& rx = channel.second;
  EXPECT_THROW((void)rx.recv(), smarm::NotInActor);
  EXPECT_THROW((void)tx.send(1), smarm::NotInActor);
  EXPECT_THROW((void)smarm::channel<int>(0), smarm::Error);
  smarm::run([&] {
    const Receiver<int> taken = std::move(rx);
    Sender<int> moved = std::move(tx);
    try {
      (void)rx.recv();  // NOLINT(bugprone-use-after-move): the misuse under test
      ADD_FAILURE() << "recv on a moved-from receiver";
    } catch (const smarm::Error& e) {
      EXPECT_NE(std::string(e.what()).find("smarm::Receiver::recv: the endpoint is empty"),
                std::string::npos)
          << e.what();
    }
    EXPECT_THROW((void)tx.send(1), smarm::Error);  // NOLINT(bugprone-use-after-move)
    moved.close();
    EXPECT_THROW((void)moved.try_send(1), smarm::Error);
  });
  try {
    (void)smarm::channel<int>(0);
  } catch (const smarm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rendezvous"), std::string::npos) << e.what();
  }
}

}  // namespace
