#include "core/eeprom/rollout.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace pinet::core::eeprom {
namespace {

using namespace std::chrono_literals;
const WallTime kT0{std::chrono::seconds(1'700'000'000)};

RolloutPlan plan(std::size_t n, int pct) {
    RolloutPlan p;
    p.name = "r1";
    p.sigTimestamp = 2000;
    for (std::size_t i = 0; i < n; ++i) {
        p.boards.push_back(fmt::format("{:08x}", 0x100 + i));
    }
    p.wavePercent = pct;
    p.returnTimeout = 60s;
    return p;
}

/// One board taking the update as the bootloader does: .sig, .upd, reset, boot, .sig, files.
void takesUpdate(Rollout& r, const std::string& s, WallTime t) {
    r.onOtherFile(s, "config.txt", t);
    r.onSigServed(s, t);
    r.onUpdateServed(s, t + 1s);
    r.onBoot(s, t + 5s);
    r.onOtherFile(s, "config.txt", t + 6s);
    r.onSigServed(s, t + 6s);
    r.onOtherFile(s, "start4.elf", t + 7s);
}

TEST(RolloutWaves, SplitsByPercentWithAtLeastOneBoard) {
    EXPECT_EQ(waveCount(50, 50), 2);
    EXPECT_EQ(waveCount(50, 10), 10);
    EXPECT_EQ(waveCount(3, 10), 3);  // 10 % of 3 is one board a wave
    EXPECT_EQ(waveCount(0, 10), 0);
    EXPECT_EQ(waveOf(24, 50, 50), 0);
    EXPECT_EQ(waveOf(25, 50, 50), 1);
    EXPECT_EQ(waveCount(7, 100), 1);
}

TEST(Rollout, OffersOnlyTheActiveWaveAndNothingBeforeStart) {
    Rollout r(plan(4, 50));
    EXPECT_FALSE(r.offers("00000100"));
    ASSERT_TRUE(r.start(kT0));
    EXPECT_TRUE(r.offers("00000100"));
    EXPECT_TRUE(r.offers("00000101"));
    EXPECT_FALSE(r.offers("00000102"));  // wave 2
    EXPECT_FALSE(r.offers("deadbeef"));  // not in the rollout
}

TEST(Rollout, HealthyWaveOpensTheNextThenDone) {
    Rollout r(plan(4, 50));
    r.start(kT0);
    takesUpdate(r, "00000100", kT0);
    r.tick(kT0 + 10s);
    EXPECT_EQ(r.wave(), 0);  // one board of the wave still pending
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::UpToDate);
    EXPECT_DOUBLE_EQ(*r.board("00000100")->goneSeconds(), 4.0);
    takesUpdate(r, "00000101", kT0 + 10s);
    r.tick(kT0 + 20s);
    EXPECT_EQ(r.wave(), 1);
    EXPECT_TRUE(r.offers("00000102"));
    EXPECT_EQ(r.state(), RolloutState::Running);
    takesUpdate(r, "00000102", kT0 + 20s);
    takesUpdate(r, "00000103", kT0 + 20s);
    r.tick(kT0 + 30s);
    EXPECT_EQ(r.state(), RolloutState::Done);
    EXPECT_FALSE(r.offers("00000100"));
    for (const auto& b : r.boards()) {
        EXPECT_EQ(b.updateFetches, 1) << b.serial;
        EXPECT_EQ(b.sigFetches, 2) << b.serial;
    }
}

TEST(Rollout, ABoardThatRefusesStopsTheRolloutAfterTheFirstWaveNamingIt) {
    Rollout r(plan(4, 50));
    r.start(kT0);
    takesUpdate(r, "00000100", kT0);
    // Bad signature: the board fetched the update and booted on without a reset.
    r.onSigServed("00000101", kT0);
    r.onUpdateServed("00000101", kT0 + 1s);
    r.onOtherFile("00000101", "start4.elf", kT0 + 2s);
    r.tick(kT0 + 3s);
    EXPECT_EQ(r.state(), RolloutState::Stopped);
    EXPECT_NE(r.reason().find("00000101"), std::string::npos) << r.reason();
    EXPECT_NE(r.reason().find("wave 1 of 2"), std::string::npos) << r.reason();
    EXPECT_FALSE(r.offers("00000102"));  // the second wave never starts
    EXPECT_FALSE(r.offers("00000100"));
    EXPECT_EQ(r.board("00000102")->phase, BoardPhase::Waiting);
}

TEST(Rollout, FetchingTheUpdateAgainIsAFailureToApply) {
    Rollout r(plan(2, 100));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    r.onUpdateServed("00000100", kT0 + 1s);
    r.onBoot("00000100", kT0 + 5s);
    r.onSigServed("00000100", kT0 + 6s);
    r.onUpdateServed("00000100", kT0 + 7s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Failed);
    EXPECT_NE(r.board("00000100")->detail.find("did not apply"), std::string::npos);
    r.tick(kT0 + 8s);
    EXPECT_EQ(r.state(), RolloutState::Stopped);
}

TEST(Rollout, ABoardThatDoesNotComeBackTimesOut) {
    Rollout r(plan(2, 50));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    r.onUpdateServed("00000100", kT0);
    r.tick(kT0 + 59s);
    EXPECT_EQ(r.state(), RolloutState::Running);
    r.tick(kT0 + 61s);
    EXPECT_EQ(r.state(), RolloutState::Stopped);
    EXPECT_NE(r.reason().find("did not come back within 60 s"), std::string::npos) << r.reason();
}

// Issue #17, "stopped automatically after the first wave, with the boards named": every
// step of a board in an open wave has the same deadline; a board that took part and
// then went silent is lost, and a lost board stops the rollout.
TEST(RolloutDeadline, ABoardThatHangsAfterTheSigIsLost) {
    Rollout r(plan(4, 50));
    r.start(kT0);
    takesUpdate(r, "00000100", kT0);
    r.onSigServed("00000101", kT0 + 10s);  // then nothing: hung fetching pieeprom.upd
    r.tick(kT0 + 69s);
    EXPECT_EQ(r.state(), RolloutState::Running);
    EXPECT_EQ(r.board("00000101")->phase, BoardPhase::Offered);
    r.tick(kT0 + 71s);
    EXPECT_EQ(r.state(), RolloutState::Stopped);
    EXPECT_EQ(r.board("00000101")->phase, BoardPhase::Failed);
    EXPECT_NE(r.reason().find("00000101 (lost: fetched pieeprom.sig, then nothing for 60 s"),
              std::string::npos)
        << r.reason();
    EXPECT_EQ(r.reason().find("00000100"), std::string::npos) << r.reason();
    EXPECT_FALSE(r.offers("00000102"));  // wave 2 never opens
}

TEST(RolloutDeadline, ABoardThatComesBackButNeverFinishesItsBootIsLost) {
    Rollout r(plan(2, 100));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    r.onUpdateServed("00000100", kT0 + 1s);
    r.onBoot("00000100", kT0 + 20s);  // DHCP after the reset, then silence (bad config?)
    ASSERT_EQ(r.board("00000100")->phase, BoardPhase::Returned);
    r.tick(kT0 + 79s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Returned);
    r.tick(kT0 + 81s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Failed);
    EXPECT_EQ(r.state(), RolloutState::Stopped);
    EXPECT_NE(r.reason().find("came back after the flash but was not up to date within 60 s"),
              std::string::npos)
        << r.reason();
}

TEST(RolloutDeadline, APoweredOffBoardDoesNotHoldItsWaveAndIsReportedNotReached) {
    Rollout r(plan(4, 50));
    r.start(kT0);
    takesUpdate(r, "00000100", kT0);  // 00000101 is never seen
    r.tick(kT0 + 59s);
    EXPECT_EQ(r.wave(), 0);
    r.tick(kT0 + 61s);
    EXPECT_EQ(r.state(), RolloutState::Running);
    EXPECT_EQ(r.wave(), 1);  // the wave had evidence (00000100) and is not held up
    const auto* late = r.board("00000101");
    EXPECT_EQ(late->phase, BoardPhase::NotReached);
    EXPECT_NE(late->detail.find("not seen within 60 s"), std::string::npos) << late->detail;
    EXPECT_TRUE(r.offers("00000101"));  // powered on late, it still gets the update
    takesUpdate(r, "00000102", kT0 + 70s);
    takesUpdate(r, "00000103", kT0 + 70s);
    r.tick(kT0 + 80s);
    EXPECT_EQ(r.state(), RolloutState::Done);
    EXPECT_NE(r.reason().find("1 board not reached"), std::string::npos) << r.reason();
    EXPECT_NE(r.reason().find("00000101"), std::string::npos) << r.reason();
    EXPECT_EQ(r.counts().at(BoardPhase::NotReached), 1u);
}

TEST(RolloutDeadline, ALateBoardTakesTheUpdateWhenItShowsUp) {
    Rollout r(plan(4, 50));
    r.start(kT0);
    takesUpdate(r, "00000100", kT0);
    r.tick(kT0 + 61s);
    ASSERT_EQ(r.board("00000101")->phase, BoardPhase::NotReached);
    takesUpdate(r, "00000101", kT0 + 100s);
    EXPECT_EQ(r.board("00000101")->phase, BoardPhase::UpToDate);
    EXPECT_EQ(r.board("00000101")->updateFetches, 1);
}

TEST(RolloutDeadline, AWaveWhereNoBoardCameBackStopsForWantOfEvidence) {
    Rollout r(plan(2, 50));
    r.start(kT0);
    r.tick(kT0 + 61s);  // 00000100, the whole first wave, was never seen
    EXPECT_EQ(r.state(), RolloutState::Stopped);
    EXPECT_NE(r.reason().find("no evidence"), std::string::npos) << r.reason();
    EXPECT_NE(r.reason().find("00000100"), std::string::npos) << r.reason();
    EXPECT_FALSE(r.offers("00000101"));
    // The operator goes on without it: the next wave opens.
    ASSERT_TRUE(r.resume(kT0 + 70s));
    EXPECT_EQ(r.wave(), 1);
    EXPECT_TRUE(r.offers("00000101"));
}

TEST(RolloutDeadline, ABoardThatBootsWithoutAskingForTheSigIsNotReachedAtOnce) {
    Rollout r(plan(1, 100));
    r.start(kT0);
    r.onBoot("00000100", kT0 + 1s);
    r.onOtherFile("00000100", "config.txt", kT0 + 2s);  // precedes the self-update step
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Pending);
    r.onOtherFile("00000100", "start4.elf", kT0 + 3s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::NotReached);
    EXPECT_NE(r.board("00000100")->detail.find("ENABLE_SELF_UPDATE=0"), std::string::npos);
    r.tick(kT0 + 4s);
    EXPECT_EQ(r.state(), RolloutState::Stopped);  // its only board: no evidence
}

TEST(RolloutDeadline, APauseDoesNotCountAgainstBoardsNotYetSeen) {
    Rollout r(plan(1, 100));
    r.start(kT0);
    r.pause(kT0 + 10s);
    r.tick(kT0 + 200s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Pending);
    r.resume(kT0 + 200s);
    r.tick(kT0 + 259s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Pending);
    r.tick(kT0 + 261s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::NotReached);
}

TEST(RolloutDeadline, RowsWithoutAPhaseTimeCountFromWhatTheyHave) {
    Rollout r(plan(1, 100));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    r.onUpdateServed("00000100", kT0 + 1s);
    auto rows = r.boards();
    rows[0].since.reset();  // a row written before the column existed
    Rollout back(r.plan(), r.state(), r.wave(), r.reason(), rows);
    back.tick(kT0 + 62s);  // 61 s after the fetch
    EXPECT_EQ(back.board("00000100")->phase, BoardPhase::Failed);
}

TEST(Rollout, WithoutDhcpTheNextSigMeansItCameBackAndConfigTxtIsNoEvidence) {
    Rollout r(plan(1, 100));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    r.onUpdateServed("00000100", kT0 + 1s);
    r.onOtherFile("00000100", "config.txt", kT0 + 5s);  // next boot, no DISCOVER seen
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Fetched);
    r.onSigServed("00000100", kT0 + 5s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Returned);
    r.onOtherFile("00000100", "start4.elf", kT0 + 6s);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::UpToDate);
}

