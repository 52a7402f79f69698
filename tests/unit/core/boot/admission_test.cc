#include "core/boot/admission.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include <gtest/gtest.h>

using namespace pinet::core::boot;
using namespace std::chrono_literals;

namespace {

const SteadyClock::time_point t0 = SteadyClock::time_point{} + 1000s;
constexpr std::uint64_t kMB = 1'000'000;

AdmissionConfig smallConfig() {
    AdmissionConfig c;
    c.floorThroughput = 10 * kMB;  // budget 120 MB at the 12 s horizon
    c.initialPlanBytes = 10 * kMB;
    return c;
}

std::string board(int i) {
    return "dc:a6:32:00:" + std::to_string(i / 100) + ":" + std::to_string(i % 100);
}

// Sends @p rate bytes/s to @p address for @p d, in 10 ms steps, ticking.
void deliver(AdmissionController& a, std::uint32_t address, std::uint64_t rate,
             SteadyClock::time_point from, SteadyClock::duration d) {
    for (auto t = from; t < from + d; t += 10ms) {
        a.onDelivered(address, rate / 100, t);
        a.tick(t);
    }
}

}  // namespace

TEST(Admission, TheFirstBoardIsAdmittedWithNothingMeasured) {
    AdmissionController a(smallConfig());
    EXPECT_EQ(a.request(board(0), t0), AdmitResult::Admitted);
    EXPECT_TRUE(a.isAdmitted(board(0)));
    // It stays admitted when it re-sends its DISCOVER.
    EXPECT_EQ(a.request(board(0), t0 + 4s), AdmitResult::Admitted);
    EXPECT_EQ(a.admitted(), 1u);
}

TEST(Admission, BeforeAnyMeasurementTheFloorBoundsAdmissions) {
    AdmissionController a(smallConfig());
    int admitted = 0;
    for (int i = 0; i < 50; ++i) {
        if (a.request(board(i), t0) == AdmitResult::Admitted) {
            ++admitted;
        }
    }
    // 10 MB/s x 12 s = 120 MB: 12 boards of 10 MB.
    EXPECT_EQ(admitted, 12);
    EXPECT_EQ(a.waiting(), 38u);
    EXPECT_EQ(a.positionOf(board(12)), 0u);
    EXPECT_EQ(a.positionOf(board(49)), 37u);
    EXPECT_FALSE(a.positionOf(board(0)).has_value());
    const auto s = a.snapshot(t0);
    EXPECT_EQ(s.heldBoards, 38u);
    EXPECT_DOUBLE_EQ(s.admissionRate, 1.2);  // 12 in the last 10 s
    EXPECT_DOUBLE_EQ(a.snapshot(t0 + 11s).admissionRate, 0);
    EXPECT_EQ(s.budget, 120 * kMB);
    EXPECT_EQ(s.outstanding, 120 * kMB);
}

