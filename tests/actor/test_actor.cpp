// test_actor.cpp — actors: run, spawn and join with their outcomes, detach, self, yield, park and
// unpark, stale Pids, misuse outside an actor, the deadlock report, and per-actor exception state.
#include <smarm/actor.hpp>
#include <smarm/stack.hpp>

#include <cxxabi.h>
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/overflow.hpp"

namespace {

using smarm::JoinHandle;
using smarm::Outcome;
using smarm::Pid;

TEST(Pid, IsWrittenAsIndexDotSerial) {
  EXPECT_EQ(Pid(3, 7).to_string(), "<3.7>");
  EXPECT_EQ(Pid(4096, UINT64_MAX - 1).to_string(), "<4096.18446744073709551614>");
  EXPECT_EQ(Pid().to_string(), "<none>");
  EXPECT_FALSE(Pid());
  EXPECT_TRUE(Pid(0, 0));
  EXPECT_EQ(Pid(1, 2), Pid(1, 2));
  EXPECT_NE(Pid(1, 2), Pid(1, 3));
  EXPECT_NE(Pid(1, 2), Pid(1, 2 + (std::uint64_t{1} << 32)));
  EXPECT_NE(Pid(1, 2), Pid(2, 2));
}

TEST(Actor, RunReturnsWhenNoActorIsLeft) {
  std::vector<int> ran;
  const Outcome outcome = smarm::run([&] {
    for (int i = 0; i < 3; ++i) smarm::spawn([&ran, i] { ran.push_back(i); }).detach();
    ran.push_back(-1);  // the spawner goes on first; the new actors run when it is done
  });
  EXPECT_TRUE(outcome.ok());
  EXPECT_EQ(ran, (std::vector<int>{-1, 0, 1, 2}));
}

TEST(Actor, RunTellsHowTheFirstActorEnded) {
  const Outcome failed = smarm::run([] { throw std::runtime_error("root failed"); });
  ASSERT_FALSE(failed.ok());
  EXPECT_THROW(
      {
        try {
          failed.rethrow_if_failed();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "root failed");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_TRUE(smarm::run([] {}).ok());
}

// Counts live instances, to see where and when an actor's callable is destroyed.
struct Tracked {
  static inline int alive = 0;
  Tracked() { ++alive; }
  Tracked(const Tracked&) { ++alive; }
  Tracked(Tracked&&) noexcept { ++alive; }
  Tracked& operator=(const Tracked&) = default;
  Tracked& operator=(Tracked&&) = default;
  ~Tracked() { --alive; }
};

TEST(Actor, SpawnTakesAMoveOnlyCallableThatTheActorOwns) {
  int seen = 0;
  int alive_after_join = -1;
  smarm::run([&] {
    auto owned = std::make_unique<int>(42);
    JoinHandle h = smarm::spawn([p = std::move(owned), t = Tracked(), &seen] { seen = *p; });
    EXPECT_EQ(owned, nullptr);  // NOLINT(bugprone-use-after-move): moved into the actor
    EXPECT_EQ(Tracked::alive, 1);
    EXPECT_TRUE(h.join().ok());
    alive_after_join = Tracked::alive;  // the actor destroyed its callable when it ended
  });
  EXPECT_EQ(seen, 42);
  EXPECT_EQ(alive_after_join, 0);
}

TEST(Actor, SpawnCopiesAnLvalueCallable) {
  std::vector<int> out;
  smarm::run([&] {
    std::string word = "copied";
    auto f = [word, &out] { out.push_back(static_cast<int>(word.size())); };
    smarm::spawn(f).join();
    smarm::spawn(f).join();  // f itself is intact
  });
  EXPECT_EQ(out, (std::vector<int>{6, 6}));
}

TEST(Actor, JoinHandsTheEscapedExceptionToTheJoiner) {
  smarm::run([] {
    JoinHandle h = smarm::spawn([] { throw std::out_of_range("index 9"); });
    const Outcome outcome = h.join();
    EXPECT_FALSE(h.joinable());
    ASSERT_FALSE(outcome.ok());
    try {
      std::rethrow_exception(outcome.exception());
      ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range& e) {
      EXPECT_STREQ(e.what(), "index 9");
    }
  });
}

TEST(Actor, AnExceptionEndsOnlyThatActor) {
  std::vector<std::string> log;
  const Outcome root = smarm::run([&] {
    JoinHandle a = smarm::spawn([&] {
      log.push_back("a starts");
      smarm::yield_now();
      throw std::runtime_error("a fails");
    });
    JoinHandle b = smarm::spawn([&] {
      log.push_back("b starts");
      smarm::yield_now();
      smarm::yield_now();
      log.push_back("b ends");
    });
    EXPECT_FALSE(a.join().ok());
    EXPECT_TRUE(b.join().ok());
    log.push_back("root ends");
  });
  EXPECT_TRUE(root.ok());
  EXPECT_EQ(log, (std::vector<std::string>{"a starts", "b starts", "b ends", "root ends"}));
}

TEST(Actor, DroppingAHandleDetachesAndAnUnjoinedFailureIsReported) {
  bool finished = false;
  testing::internal::CaptureStderr();
  smarm::run([&] {
    {
      JoinHandle h = smarm::spawn([&] {
        smarm::yield_now();
        finished = true;
      });
    }  // detached: it runs on
    smarm::spawn([] { throw std::runtime_error("lost?"); }).detach();
  });
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(finished);
  EXPECT_NE(err.find("smarm: actor <"), std::string::npos) << err;
  EXPECT_NE(err.find("ended by an exception nobody joined: lost?"), std::string::npos) << err;
}

TEST(Actor, SelfNamesTheCallingActor) {
  smarm::run([] {
    Pid inner;
    JoinHandle h = smarm::spawn([&] { inner = smarm::self(); });
    const Pid expected = h.pid();
    h.join();
    EXPECT_EQ(inner, expected);
    EXPECT_NE(smarm::self(), expected);
  });
}

TEST(Actor, YieldLetsEveryOtherRunnableActorRunOnce) {
  std::string trace;
  smarm::run([&] {
    auto worker = [&trace](char name) {
      return [&trace, name] {
        for (int i = 0; i < 3; ++i) {
          trace += name;
          smarm::yield_now();
        }
      };
    };
    JoinHandle a = smarm::spawn(worker('a'));
    JoinHandle b = smarm::spawn(worker('b'));
    a.join();
    b.join();
  });
  EXPECT_EQ(trace, "ababab");
}

TEST(Actor, ParkWaitsForUnpark) {
  std::vector<std::string> log;
  smarm::run([&] {
    JoinHandle sleeper = smarm::spawn([&] {
      log.push_back("parking");
      smarm::park();
      log.push_back("woken");
    });
    smarm::yield_now();  // the sleeper parks
    log.push_back("unparking");
    smarm::unpark(sleeper.pid());
    sleeper.join();
  });
  EXPECT_EQ(log, (std::vector<std::string>{"parking", "unparking", "woken"}));
}

TEST(Actor, AnUnparkBeforeTheParkIsNotLost) {
  smarm::run([] {
    smarm::unpark(smarm::self());
    smarm::park();  // returns at once: the permit was waiting

    bool woke = false;
    JoinHandle late = smarm::spawn([&] {
      smarm::yield_now();  // the unpark below arrives while this actor is still runnable
      smarm::park();
      woke = true;
    });
    smarm::unpark(late.pid());
    late.join();
    EXPECT_TRUE(woke);
  });
}

TEST(Actor, AStalePidIsRejectedAndNeverReachesTheNewActor) {
  smarm::run([] {
    JoinHandle first = smarm::spawn([] {});
    const Pid old = first.pid();
    first.join();  // the slot is free now
    bool woke = false;
    JoinHandle second = smarm::spawn([&] {
      smarm::park();
      woke = true;
    });
    ASSERT_EQ(second.pid().index(), old.index()) << "the slot is reused";
    ASSERT_NE(second.pid(), old);
    smarm::yield_now();  // second parks
    try {
      smarm::unpark(old);
      ADD_FAILURE() << "unpark of a stale pid succeeded";
    } catch (const smarm::StalePid& e) {
      EXPECT_EQ(e.pid(), old);
      EXPECT_NE(std::string(e.what()).find("smarm::unpark: stale pid " + old.to_string()),
                std::string::npos)
          << e.what();
    }
    smarm::yield_now();
    EXPECT_FALSE(woke) << "the stale unpark must not wake the slot's new actor";
    smarm::unpark(second.pid());
    second.join();
    EXPECT_TRUE(woke);
  });
}

TEST(Actor, APidFromAnEarlierRunIsStaleInTheNext) {
  Pid old;
  smarm::run([&] {
    JoinHandle h = smarm::spawn([] {});
    old = h.pid();
    h.join();
  });
  smarm::run([&] {
    bool woke = false;
    JoinHandle h = smarm::spawn([&] {
      smarm::park();
      woke = true;
    });
    EXPECT_EQ(h.pid().index(), old.index()) << "the new run's table starts afresh";
    EXPECT_NE(h.pid(), old);
    smarm::yield_now();  // h parks
    EXPECT_THROW(smarm::unpark(old), smarm::StalePid);
    smarm::yield_now();
    EXPECT_FALSE(woke) << "a Pid of the earlier run must not wake this run's actor";
    smarm::unpark(h.pid());
    h.join();
    EXPECT_TRUE(woke);
  });
}

TEST(Actor, AHandleFromAnotherThreadsRunIsRefusedAndHarmless) {
  // Thread A's run: handles to actors at slots 1 and 2 and past the first chunk outlive it.
  std::optional<JoinHandle> first, second, far;
  std::thread([&] {
    smarm::run([&] {
      std::vector<JoinHandle> handles;
      for (int i = 0; i < 4097; ++i) {
        handles.push_back(smarm::spawn([] {}));
        if (i % 64 == 63) smarm::yield_now();  // let them end, so few stacks are held at once
      }
      first = std::move(handles[0]);
      second = std::move(handles[1]);
      far = std::move(handles[4096]);
    });
  }).join();
  ASSERT_EQ(first->pid().index(), 1U);
  ASSERT_EQ(second->pid().index(), 2U);
  ASSERT_GE(far->pid().index(), 4096U);

  // Thread B's run has its own actors in slots 1 and 2, and a table of one chunk.
  std::string join_error;
  std::string b_failure;
  std::thread([&] {
    try {
      smarm::run([&] {
        JoinHandle mine = smarm::spawn([] {});
        JoinHandle failing = smarm::spawn([] { throw std::runtime_error("B's own failure"); });
        smarm::yield_now();  // both end; their slots keep their outcomes for these handles
        EXPECT_EQ(mine.pid().index(), first->pid().index());
        try {
          (void)first->join();
          ADD_FAILURE() << "joined an actor of another thread's run";
        } catch (const smarm::Error& e) {
          join_error = e.what();
        }
        EXPECT_THROW(smarm::unpark(first->pid()), smarm::StalePid);
        second.reset();  // must not detach `failing`, which sits in the same slot index
        far.reset();     // an index past this run's table: must not be looked up
        EXPECT_TRUE(mine.join().ok());
        const Outcome outcome = failing.join();
        ASSERT_FALSE(outcome.ok());
        try {
          outcome.rethrow_if_failed();
        } catch (const std::runtime_error& e) {
          b_failure = e.what();
        }
      });
    } catch (const std::exception& e) {
      ADD_FAILURE() << "B's run threw: " << e.what();
    }
  }).join();
  EXPECT_NE(join_error.find("smarm::JoinHandle::join: the handle belongs to another run"),
            std::string::npos)
      << join_error;
  EXPECT_EQ(b_failure, "B's own failure");
  first.reset();
}

TEST(Actor, AFailureWhoseHandleOutlivesRunIsReportedAndTheHandleIsInert) {
  std::optional<JoinHandle> kept;
  testing::internal::CaptureStderr();
  smarm::run([&] { kept = smarm::spawn([] { throw std::runtime_error("outlived its run"); }); });
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(kept.has_value());
  EXPECT_NE(err.find("smarm: actor " + kept->pid().to_string() +
                     " ended by an exception nobody joined: outlived its run"),
            std::string::npos)
      << err;
  EXPECT_TRUE(kept->joinable());
  EXPECT_THROW((void)kept->join(), smarm::NotInActor);  // outside any run
  std::string error;
  smarm::run([&] {
    try {
      (void)kept->join();
      ADD_FAILURE() << "joined a handle whose run has ended";
    } catch (const smarm::Error& e) {
      error = e.what();
    }
  });
  EXPECT_NE(error.find("the handle belongs to another run"), std::string::npos) << error;
  kept.reset();  // destroying it is safe, in or out of a run
}

TEST(Actor, TheFirstActorsFailureIsReportedWhenRunThrowsDeadlock) {
  Pid first;
  testing::internal::CaptureStderr();
  EXPECT_THROW(
      smarm::run([&] {
        first = smarm::self();
        smarm::spawn([] { smarm::park(); }).detach();  // parks for ever: run() will throw Deadlock
        throw std::runtime_error("the first actor failed");
      }),
      smarm::Deadlock);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("smarm: actor " + first.to_string() +
                     " ended by an exception nobody joined: the first actor failed"),
            std::string::npos)
      << err;
}

TEST(Actor, SpawnRefusesACallableLargerThanHalfTheStack) {
  constexpr std::size_t kHalf = smarm::StackPool::default_size / 2;
  struct Largest {
    int* seen;
    std::array<unsigned char, kHalf - sizeof(int*)> bytes{};
    void operator()() const { *seen = bytes.front() + bytes.back(); }
  };
  static_assert(sizeof(Largest) == kHalf);
  struct TooLarge {
    std::array<unsigned char, kHalf + 1> bytes{};
    void operator()() const {}
  };
  // On the heap: a callable this size would fill the spawning actor's own stack.
  int seen = 0;
  auto largest = std::make_unique<Largest>();
  largest->bytes.front() = 1;
  largest->bytes.back() = 2;
  largest->seen = &seen;
  const auto too_large = std::make_unique<TooLarge>();
  const Outcome outcome = smarm::run([&] {
    const std::size_t held = smarm::StackPool::local().stats().in_use;
    try {
      smarm::spawn(*too_large).detach();
      ADD_FAILURE() << "spawned a callable of " << sizeof(TooLarge) << " bytes";
    } catch (const smarm::Error& e) {
      EXPECT_EQ(std::string(e.what()), "smarm::spawn: the callable (" +
                                           std::to_string(sizeof(TooLarge)) +
                                           " bytes) takes more than half of an actor's stack");
    }
    EXPECT_EQ(smarm::StackPool::local().stats().in_use, held) << "no stack kept by the refusal";
    EXPECT_TRUE(smarm::spawn(*largest).join().ok());  // exactly half is accepted
  });
  EXPECT_TRUE(outcome.ok());
  EXPECT_EQ(seen, 3);
}

TEST(Actor, PidsStayDistinctWhereA32BitGenerationWouldWrap) {
  smarm::run([] {
    JoinHandle first = smarm::spawn([] {});
    const Pid old = first.pid();
    first.join();
    // The serial a 32-bit number would confuse with the old one, for the same slot.
    smarm::detail::skip_serials_to(old.serial() + (std::uint64_t{1} << 32));
    bool woke = false;
    JoinHandle again = smarm::spawn([&] {
      smarm::park();
      woke = true;
    });
    ASSERT_EQ(again.pid().index(), old.index()) << "the slot is reused";
    EXPECT_EQ(again.pid().serial(), old.serial() + (std::uint64_t{1} << 32));
    EXPECT_NE(again.pid(), old);
    EXPECT_EQ(again.pid().to_string(),
              "<" + std::to_string(old.index()) + "." + std::to_string(again.pid().serial()) + ">");
    smarm::yield_now();  // `again` parks
    EXPECT_THROW(smarm::unpark(old), smarm::StalePid);
    smarm::yield_now();
    EXPECT_FALSE(woke);
    smarm::unpark(again.pid());
    again.join();
    EXPECT_TRUE(woke);
  });
}

TEST(Actor, ActorCallsOutsideAnActorAreClearErrors) {
  auto message = [](auto call) -> std::string {
    try {
      call();
    } catch (const smarm::NotInActor& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message([] { smarm::yield_now(); }), "smarm::yield_now called outside smarm::run");
  EXPECT_EQ(message([] { smarm::park(); }), "smarm::park called outside smarm::run");
  EXPECT_EQ(message([] { (void)smarm::self(); }), "smarm::self called outside smarm::run");
  EXPECT_EQ(message([] { smarm::unpark(Pid(0, 0)); }), "smarm::unpark called outside smarm::run");
  EXPECT_EQ(message([] { smarm::spawn([] {}).detach(); }),
            "smarm::spawn called outside smarm::run");
}

TEST(Actor, MisusesInsideRunAreClearErrors) {
  smarm::run([] {
    EXPECT_THROW(smarm::run([] {}), smarm::Error);
    JoinHandle empty;
    EXPECT_THROW(empty.join(), smarm::Error);
    JoinHandle h = smarm::spawn([] {});
    EXPECT_THROW(smarm::unpark(Pid(123456, 0)), smarm::StalePid);
    h.join();
  });
}

TEST(Actor, JoiningItselfIsAnError) {
  smarm::run([] {
    JoinHandle* mine = nullptr;
    std::string error;
    JoinHandle h = smarm::spawn([&] {
      try {
        mine->join();
      } catch (const smarm::Error& e) {
        error = e.what();
      }
    });
    mine = &h;
    smarm::yield_now();
    EXPECT_EQ(error, "smarm::JoinHandle::join: an actor cannot join itself");
    h.join();
  });
}

// The actors of a deadlock are unwound before run() reports it: their destructors run.
struct Unwound {
  int* count;
  ~Unwound() { ++*count; }
};

TEST(Actor, ADeadlockIsReportedWithTheParkedActorsAndDoesNotHang) {
  int unwound = 0;
  Pid first, sleeping;
  try {
    smarm::run([&] {
      JoinHandle sleeper = smarm::spawn([&] {
        const Unwound guard{&unwound};
        smarm::park();  // nobody will unpark it
      });
      first = smarm::self();
      sleeping = sleeper.pid();
      const Unwound guard{&unwound};
      sleeper.join();  // and nobody can end it
    });
    ADD_FAILURE() << "run returned";
  } catch (const smarm::Deadlock& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("smarm: deadlock: 2 actor(s) parked and nothing can wake them:"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find(first.to_string() + " joining " + sleeping.to_string() + ", " +
                        sleeping.to_string() + " in park()"),
              std::string::npos)
        << what;
    EXPECT_EQ(e.parked(), (std::vector<Pid>{first, sleeping}));
  }
  EXPECT_EQ(unwound, 2);
  EXPECT_TRUE(smarm::run([] {}).ok()) << "the thread can run again";
}

// Joins in its destructor, as std::jthread does: the scoped-join pattern.
struct ScopedJoin {
  JoinHandle handle;
  Outcome* joined;
  bool* done;
  ScopedJoin(JoinHandle h, Outcome* j, bool* d) : handle(std::move(h)), joined(j), done(d) {}
  ScopedJoin(const ScopedJoin&) = delete;
  ScopedJoin& operator=(const ScopedJoin&) = delete;
  ~ScopedJoin() {
    if (handle.joinable()) *joined = handle.join();
    *done = true;
  }
};

bool ended_by_cancellation(const Outcome& outcome) {
  try {
    outcome.rethrow_if_failed();
  } catch (const smarm::ActorCancelled&) {
    return true;
  } catch (...) {
  }
  return false;
}

TEST(Actor, ADestructorThatJoinsDuringADeadlockUnwindCompletesItsJoin) {
  Outcome joined;
  bool guard_done = false;
  std::size_t parked = 0;
  try {
    smarm::run([&] {
      const ScopedJoin guard(smarm::spawn([] { smarm::park(); }), &joined, &guard_done);
      smarm::park();  // deadlock: this actor and the one the guard joins are both parked
    });
    ADD_FAILURE() << "run returned";
  } catch (const smarm::Deadlock& e) {
    parked = e.parked().size();
  }
  EXPECT_EQ(parked, 2U);
  // Unwound by ActorCancelled, the first actor's guard joined the other, which was cancelled too.
  EXPECT_TRUE(guard_done);
  EXPECT_TRUE(ended_by_cancellation(joined));
}

TEST(Actor, AWaitInADestructorDuringUnwindingIsCancelledWithoutAThrow) {
  Outcome joined;
  bool guard_done = false;
  bool caught = false;
  std::string report;
  try {
    smarm::run([&] {
      smarm::spawn([&] {
        try {
          const ScopedJoin guard(smarm::spawn([] { smarm::park(); }), &joined, &guard_done);
          throw std::runtime_error("unwinding");  // the guard joins while this unwinds
        } catch (const std::runtime_error&) {
          caught = true;
        }
      }).detach();
    });
    ADD_FAILURE() << "run returned";
  } catch (const smarm::Deadlock& e) {
    report = e.what();
  }
  EXPECT_NE(report.find(" joining <2."), std::string::npos) << report;
  EXPECT_NE(report.find("<2."), std::string::npos) << report;
  // A throw out of the destructor would have ended the process. The join returned instead,
  // telling that it was cancelled, and the unwinding went on to the catch.
  EXPECT_TRUE(guard_done);
  EXPECT_TRUE(ended_by_cancellation(joined));
  EXPECT_TRUE(caught);
}

TEST(Actor, ACancelledActorMayWaitForAnActorThatCanStillBeCancelled) {
  Outcome joined;
  bool ended = false;
  std::vector<Pid> cancelled;
  std::string report;
  try {
    smarm::run([&] {
      smarm::spawn([&] {
        try {
          smarm::park();  // the first deadlock cancels this actor here
        } catch (const smarm::ActorCancelled&) {
          // Waits again, for an actor that the next deadlock can still cancel: not an abort.
          joined = smarm::spawn([] { smarm::park(); }).join();
        }
        ended = true;
      }).detach();
    });
    ADD_FAILURE() << "run returned";
  } catch (const smarm::Deadlock& e) {
    report = e.what();
    cancelled = e.parked();
  }
  EXPECT_NE(report.find("smarm: deadlock: 1 actor(s) parked and nothing can wake them: <1."),
            std::string::npos)
      << report;
  EXPECT_EQ(cancelled.size(), 2U) << "each actor cancelled once, the second one in a later round";
  EXPECT_TRUE(ended);
  EXPECT_TRUE(ended_by_cancellation(joined));
}

// ---- the C++ exception state belongs to the actor

TEST(Actor, RethrowInsideACatchBlockRethrowsTheActorsOwnException) {
  std::vector<std::string> rethrown;
  smarm::run([&] {
    auto catcher = [&rethrown](std::string mine) {
      return [&rethrown, mine] {
        try {
          throw std::runtime_error(mine);
        } catch (...) {
          smarm::yield_now();  // others throw and catch their own meanwhile
          smarm::yield_now();
          try {
            throw;  // must be this actor's exception, not the last one caught on the thread
          } catch (const std::runtime_error& e) {
            rethrown.emplace_back(e.what());
          }
        }
      };
    };
    JoinHandle a = smarm::spawn(catcher("a"));
    JoinHandle b = smarm::spawn(catcher("b"));
    JoinHandle c = smarm::spawn(catcher("c"));
    a.join();
    b.join();
    c.join();
  });
  EXPECT_EQ(rethrown, (std::vector<std::string>{"a", "b", "c"}));
}

// Counts uncaught exceptions from a destructor that yields during unwinding.
struct YieldsWhileUnwinding {
  int* before;
  int* after;
  ~YieldsWhileUnwinding() {
    *before = std::uncaught_exceptions();
    smarm::yield_now();
    *after = std::uncaught_exceptions();
  }
};

TEST(Actor, UncaughtExceptionsCountsTheActorsOwn) {
  int before = -1, after = -1, other = -1;
  smarm::run([&] {
    JoinHandle unwinding = smarm::spawn([&] {
      try {
        const YieldsWhileUnwinding probe{&before, &after};
        throw std::runtime_error("unwinding");
      } catch (const std::runtime_error&) {
      }
    });
    JoinHandle calm = smarm::spawn([&] {
      // Runs first when the other yields from its destructor, in the middle of its unwinding.
      other = std::uncaught_exceptions();
      try {
        throw 1;
      } catch (int) {
      }
    });
    unwinding.join();
    calm.join();
  });
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 1);
  EXPECT_EQ(other, 0);
}

TEST(Actor, TheExceptionStateLayoutIsCheckedAgainstTheRuntime) {
  smarm::detail::check_eh_layout(abi::__cxa_get_globals());  // returns: the layout is as expected
  try {
    throw std::runtime_error("inside a handler");
  } catch (const std::runtime_error&) {
    smarm::detail::check_eh_layout(abi::__cxa_get_globals());  // relative to the state it finds
  }
}

TEST(ActorDeathTest, AnExceptionStateOfAnotherLayoutStopsTheProcessLoudly) {
  struct {
    void* caught = nullptr;
    unsigned int uncaught = 0;
  } frozen;  // laid out as expected, but not where the runtime keeps its state: it never changes
  EXPECT_DEATH(smarm::detail::check_eh_layout(&frozen),
               "smarm: this C\\+\\+ runtime's __cxa_eh_globals is not laid out as smarm expects");
}

// ---- overflow reports name the actor

TEST(ActorDeathTest, AStackOverflowNamesTheActor) {
  EXPECT_DEATH(
      smarm::run([] { smarm::spawn([] { smarm_test::recurse(0); }).join(); }),
      "smarm: stack overflow: actor <1\\.[0-9]+> running on the stack at 0x[0-9a-f]+-0x[0-9a-f]+ "
      "\\(65536 bytes\\) ran into its guard zone");
}

TEST(ActorDeathTest, ACancelledActorThatWaitsAgainAbortsWithTheDeadlockReport) {
  // The loop is bounded, so that a park() that rethrew for ever without switching would let the
  // actor end and run() return, failing the test instead of hanging it.
  auto stubborn = [] {
    smarm::run([] {
      smarm::spawn([] {
        for (int i = 0; i < 1000; ++i) {
          try {
            smarm::park();
          } catch (...) {  // swallows ActorCancelled and parks again
          }
        }
      }).detach();
    });
  };
  EXPECT_DEATH(stubborn(),
               "smarm: deadlock: 1 actor\\(s\\) parked and nothing can wake them: <1\\.[0-9]+> in "
               "park\\(\\)\n"
               "smarm: deadlock again: every actor above was cancelled once and waits again; "
               "aborting");
}

TEST(ActorDeathTest, SpawnFailsCleanlyWhenTheSerialsAreUsedUp) {
  // In a child process: the serials used up stay used up.
  auto use_them_up = [] {
    smarm::detail::skip_serials_to(UINT64_MAX - 2);
    smarm::run([] {
      std::fprintf(stderr, "first %s\n", smarm::self().to_string().c_str());
      JoinHandle last = smarm::spawn([] {});
      std::fprintf(stderr, "last %s\n", last.pid().to_string().c_str());
      try {
        smarm::spawn([] {}).detach();
      } catch (const std::length_error& e) {
        std::fprintf(stderr, "then %s\n", e.what());
      }
      last.join();
    });
    std::exit(0);
  };
  EXPECT_EXIT(use_them_up(), testing::ExitedWithCode(0),
              "first <0.18446744073709551613>\n"
              "last <1.18446744073709551614>\n"
              "then smarm::spawn: the process has used up its 2\\^64 - 1 serials\n");
}
}  // namespace