TEST(Rollout, AlreadyCurrentBoardsCountAsUpToDate) {
    Rollout r(plan(1, 100));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    r.onOtherFile("00000100", "start4.elf", kT0 + 1s);
    r.tick(kT0 + 2s);
    EXPECT_EQ(r.state(), RolloutState::Done);
    EXPECT_EQ(r.board("00000100")->updateFetches, 0);
}

TEST(Rollout, PauseResumeAbort) {
    Rollout r(plan(2, 50));
    EXPECT_FALSE(r.pause(kT0));
    r.start(kT0);
    EXPECT_TRUE(r.pause(kT0));
    EXPECT_FALSE(r.offers("00000100"));
    // A board that fetched before the pause is still followed.
    r.onSigServed("00000100", kT0);
    r.onUpdateServed("00000100", kT0);
    EXPECT_EQ(r.board("00000100")->phase, BoardPhase::Fetched);
    EXPECT_TRUE(r.resume(kT0));
    EXPECT_TRUE(r.offers("00000100"));
    EXPECT_TRUE(r.abort(kT0));
    EXPECT_FALSE(r.offers("00000100"));
    EXPECT_FALSE(r.resume(kT0));
    EXPECT_FALSE(r.start(kT0));
}

TEST(Rollout, ResumeAfterAStopExcusesTheFailedBoardsAndGoesOn) {
    Rollout r(plan(2, 50));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    r.onUpdateServed("00000100", kT0);
    r.tick(kT0 + 61s);
    ASSERT_EQ(r.state(), RolloutState::Stopped);
    ASSERT_TRUE(r.resume(kT0 + 62s));
    EXPECT_EQ(r.state(), RolloutState::Running);
    EXPECT_EQ(r.wave(), 1);
    EXPECT_FALSE(r.offers("00000100"));  // failed: never offered again
    EXPECT_TRUE(r.offers("00000101"));
}

TEST(Rollout, RestoredFromRowsKeepsBoardsAndVersionMoves) {
    Rollout r(plan(2, 50));
    r.start(kT0);
    r.onSigServed("00000100", kT0);
    const auto v = r.version();
    Rollout back(r.plan(), r.state(), r.wave(), r.reason(), r.boards());
    EXPECT_EQ(back.board("00000100")->phase, BoardPhase::Offered);
    EXPECT_TRUE(back.offers("00000100"));
    r.onUpdateServed("00000100", kT0);
    EXPECT_GT(r.version(), v);
    EXPECT_EQ(parseBoardPhase("up_to_date"), BoardPhase::UpToDate);
    EXPECT_EQ(parseRolloutState("stopped"), RolloutState::Stopped);
    EXPECT_FALSE(parseRolloutState("nope"));
}

}  // namespace
}  // namespace pinet::core::eeprom