TEST(Admission, MeasuredThroughputOpensTheGateInArrivalOrder) {
    AdmissionController a(smallConfig());
    for (int i = 0; i < 100; ++i) {
        (void)a.request(board(i), t0);
    }
    for (int i = 0; i < 12; ++i) {
        a.bindAddress(board(i), 100 + i);
    }
    // The 12 admitted boards fetch at 5 MB/s each: 60 MB/s measured, budget 720 MB.
    for (auto t = t0; t < t0 + 1s; t += 10ms) {
        for (int i = 0; i < 12; ++i) {
            a.onDelivered(100 + i, 50'000, t);
        }
        a.tick(t);
    }
    const auto released = a.takeReleased();
    ASSERT_FALSE(released.empty());
    // Released strictly in arrival order, starting right after the first twelve.
    for (std::size_t k = 0; k < released.size(); ++k) {
        EXPECT_EQ(released[k], board(12 + static_cast<int>(k)));
    }
    const auto s = a.snapshot(t0 + 1s);
    EXPECT_NEAR(static_cast<double>(s.throughput), 60e6, 6e6);
    EXPECT_LE(s.outstanding, s.budget);
    // About 720 MB / 10 MB = 72 boards fit; the rest still wait.
    EXPECT_GE(a.admitted(), 65u);
    EXPECT_LE(a.admitted(), 75u);
    EXPECT_GT(a.waiting(), 0u);
}

TEST(Admission, ALaterBoardNeverOvertakesAWaitingOne) {
    AdmissionController a(smallConfig());
    for (int i = 0; i < 20; ++i) {
        (void)a.request(board(i), t0);
    }
    // A newcomer asking while capacity is free still waits behind the queue.
    EXPECT_EQ(a.request(board(99), t0 + 1s), AdmitResult::Held);
    EXPECT_EQ(a.positionOf(board(99)), 8u);
    // Boards 0..11 finish (fetch their plan, then go quiet): the queue drains in order.
    for (int i = 0; i < 12; ++i) {
        a.bindAddress(board(i), 100 + i);
        a.onDelivered(100 + i, 10 * kMB, t0 + 1s);
    }
    a.tick(t0 + 5s);
    auto released = a.takeReleased();
    ASSERT_GE(released.size(), 9u);
    for (int k = 0; k < 8; ++k) {
        EXPECT_EQ(released[static_cast<std::size_t>(k)], board(12 + k));
    }
    EXPECT_EQ(released[8], board(99));
}

TEST(Admission, ABoardThatVanishesFreesItsCapacity) {
    AdmissionController a(smallConfig());
    for (int i = 0; i < 13; ++i) {
        (void)a.request(board(i), t0);
    }
    EXPECT_EQ(a.waiting(), 1u);
    // Nobody fetches: after noShow (6 s) the admitted boards are dropped, board 12 enters.
    a.tick(t0 + 5s);
    EXPECT_TRUE(a.takeReleased().empty());
    (void)a.request(board(12), t0 + 4s);  // it keeps asking
    a.tick(t0 + 6s + 300ms);
    EXPECT_EQ(a.takeReleased(), std::vector<std::string>{board(12)});
    const auto s = a.snapshot(t0 + 11s);
    EXPECT_EQ(s.noShows, 12u);
    EXPECT_EQ(s.admitted, 1u);
}

TEST(Admission, AFinishedBoardTeachesThePlanSize) {
    auto c = smallConfig();
    c.initialPlanBytes = 40 * kMB;  // the tree's estimate is too high
    AdmissionController a(c);
    EXPECT_EQ(a.request(board(0), t0), AdmitResult::Admitted);
    a.bindAddress(board(0), 7);
    a.onDelivered(7, 8 * kMB, t0 + 1s);
    a.tick(t0 + 4s + 300ms);  // idle 3 s: done
    const auto s = a.snapshot(t0 + 5s);
    EXPECT_EQ(s.completed, 1u);
    EXPECT_EQ(s.planBytes, 8 * kMB);
    EXPECT_EQ(s.admitted, 0u);
}

TEST(Admission, ALongWaitIsAdmittedPastTheHorizonButNotPastTheHardOne) {
    AdmissionController a(smallConfig());
    // 12 boards fill the soft budget (120 MB); the hard one (200 MB) has room for 8 more.
    for (int i = 0; i < 30; ++i) {
        (void)a.request(board(i), t0);
    }
    EXPECT_EQ(a.admitted(), 12u);
    for (int i = 0; i < 12; ++i) {
        a.bindAddress(board(i), 100 + i);
    }
    // The admitted boards fetch a trickle (neither done nor no-shows); the others ask
    // every 4 s.
    for (auto t = t0; t < t0 + 30s; t += 1s) {
        for (int i = 0; i < 12; ++i) {
            a.onDelivered(100 + i, 1, t);
        }
        if ((t - t0) % 4s == 0s) {
            for (int i = 12; i < 30; ++i) {
                (void)a.request(board(i), t);
            }
        }
        a.tick(t);
    }
    EXPECT_TRUE(a.takeReleased().empty());
    EXPECT_EQ(a.admitted(), 12u);
    const auto t = t0 + 30s;
    for (int i = 0; i < 12; ++i) {
        a.onDelivered(100 + i, 1, t);
    }
    EXPECT_EQ(a.request(board(12), t), AdmitResult::Admitted);
    a.tick(t);
    const auto released = a.takeReleased();
    EXPECT_EQ(released.size(), 7u);  // board 12 by its own request, 13..19 released
    EXPECT_EQ(a.admitted(), 20u);
    EXPECT_EQ(a.waiting(), 10u);
    EXPECT_EQ(a.snapshot(t).overcommitted, 8u);
}

TEST(Admission, CapacityFollowsTheThroughputDown) {
    AdmissionController a(smallConfig());
    EXPECT_EQ(a.request(board(0), t0), AdmitResult::Admitted);
    a.bindAddress(board(0), 1);
    deliver(a, 1, 100 * kMB, t0, 2s);  // estimate ~100 MB/s
    EXPECT_NEAR(static_cast<double>(a.snapshot(t0 + 2s).throughput), 100e6, 10e6);
    deliver(a, 1, 20 * kMB, t0 + 2s, 3s);  // the server slows down
    const auto s = a.snapshot(t0 + 5s);
    EXPECT_NEAR(static_cast<double>(s.throughput), 20e6, 4e6);
    EXPECT_NEAR(static_cast<double>(s.budget), 20e6 * 12, 50e6);
}

TEST(Admission, TheConfiguredCeilingsHold) {
    auto c = smallConfig();
    c.maxAdmitted = 3;
    AdmissionController a(c);
    for (int i = 0; i < 10; ++i) {
        (void)a.request(board(i), t0);
    }
    EXPECT_EQ(a.admitted(), 3u);

    auto c2 = smallConfig();
    c2.floorThroughput = 100 * kMB;
    c2.maxThroughput = 20 * kMB;  // 240 MB budget: 24 boards
    AdmissionController b(c2);
    for (int i = 0; i < 40; ++i) {
        (void)b.request(board(i), t0);
    }
    EXPECT_EQ(b.admitted(), 24u);
}

TEST(Admission, AFullQueueTurnsBoardsAwayWithoutQueueingThem) {
    auto c = smallConfig();
    c.maxWaiting = 5;
    AdmissionController a(c);
    for (int i = 0; i < 17; ++i) {
        EXPECT_NE(a.request(board(i), t0), AdmitResult::QueueFull);
    }
    EXPECT_EQ(a.request(board(17), t0), AdmitResult::QueueFull);
    EXPECT_EQ(a.waiting(), 5u);
    EXPECT_EQ(a.snapshot(t0).queueFull, 1u);
}

TEST(Admission, AWaitingBoardThatStopsAskingLeavesTheQueue) {
    AdmissionController a(smallConfig());
    for (int i = 0; i < 14; ++i) {
        (void)a.request(board(i), t0);
    }
    for (int i = 0; i < 12; ++i) {
        a.bindAddress(board(i), 100 + i);
    }
    EXPECT_EQ(a.waiting(), 2u);
    for (auto t = t0; t <= t0 + 21s; t += 1s) {
        for (int i = 0; i < 12; ++i) {
            a.onDelivered(100 + i, 1, t);  // admitted boards busy: no room frees
        }
        if ((t - t0) % 4s == 0s) {
            (void)a.request(board(13), t);  // 13 keeps asking, 12 went away
        }
        a.tick(t);
    }
    EXPECT_EQ(a.waiting(), 1u);
    EXPECT_EQ(a.positionOf(board(13)), 0u);
    EXPECT_EQ(a.snapshot(t0 + 21s).forgotten, 1u);
}

TEST(Admission, TrafficOfAnUnboundAddressGoesToTheOldestUnboundBoard) {
    AdmissionController a(smallConfig());
    (void)a.request(board(0), t0);
    (void)a.request(board(1), t0);
    a.onDelivered(50, 1000, t0 + 10ms);  // proxy mode: an address we never handed out
    a.onDelivered(51, 1000, t0 + 10ms);
    a.onDelivered(52, 1000, t0 + 10ms);  // nobody left: a board that bypassed the gate
    const auto s = a.snapshot(t0 + 20ms);
    EXPECT_EQ(s.admitted, 3u);
    EXPECT_EQ(s.unmanaged, 1u);
    // Board 0 is bound to address 50: it finishes when 50 goes quiet.
    a.tick(t0 + 3s + 500ms);
    EXPECT_EQ(a.admitted(), 0u);
}

TEST(Admission, OneLineWhenHoldingStartsAndOneWhenTheStormIsOver) {
    AdmissionController a(smallConfig());
    for (int i = 0; i < 14; ++i) {
        (void)a.request(board(i), t0);
    }
    auto n = a.takeNotices();
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].kind, AdmissionNotice::Kind::HoldingStarted);
    EXPECT_EQ(n[0].admitted, 12u);
    for (int i = 0; i < 12; ++i) {
        a.bindAddress(board(i), 100 + i);
        a.onDelivered(100 + i, 10 * kMB, t0 + 1s);
    }
    a.tick(t0 + 4s + 300ms);  // they finish; 12 and 13 enter: the queue is empty
    EXPECT_TRUE(a.takeNotices().empty());
    a.tick(t0 + 10s);  // five quiet seconds later
    n = a.takeNotices();
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].kind, AdmissionNotice::Kind::StormOver);
    EXPECT_EQ(n[0].boardsHeld, 2u);
    EXPECT_GE(n[0].longestWait, 4s);
    const auto s = a.snapshot(t0 + 10s);
    EXPECT_EQ(s.waitBuckets.back(), 14u);  // every admission's wait is in the histogram
    EXPECT_EQ(s.waitBuckets[0], 12u);      // the first twelve did not wait
}

TEST(Admission, DisabledAdmitsEveryone) {
    auto c = smallConfig();
    c.enabled = false;
    AdmissionController a(c);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(a.request(board(i), t0), AdmitResult::Admitted);
    }
    EXPECT_EQ(a.waiting(), 0u);
}

namespace {

// A fluid model of a storm: N boards power on together, each needs `plan` bytes; the
// server delivers `capacity` bytes/s shared equally by the boards fetching, and a
// lockstep board cannot go faster than `perBoard` bytes/s. Returns each board's
// (wait, time from admission to its last byte); an unadmitted board has no entry.
struct StormResult {
    std::vector<double> waits;
    std::vector<double> fetchTimes;
    double lastDone = 0;  ///< seconds from power-on to the last board's last byte
    bool fifo = true;
    int maxAttempt = 0;  ///< the boot attempt (1 = first power-on) of the last board let in
};

// What the boards' round trips tell the controller (Delivery::ceiling).
enum class Ceilings {
    None,    ///< nothing measured (HTTP boot, or a server without the engine's RTT)
    True,    ///< each board's own limit, `perBoard`
    Shares,  ///< the worst case: the server's queueing hides the limit, so a board's
             ///< ceiling is the fastest share it has been given so far
};

StormResult simulate(AdmissionConfig config, int boards, std::uint64_t plan, double capacity,
                     double perBoard, std::chrono::seconds length, int* retried = nullptr,
                     Ceilings ceilings = Ceilings::None) {
    AdmissionController a(config);
    struct B {
        bool admitted = false;
        SteadyClock::time_point admittedAt{};
        double got = 0;
        bool done = false;
        double fastest = 0;
    };
    std::vector<B> bs(static_cast<std::size_t>(boards));
    StormResult r;
    int lastAdmitted = -1;
    // A board's boot attempt: DISCOVER at power-on and every 4 s until DHCP_TIMEOUT
    // (45 s), then the bootloader restarts its boot order 5 s later with a new
    // transaction (the bench's back-off). In between it answers nothing.
    auto attemptOf = [](SteadyClock::duration since) {
        return static_cast<int>(since / 50s) + 1;
    };
    auto asking = [](SteadyClock::duration since) {
        return since % 50s < 45s;
    };
    auto onAdmit = [&](int i, SteadyClock::time_point t) {
        auto& b = bs[static_cast<std::size_t>(i)];
        if (b.admitted || !asking(t - t0)) {
            return;  // an OFFER to a board between attempts is lost on it
        }
        b.admitted = true;
        b.admittedAt = t;
        r.maxAttempt = std::max(r.maxAttempt, attemptOf(t - t0));
        a.bindAddress(board(i), static_cast<std::uint32_t>(1000 + i));
        r.waits.push_back(std::chrono::duration<double>(t - t0).count());
        if (i < lastAdmitted) {
            r.fifo = false;
        }
        lastAdmitted = std::max(lastAdmitted, i);
    };
    const auto step = 10ms;
    for (auto t = t0; t < t0 + length; t += step) {
        // DISCOVER at power-on and every 4 s while not admitted. A board not let in
        // within DHCP_TIMEOUT (45 s) fails its attempt and starts over 5 s later.
        const auto since = t - t0;
        const bool retrying = !asking(since);
        if (since == 45s && retried != nullptr) {
            for (const auto& b : bs) {
                *retried += b.admitted ? 0 : 1;
            }
        }
        if (since % 4s < step && !retrying) {
            for (int i = 0; i < boards; ++i) {
                if (!bs[static_cast<std::size_t>(i)].admitted &&
                    a.request(board(i), t) == AdmitResult::Admitted) {
                    onAdmit(i, t);
                }
            }
        }
        int fetching = 0;
        for (const auto& b : bs) {
            fetching += b.admitted && !b.done ? 1 : 0;
        }
        const double rate = fetching == 0 ? 0 : std::min(perBoard, capacity / fetching);
        for (int i = 0; i < boards; ++i) {
            auto& b = bs[static_cast<std::size_t>(i)];
            if (!b.admitted || b.done) {
                continue;
            }
            const double chunk = std::min(rate * std::chrono::duration<double>(step).count(),
                                          static_cast<double>(plan) - b.got);
            b.got += chunk;
            b.fastest = std::max(b.fastest, rate);
            const double ceiling = ceilings == Ceilings::True     ? perBoard
                                   : ceilings == Ceilings::Shares ? b.fastest
                                                                  : 0;
            a.onDelivered(static_cast<std::uint32_t>(1000 + i), static_cast<std::uint64_t>(chunk),
                          t, static_cast<std::uint64_t>(ceiling));
            if (b.got >= static_cast<double>(plan)) {
                b.done = true;
                r.fetchTimes.push_back(std::chrono::duration<double>(t - b.admittedAt).count());
                r.lastDone = std::chrono::duration<double>(t - t0).count();
            }
        }
        a.tick(t);
        for (const auto& key : a.takeReleased()) {
            for (int i = 0; i < boards; ++i) {
                if (board(i) == key) {
                    onAdmit(i, t);
                }
            }
        }
    }
    return r;
}

}  // namespace

TEST(AdmissionStorm, EveryBoardOfAStormFetchesInsideTheDeadline) {
    // 400 boards x 10 MB at 100 MB/s: 40 s of work. Lockstep boards top out at 20 MB/s.
    AdmissionConfig c;
    c.initialPlanBytes = 10 * kMB;
    const auto r = simulate(c, 400, 10 * kMB, 100e6, 20e6, 70s);
    ASSERT_EQ(r.waits.size(), 400u);
    ASSERT_EQ(r.fetchTimes.size(), 400u);
    EXPECT_TRUE(r.fifo);
    // No board waits past maxHold, and every board's files arrive well inside 30 s.
    EXPECT_LE(*std::max_element(r.waits.begin(), r.waits.end()), 30.5);
    EXPECT_LT(*std::max_element(r.fetchTimes.begin(), r.fetchTimes.end()), 15.0);
    // And the server was kept busy: the last board is home within 10 % of the 40 s the
    // work takes at full throughput.
    EXPECT_LT(r.lastDone, 44.0);
}

TEST(AdmissionStorm, WithoutAdmissionTheSameStormMissesEveryDeadline) {
    AdmissionConfig c;
    c.enabled = false;
    const auto r = simulate(c, 400, 10 * kMB, 100e6, 20e6, 70s);
    ASSERT_EQ(r.fetchTimes.size(), 400u);
    // Fair shares of 0.25 MB/s: 40 s per board, past the 30 s deadline for all.
    EXPECT_GT(*std::min_element(r.fetchTimes.begin(), r.fetchTimes.end()), 30.0);
}

TEST(AdmissionStorm, AStormBeyondTheDeadlinesBootsEveryBoardWithinTwoAttempts) {
    // 1500 boards x 10 MB at 150 MB/s: 100 s of work. At most 45 s x 150 MB/s + 20 s of
    // committed work can be let in during the boards' first DHCP_TIMEOUT, so about a
    // third must come back for a second attempt; admitted boards still fetch inside 30 s.
    AdmissionConfig c;
    c.initialPlanBytes = 10 * kMB;
    int retried = 0;
    const auto r = simulate(c, 1500, 10 * kMB, 150e6, 20e6, 140s, &retried);
    ASSERT_EQ(r.fetchTimes.size(), 1500u);
    EXPECT_TRUE(r.fifo);
    EXPECT_GT(retried, 0);
    EXPECT_LT(retried, 1500 / 2);
    EXPECT_LT(*std::max_element(r.fetchTimes.begin(), r.fetchTimes.end()), 25.0);
    // The server stays busy: the last board is home within 15 % of the 100 s of work.
    EXPECT_LT(r.lastDone, 115.0);
}

TEST(AdmissionStorm, BoardsSlowerThanTheHorizonStillFillTheServer) {
    // 400 boards x 24 MB on a 100 MB/s server: 96 s of work. Each board takes at most
    // 1.5 MB/s (its round trip), so alone it needs 16 s: more than the 12 s horizon,
    // and the plain rule, which counts its whole plan, keeps the gate nearly shut while
    // the server idles. Told each board's ceiling, the gate fills the server.
    AdmissionConfig c;
    c.initialPlanBytes = 24 * kMB;
    int retried = 0;
    const auto r = simulate(c, 400, 24 * kMB, 100e6, 1.5e6, 200s, &retried, Ceilings::True);
    ASSERT_EQ(r.fetchTimes.size(), 400u);
    EXPECT_TRUE(r.fifo);
    EXPECT_LT(*std::max_element(r.fetchTimes.begin(), r.fetchTimes.end()), 25.0);
    EXPECT_LT(r.lastDone, 96.0 * 1.15);
    int retriedBlind = 0;
    const auto blind = simulate(c, 400, 24 * kMB, 100e6, 1.5e6, 200s, &retriedBlind);
    ASSERT_EQ(blind.fetchTimes.size(), 400u);
    std::printf("    with ceilings: last board %.1f s, %d retried; without: %.1f s, %d retried\n",
                r.lastDone, retried, blind.lastDone, retriedBlind);
    EXPECT_GT(blind.lastDone, r.lastDone * 1.15) << "without ceilings the gate stays narrow";
    EXPECT_LT(retried, retriedBlind);
}

TEST(AdmissionStorm, CeilingsThatAreOnlySharesDoNotOverAdmit) {
    // The worst case for measured ceilings: the server's own queueing makes every
    // round trip it measures as long as its share, so a board's "ceiling" is the best
    // share it got. The full-pipe detector must stop the widening: every board still
    // fetches well inside the deadline, and the storm is no slower.
    AdmissionConfig c;
    c.initialPlanBytes = 8 * kMB;
    const auto shares = simulate(c, 1000, 8 * kMB, 400e6, 20e6, 90s, nullptr, Ceilings::Shares);
    ASSERT_EQ(shares.fetchTimes.size(), 1000u);
    EXPECT_TRUE(shares.fifo);
    EXPECT_LT(*std::max_element(shares.fetchTimes.begin(), shares.fetchTimes.end()), 20.0);
    EXPECT_LT(shares.lastDone, 20.0 * 1.1);  // 8 GB at 400 MB/s
}

TEST(Admission, APipeThatStopsGrowingWhileBoardsWaitIsFull) {
    AdmissionConfig c;
    c.initialPlanBytes = 24 * kMB;
    c.maxAdmitted = 4;  // boards wait behind the ceiling
    AdmissionController a(c);
    for (int i = 0; i < 8; ++i) {
        a.request(board(i), t0);
    }
    ASSERT_GT(a.waiting(), 0u);
    // Four boards at a steady 2 MB/s each (a 1.5 ms round trip with 1468-byte
    // blocks would give 1 MB/s: this is their measured ceiling).
    auto t = t0;
    for (int step = 0; step < 300 && !a.snapshot(t).pipeFull; ++step) {
        t += 10ms;
        for (int i = 0; i < 4; ++i) {
            a.onDelivered(static_cast<std::uint32_t>(100 + i), 20'000, t, 2'000'000);
        }
        a.tick(t);
    }
    const auto s = a.snapshot(t);
    EXPECT_TRUE(s.pipeFull) << "flat throughput with boards waiting";
    EXPECT_EQ(s.boardCeiling, 2'000'000u);
    EXPECT_LT(t - t0, 2500ms) << "found within a few windows of the throughput settling";
    // The boards slow to a crawl (they finished their kernels): the pipe has room again.
    for (int step = 0; step < 200 && a.snapshot(t).pipeFull; ++step) {
        t += 10ms;
        for (int i = 0; i < 4; ++i) {
            a.onDelivered(static_cast<std::uint32_t>(100 + i), 2'000, t, 2'000'000);
        }
        a.tick(t);
    }
    EXPECT_FALSE(a.snapshot(t).pipeFull);
}

TEST(AdmissionStorm, TwoThousandBoardsOfTwentyFourMegabytesBootWithinTwoAttempts) {
    // The bench's largest TFTP row (2000 x 24 MB, 576 MB/s measured): 87 s of work, more
    // than a first attempt can carry (45 s of DHCP_TIMEOUT + 20 s of committed work) but
    // well inside two (95 s + 20 s). Boards whose first attempt timed out are quiet for
    // 5 s before their second; what is released then must not be lost on them.
    AdmissionConfig c;
    c.initialPlanBytes = 24 * kMB;
    int retried = 0;
    const auto r = simulate(c, 2000, 24 * kMB, 576e6, 20e6, 200s, &retried, Ceilings::True);
    std::printf("    2000 x 24 MB: %zu let in, last attempt %d, %d retried, last board %.1f s\n",
                r.waits.size(), r.maxAttempt, retried, r.lastDone);
    ASSERT_EQ(r.fetchTimes.size(), 2000u);
    EXPECT_LE(r.maxAttempt, 2);
    EXPECT_LT(*std::max_element(r.fetchTimes.begin(), r.fetchTimes.end()), 25.0);
    EXPECT_LT(r.lastDone, 2000 * 24 * kMB / 576e6 * 1.25);
}

TEST(Admission, AQuietBoardKeepsItsPlaceAndIsNotReleasedIntoItsBackOff) {
    AdmissionController a(smallConfig());
    for (int i = 0; i < 13; ++i) {
        (void)a.request(board(i), t0);  // 12 fit, board 12 waits
    }
    // Board 12 stops asking (its attempt ends); board 13 keeps asking.
    (void)a.request(board(13), t0 + 1s);
    (void)a.request(board(13), t0 + 5s);
    // Capacity frees after noShow (the first 12 never fetched; not re-queued, since
    // they never waited): board 13, asking, gets it; the quiet board 12 is not let in.
    a.tick(t0 + 7s);
    EXPECT_EQ(a.takeReleased(), std::vector<std::string>{board(13)});
    EXPECT_TRUE(a.isAdmitted(board(13)));
    EXPECT_FALSE(a.isAdmitted(board(12)));
    EXPECT_EQ(a.positionOf(board(12)), 0u) << "board 12 keeps the head of the queue";
    // Its next attempt asks again and is let in at once.
    EXPECT_EQ(a.request(board(12), t0 + 10s), AdmitResult::Admitted);
}

TEST(Admission, ANoShowThatHadWaitedGoesBackToTheFrontOfTheQueue) {
    AdmissionConfig c = smallConfig();
    c.maxThroughput = 10 * kMB;  // the budget stays 120 MB whatever is measured
    AdmissionController a(c);
    for (int i = 0; i < 14; ++i) {
        (void)a.request(board(i), t0);  // 12 fit, 12 and 13 wait
    }
    // Boards 0..11 are sent their plan: 12 and 13 are released.
    for (int i = 0; i < 12; ++i) {
        a.bindAddress(board(i), 100 + i);
        a.onDelivered(100 + i, 10 * kMB, t0 + 1s);
    }
    a.tick(t0 + 1s);
    ASSERT_EQ(a.takeReleased(), (std::vector<std::string>{board(12), board(13)}));
    // Board 12 fetches; board 13 never does (its OFFER was lost). Newcomers fill the
    // rest and wait behind.
    a.bindAddress(board(12), 200);
    a.onDelivered(200, 1 * kMB, t0 + 2s);
    for (int i = 20; i < 40; ++i) {
        (void)a.request(board(i), t0 + 2s);
    }
    ASSERT_GT(a.waiting(), 1u);
    // After noShow (6 s) board 13 is back at the front, ahead of every newcomer.
    a.tick(t0 + 7s + 300ms);
    EXPECT_EQ(a.snapshot(t0 + 7s + 300ms).requeued, 1u);
    EXPECT_EQ(a.positionOf(board(13)), 0u);
    EXPECT_FALSE(a.isAdmitted(board(13)));
}
