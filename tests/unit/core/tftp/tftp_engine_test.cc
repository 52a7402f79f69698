// The TFTP engine with an injected clock and in-memory files: every policy
// decision of the server, without a socket.
#include "core/tftp/tftp_engine.h"

#include <map>

#include <gtest/gtest.h>

#include "core/tftp/memory_files.h"
#include "lib/test_admission_gate.h"

namespace pinet::core::tftp {
namespace {

using namespace std::chrono_literals;
namespace pt = proto::tftp;
using Result = TransferRecord::Result;

const Clock::time_point t0 = Clock::time_point(1000s);

Instant at(Clock::duration d) {
    return {t0 + d, WallTime(std::chrono::seconds(1'700'000'000)) +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(d)};
}

std::vector<std::uint8_t> bytes(std::size_t n, char fill) {
    return std::vector<std::uint8_t>(n, static_cast<std::uint8_t>(fill));
}

std::vector<std::uint8_t> rrq(const std::string& name, std::vector<pt::Option> options = {},
                              pt::Opcode op = pt::Opcode::Rrq, pt::Mode mode = pt::Mode::Octet) {
    return pt::buildRequest(pt::Request{op, name, mode, std::move(options)});
}

class MapResolver final : public ClientDirectoryResolver {
public:
    std::map<std::string, std::string, std::less<>> dirs;
    std::optional<std::string> directoryForSerial(std::string_view s) const override {
        auto it = dirs.find(s);
        return it == dirs.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    std::optional<std::string> directoryForMac(std::string_view m) const override {
        return directoryForSerial(m);
    }
};

class TftpEngineTest : public ::testing::Test {
protected:
    void make(EngineConfig cfg = {}) { engine_ = std::make_unique<TftpEngine>(cfg, files_); }

    /// The outbox's datagrams, parsed, and cleared (as the app does after sending).
    std::vector<std::pair<OutDatagram, pt::Packet>> sent() {
        std::vector<std::pair<OutDatagram, pt::Packet>> out;
        for (auto& d : engine_->outbox().datagrams) {
            std::vector<std::uint8_t> wire = d.packet;
            if (wire.empty()) {
                wire.assign(d.header.begin(), d.header.begin() + d.headerLength);
                wire.insert(wire.end(), d.payload.begin(), d.payload.end());
            }
            wires_.push_back(std::move(wire));
            auto p = pt::parse(wires_.back());
            EXPECT_TRUE(p) << "the engine sent an unparsable datagram";
            if (p) {
                out.emplace_back(d, *p);
            }
        }
        engine_->outbox().datagrams.clear();
        return out;
    }
    /// Ends the turn and returns its records.
    std::vector<TransferRecord> records(Clock::duration d = 0s) {
        engine_->endTurn(at(d));
        auto r = engine_->outbox().records;
        engine_->outbox().records.clear();
        return r;
    }

    MemoryFiles files_;
    std::unique_ptr<TftpEngine> engine_;
    std::vector<std::vector<std::uint8_t>> wires_;  // keeps parsed views alive
    const Endpoint pi_ = Endpoint::v4(0x0a000002, 49152);
};

TEST_F(TftpEngineTest, LockstepTransferFromRequestToRecord) {
    files_.add("start4.elf", bytes(1000, 's'));
    make();
    engine_->onRequestDatagram(pi_, rrq("start4.elf"), at(0s));
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<pt::Data>(out[0].second));
    EXPECT_EQ(std::get<pt::Data>(out[0].second).block, 1);
    EXPECT_EQ(std::get<pt::Data>(out[0].second).payload.size(), 512u);
    EXPECT_EQ(out[0].first.to, pi_);
    const auto socket = out[0].first.channel;
    engine_->onReplyDatagram(socket, pi_, pt::buildAck(1), at(1ms));
    out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<pt::Data>(out[0].second).payload.size(), 488u);
    engine_->onReplyDatagram(socket, pi_, pt::buildAck(2), at(2ms));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(engine_->activeTransfers(), 0u);
    auto recs = records(3ms);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::Ok);
    EXPECT_EQ(recs[0].bytes, 1000u);
    EXPECT_EQ(recs[0].clientAddr, "10.0.0.2:49152");
    EXPECT_EQ(recs[0].duration, 3ms);
    EXPECT_EQ(recs[0].start, at(0s).wall);
    EXPECT_EQ(engine_->counters().finishedCount(Result::Ok), 1u);
    EXPECT_EQ(engine_->counters().transfersStarted, 1u);
}

TEST_F(TftpEngineTest, DefaultsAreServesDefaults) {
    // One place for `serve` and `pinetboot tftp` (issue #12).
    const EngineConfig c;
    EXPECT_EQ(c.transfer.maxBlockSize, 1468u);
    EXPECT_EQ(c.transfer.maxWindowSize, 16u);
    EXPECT_EQ(c.maxTransfers, 256u);
    EXPECT_EQ(c.transfer.maxRetries, 5);
}

TEST_F(TftpEngineTest, ContentOutlivesTheTransferUntilTheTurnEnds) {
    files_.add("k", bytes(100, 'k'));
    make();
    engine_->onRequestDatagram(pi_, rrq("k"), at(0s));
    auto socket = engine_->outbox().datagrams.at(0).channel;
    engine_->onReplyDatagram(socket, pi_, pt::buildAck(1), at(1ms));
    // Ended, but a queued datagram may still point into the content.
    EXPECT_EQ(engine_->activeTransfers(), 0u);
    EXPECT_EQ(files_.holders("k"), 1);
    sent();
    records();
    EXPECT_EQ(files_.holders("k"), 0);
}

TEST_F(TftpEngineTest, EveryRefusalFollowsTheTable) {
    files_.add("ok", bytes(10, 'o'));
    files_.setError("dir", FileError::NotRegular);
    files_.setError("secret", FileError::AccessDenied);
    files_.setError("link", FileError::Escape);
    files_.setError("broken", FileError::Io);
    make();
    struct Case {
        std::vector<std::uint8_t> request;
        TftpRefusal reason;
        pt::ErrorCode code;
        Result result;
    };
    const std::vector<Case> cases = {
        {rrq("x", {}, pt::Opcode::Wrq), TftpRefusal::WriteRequest, pt::ErrorCode::AccessViolation,
         Result::Refused},
        {rrq("ok", {}, pt::Opcode::Rrq, pt::Mode::Mail), TftpRefusal::BadMode,
         pt::ErrorCode::IllegalOperation, Result::Refused},
        {rrq("../etc/passwd"), TftpRefusal::PathEscape, pt::ErrorCode::AccessViolation,
         Result::Refused},
        {rrq("a\x01"
             "b"),
         TftpRefusal::BadPath, pt::ErrorCode::AccessViolation, Result::Refused},
        {rrq("missing"), TftpRefusal::NotFound, pt::ErrorCode::FileNotFound, Result::NotFound},
        {rrq("dir"), TftpRefusal::SpecialFile, pt::ErrorCode::AccessViolation, Result::Refused},
        {rrq("secret"), TftpRefusal::AccessDenied, pt::ErrorCode::AccessViolation, Result::Refused},
        {rrq("link"), TftpRefusal::PathEscape, pt::ErrorCode::AccessViolation, Result::Refused},
        {rrq("broken"), TftpRefusal::IoError, pt::ErrorCode::NotDefined, Result::ServerError},
    };
    std::uint16_t port = 1000;
    for (const auto& c : cases) {
        const auto before = engine_->counters().refusedCount(c.reason);
        const Endpoint from = Endpoint::v4(0x0a000002, port++);
        engine_->onRequestDatagram(from, c.request, at(0s));
        auto out = sent();
        ASSERT_EQ(out.size(), 1u) << toString(c.reason);
        const auto* err = std::get_if<pt::ErrorPacket>(&out[0].second);
        ASSERT_NE(err, nullptr) << toString(c.reason);
        EXPECT_EQ(err->code, static_cast<std::uint16_t>(c.code)) << toString(c.reason);
        EXPECT_EQ(err->message, refusalRule(c.reason).text);
        EXPECT_EQ(out[0].first.to, from);
        EXPECT_EQ(engine_->counters().refusedCount(c.reason), before + 1) << toString(c.reason);
        auto recs = records();
        ASSERT_EQ(recs.size(), 1u) << toString(c.reason);
        EXPECT_EQ(recs[0].result, c.result) << toString(c.reason);
        EXPECT_EQ(recs[0].detail.rfind(toString(c.reason), 0), 0u) << recs[0].detail;
    }
    EXPECT_EQ(engine_->activeTransfers(), 0u);
}

TEST_F(TftpEngineTest, TheTableIsCompleteAndSilentRefusalsSendNothing) {
    for (std::size_t i = 0; i < kRefusalCount; ++i) {
        const auto r = static_cast<TftpRefusal>(i);
        const auto& rule = refusalRule(r);
        EXPECT_EQ(rule.reason, r);
        EXPECT_STRNE(toString(r), "?");
        if (rule.answer) {
            EXPECT_STRNE(rule.text, "") << toString(r);
        }
    }
    // Flood-type refusals are silent: no reflection.
    for (auto r :
         {TftpRefusal::RateLimited, TftpRefusal::TooManyConcurrent, TftpRefusal::SourceTableFull,
          TftpRefusal::ServerFull, TftpRefusal::UnknownTid, TftpRefusal::Malformed}) {
        EXPECT_FALSE(refusalRule(r).answer) << toString(r);
    }
}

TEST_F(TftpEngineTest, RepeatedRrqBeforeTheFirstAnswerIsADuplicate) {
    files_.add("k", bytes(5000, 'k'));
    make();
    engine_->onRequestDatagram(pi_, rrq("k"), at(0s));
    ASSERT_EQ(sent().size(), 1u);
    engine_->onRequestDatagram(pi_, rrq("k"), at(500ms));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::DuplicateRequest), 1u);
    EXPECT_EQ(engine_->activeTransfers(), 1u);
}

TEST_F(TftpEngineTest, ANewRequestFromTheSamePortSupersedesAnAnsweredTransfer) {
    files_.add("k", bytes(5000, 'k'));
    files_.add("cmdline.txt", bytes(10, 'c'));
    make();
    engine_->onRequestDatagram(pi_, rrq("k"), at(0s));
    auto socket = sent().at(0).first.channel;
    engine_->onReplyDatagram(socket, pi_, pt::buildAck(1), at(1ms));
    sent();
    engine_->onRequestDatagram(pi_, rrq("cmdline.txt"), at(2ms));
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<pt::Data>(out[0].second).payload.size(), 10u);
    auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::ClientError);
    EXPECT_NE(recs[0].detail.find("superseded"), std::string::npos);
}

TEST_F(TftpEngineTest, PerSourceAndGlobalLimitsDropSilently) {
    files_.add("k", bytes(5000, 'k'));
    EngineConfig cfg;
    cfg.source.maxConcurrent = 1;
    cfg.maxTransfers = 2;
    make(cfg);
    engine_->onRequestDatagram(Endpoint::v4(0x0a000002, 1), rrq("k"), at(0s));
    engine_->onRequestDatagram(Endpoint::v4(0x0a000002, 2), rrq("k"), at(0s));
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::TooManyConcurrent), 1u);
    engine_->onRequestDatagram(Endpoint::v4(0x0a000003, 1), rrq("k"), at(0s));
    // Both clients answer: they now hold the two slots of maxTransfers.
    for (const auto& [d, p] : sent()) {
        engine_->onReplyDatagram(d.channel, d.to, pt::buildAck(1), at(1ms));
    }
    EXPECT_EQ(sent().size(), 2u);  // their second blocks
    engine_->onRequestDatagram(Endpoint::v4(0x0a000004, 1), rrq("k"), at(2ms));
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::ServerFull), 1u);
    EXPECT_TRUE(sent().empty());
    EXPECT_TRUE(records().empty());
    EXPECT_EQ(engine_->activeTransfers(), 2u);
}

TEST_F(TftpEngineTest, ARefusedRequestGivesItsSourceSlotBack) {
    EngineConfig cfg;
    cfg.source.maxConcurrent = 1;
    make(cfg);
    for (std::uint16_t p = 1; p <= 5; ++p) {
        engine_->onRequestDatagram(Endpoint::v4(0x0a000002, p), rrq("missing"), at(0s));
    }
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::NotFound), 5u);
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::TooManyConcurrent), 0u);
}

TEST_F(TftpEngineTest, SilentClientIsRetriedThenTimedOutOnTheInjectedClock) {
    files_.add("k", bytes(5000, 'k'));
    EngineConfig cfg;
    cfg.transfer.maxFirstReplyRetries = 2;
    make(cfg);
    engine_->onRequestDatagram(pi_, rrq("k"), at(0s));
    ASSERT_EQ(sent().size(), 1u);
    EXPECT_EQ(engine_->nextDeadline(t0), t0 + 1s);
    engine_->tick(at(999ms));
    EXPECT_TRUE(sent().empty());
    engine_->tick(at(1s));
    EXPECT_EQ(sent().size(), 1u);  // retransmission 1
    engine_->tick(at(2s));
    EXPECT_EQ(sent().size(), 1u);  // retransmission 2
    engine_->tick(at(3s));
    EXPECT_TRUE(sent().empty());  // the reflection bound: give up
    EXPECT_EQ(engine_->activeTransfers(), 0u);
    auto recs = records(3s);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::Timeout);
    EXPECT_EQ(engine_->counters().retransmits, 2u);
    EXPECT_EQ(engine_->nextDeadline(t0 + 3s), Clock::time_point::max());
}

TEST_F(TftpEngineTest, AcksFromElsewhereAreUnknownTids) {
    files_.add("k", bytes(5000, 'k'));
    make();
    engine_->onRequestDatagram(pi_, rrq("k"), at(0s));
    const auto socket = sent().at(0).first.channel;
    engine_->onReplyDatagram(socket + 1, pi_, pt::buildAck(1), at(1ms));
    engine_->onReplyDatagram(socket, Endpoint::v4(0x0a000009, 49152), pt::buildAck(1), at(1ms));
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::UnknownTid), 2u);
    EXPECT_TRUE(sent().empty());
    engine_->onReplyDatagram(socket, pi_, std::vector<std::uint8_t>{0x00}, at(1ms));
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::Malformed), 1u);
    engine_->onReplyDatagram(socket, pi_, pt::buildAck(1), at(2ms));
    EXPECT_EQ(sent().size(), 1u);
}

TEST_F(TftpEngineTest, PoolModeSpreadsTransfersRoundRobin) {
    files_.add("k", bytes(5000, 'k'));
    EngineConfig cfg;
    cfg.replyPorts = ReplyPorts::Pool;
    cfg.replySockets = 3;
    make(cfg);
    std::vector<Channel> channels;
    for (std::uint16_t p = 1; p <= 6; ++p) {
        engine_->onRequestDatagram(Endpoint::v4(0x0a000000u + p, 1), rrq("k"), at(0s));
        channels.push_back(sent().at(0).first.channel);
    }
    EXPECT_EQ(channels, (std::vector<Channel>{0, 1, 2, 0, 1, 2}));
    engine_->abortAll("end");
    records();
    EXPECT_TRUE(engine_->outbox().closedChannels.empty());  // pool sockets stay open
}

// Issue #13 item 6: every transfer its own reply port (the app opens a socket the
// kernel puts on a random port), closed once the transfer's last datagram is out;
// refused requests' ERRORs leave from the shared channel.
TEST_F(TftpEngineTest, PerTransferModeGivesEveryTransferItsOwnChannel) {
    files_.add("k", bytes(5000, 'k'));
    make();
    std::vector<Channel> channels;
    for (std::uint16_t p = 1; p <= 4; ++p) {
        engine_->onRequestDatagram(Endpoint::v4(0x0a000000u + p, 1), rrq("k"), at(0s));
        channels.push_back(sent().at(0).first.channel);
    }
    EXPECT_EQ(channels, (std::vector<Channel>{1, 2, 3, 4}));
    engine_->onRequestDatagram(Endpoint::v4(0x0a000009u, 1), rrq("missing"), at(0s));
    EXPECT_EQ(sent().at(0).first.channel, kSharedChannel);
    // The same client port asking again gets a new channel, never an old one.
    engine_->onRequestDatagram(Endpoint::v4(0x0a000001u, 1), rrq("missing"), at(1ms));
    sent();
    engine_->onReplyDatagram(2, Endpoint::v4(0x0a000002u, 1), pt::buildError(0, "x"), at(1ms));
    // Nothing is closed before the turn ends: queued datagrams still leave through it.
    EXPECT_TRUE(engine_->outbox().closedChannels.empty());
    engine_->endTurn(at(2ms));
    auto closed = engine_->outbox().closedChannels;
    std::sort(closed.begin(), closed.end());
    EXPECT_EQ(closed, (std::vector<Channel>{1, 2}));
    engine_->outbox().clear();
    engine_->onRequestDatagram(Endpoint::v4(0x0a000001u, 1), rrq("k"), at(3ms));
    EXPECT_EQ(sent().at(0).first.channel, 5u);
}

TEST_F(TftpEngineTest, AChannelThatCannotOpenEndsItsTransferWithAnError) {
    files_.add("k", bytes(5000, 'k'));
    make();
    engine_->onRequestDatagram(pi_, rrq("k"), at(0s));
    const auto channel = sent().at(0).first.channel;
    engine_->onChannelFailed(channel);
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first.channel, kSharedChannel);
    EXPECT_TRUE(std::holds_alternative<pt::ErrorPacket>(out[0].second));
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::NoReplyPort), 1u);
    EXPECT_EQ(engine_->activeTransfers(), 0u);
    auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::ServerError);
}

TEST_F(TftpEngineTest, ProbeAndAbortIsRecordedAsAProbe) {
    files_.add("start4.elf", bytes(3000, 's'));
    make();
    engine_->onRequestDatagram(pi_, rrq("start4.elf", {{"tsize", "0"}, {"blksize", "1468"}}),
                               at(0s));
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<pt::Oack>(out[0].second));
    engine_->onReplyDatagram(out[0].first.channel, pi_, pt::buildError(0, "Early terminate"),
                             at(1ms));
    auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::SizeQuery);
}

TEST_F(TftpEngineTest, UnknownSerialIsServedFromTheDefaultFolderAndReported) {
    files_.add("default/start4.elf", bytes(10, 'd'));
    files_.add("boards/cm4-a/start4.elf", bytes(10, 'a'));
    auto resolver = std::make_shared<MapResolver>();
    resolver->dirs["d9780558"] = "boards/cm4-a";
    EngineConfig cfg;
    cfg.defaultDir = "default";
    make(cfg);
    engine_->setResolver(resolver);
    engine_->onRequestDatagram(pi_, rrq("D9780558/start4.elf"), at(0s));
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<pt::Data>(out[0].second).payload[0], 'a');
    EXPECT_TRUE(engine_->outbox().unknownClients.empty());

    const Endpoint other = Endpoint::v4(0x0a000003, 49152);
    engine_->onRequestDatagram(other, rrq("12345678/start4.elf"), at(0s));
    out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<pt::Data>(out[0].second).payload[0], 'd');
    ASSERT_EQ(engine_->outbox().unknownClients.size(), 1u);
    EXPECT_EQ(engine_->outbox().unknownClients[0].id, "12345678");
    EXPECT_FALSE(engine_->outbox().unknownClients[0].isMac);
    EXPECT_TRUE(engine_->outbox().unknownClients[0].usedDefault);
    EXPECT_EQ(engine_->outbox().unknownClients[0].from, other);
}

TEST_F(TftpEngineTest, NotFoundUnderASerialPrefixIsRecordedWithTheSerial) {
    make();
    engine_->onRequestDatagram(pi_, rrq("d9780558/config.txt"), at(0s));
    sent();
    auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::NotFound);
    EXPECT_EQ(recs[0].serial, std::optional<std::string>("d9780558"));
}

TEST_F(TftpEngineTest, ASendFaultEndsOnlyThatTransferWithError0) {
    files_.add("a", bytes(5000, 'a'));
    files_.add("b", bytes(5000, 'b'));
    make();
    const Endpoint other = Endpoint::v4(0x0a000003, 49152);
    engine_->onRequestDatagram(pi_, rrq("a"), at(0s));
    engine_->onRequestDatagram(other, rrq("b"), at(0s));
    const std::uint8_t* faulted = engine_->outbox().datagrams.at(0).payload.data();
    sent();
    const std::uint8_t* const list[] = {faulted};
    engine_->onSendFaulted(list);
    auto out = sent();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first.to, pi_);
    const auto* err = std::get_if<pt::ErrorPacket>(&out[0].second);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->code, 0);
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::IoError), 1u);
    EXPECT_EQ(engine_->activeTransfers(), 1u);
    auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::ServerError);
}

TEST_F(TftpEngineTest, ShutdownRefusesNewRequestsAndAbortsTheRest) {
    files_.add("k", bytes(5000, 'k'));
    make();
    engine_->onRequestDatagram(pi_, rrq("k"), at(0s));
    sent();
    engine_->stopAccepting();
    engine_->onRequestDatagram(Endpoint::v4(0x0a000003, 1), rrq("k"), at(1ms));
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::ShuttingDown), 1u);
    EXPECT_TRUE(sent().empty());
    engine_->abortAll("server shutting down");
    auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].result, Result::ServerError);
    EXPECT_EQ(recs[0].detail, "server shutting down");
}

TEST_F(TftpEngineTest, NonRequestsOnTheListenPortAndTruncatedDatagramsAreCounted) {
    make();
    engine_->onRequestDatagram(pi_, pt::buildAck(1), at(0s));
    engine_->onRequestDatagram(pi_, std::vector<std::uint8_t>{0xff, 0xff, 0x00}, at(0s));
    engine_->onTruncatedDatagram();
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::UnexpectedPacket), 1u);
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::Malformed), 1u);
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::Truncated), 1u);
    EXPECT_EQ(engine_->counters().packetsIn, 3u);
    EXPECT_TRUE(sent().empty());
}

TEST(TftpEndpointTest, TextFormsFollowRfc5952) {
    EXPECT_EQ(Endpoint::v4(0xc0a80102, 69).toString(), "192.168.1.2:69");
    Endpoint v6;
    v6.address = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    v6.port = 69;
    EXPECT_EQ(v6.toString(), "[2001:db8::1]:69");
    Endpoint loop;
    loop.address[15] = 1;
    loop.port = 1;
    EXPECT_EQ(loop.toString(), "[::1]:1");
    Endpoint one;  // a single zero group is not shortened
    one.address = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    EXPECT_EQ(one.toString(), "[2001:db8:0:1:1:1:1:1]:0");
    EXPECT_TRUE(Endpoint::v4(1, 1).isV4());
    EXPECT_FALSE(v6.isV4());
}

}  // namespace
}  // namespace pinet::core::tftp

namespace pinet::core::tftp {
namespace {

// Issue #13 item 9: sources that never answer (spoofed RRQs) cannot take the
// slots of boards that do. Unanswered transfers have their own budget; at it,
// the oldest unanswered one makes room, and answered transfers never do.
TEST(TftpEngineBudget, NeverAnsweredTransfersCannotStarveRealBoards) {
    MemoryFiles files;
    files.add("k", std::vector<std::uint8_t>(5000, 'k'));
    EngineConfig cfg;
    cfg.maxTransfers = 4;
    cfg.maxUnanswered = 3;
    cfg.source.maxConcurrent = 100;
    TftpEngine engine(cfg, files);
    const auto start = Clock::time_point(1000s);
    auto request = [&](std::uint32_t host, Clock::time_point at) {
        engine.onRequestDatagram(
            Endpoint::v4(host, 1000),
            pt::buildRequest(pt::Request{pt::Opcode::Rrq, "k", pt::Mode::Octet, {}}),
            Instant{at, {}});
    };
    auto answer = [&](std::uint32_t host, Clock::time_point at) {
        const auto& d = engine.outbox().datagrams.back();
        ASSERT_EQ(d.to, Endpoint::v4(host, 1000));
        engine.onReplyDatagram(d.channel, d.to, pt::buildAck(1), Instant{at, {}});
    };
    // Two real boards, which answer.
    for (std::uint32_t host : {0x0a000001u, 0x0a000002u}) {
        request(host, start);
        answer(host, start);
    }
    EXPECT_EQ(engine.unansweredTransfers(), 0u);
    // A flood from 20 spoofed sources that never answer: 3 are held, 17 dropped (they
    // are younger than the grace, and ending one could cut off a real board's first reply).
    for (std::uint32_t i = 0; i < 20; ++i) {
        request(0xc0a80000u + i, start + 1ms);
    }
    EXPECT_EQ(engine.unansweredTransfers(), 3u);
    EXPECT_EQ(engine.counters().unansweredEvicted, 0u);
    EXPECT_EQ(engine.counters().refusedCount(TftpRefusal::ServerFull), 17u);
    // Once the held ones have waited out the grace, a real board gets in at once (the
    // oldest unanswered one makes room) and, answering, leaves the budget.
    const auto later = start + 1ms + cfg.unansweredGrace;
    request(0x0a000003u, later);
    answer(0x0a000003u, later);
    EXPECT_EQ(engine.counters().unansweredEvicted, 1u);
    request(0x0a000004u, later);
    EXPECT_EQ(engine.outbox().datagrams.back().to, Endpoint::v4(0x0a000004u, 1000));
    EXPECT_EQ(engine.counters().unansweredEvicted, 1u);  // the answer made room already
    // The answered boards never made room for anyone.
    EXPECT_EQ(engine.activeTransfers() - engine.unansweredTransfers(), 3u);
    engine.outbox().datagrams.clear();
    engine.endTurn(Instant{later, {}});
    std::size_t ended = 0;
    for (const auto& r : engine.outbox().records) {
        ended += r.result == Result::Timeout ? 1 : 0;
    }
    EXPECT_EQ(ended, 1u);
}

}  // namespace
}  // namespace pinet::core::tftp

namespace pinet::core::tftp {
namespace {

using namespace std::chrono_literals;

// Room for one board: 1 MB/s x 12 s = 12 MB, plan 10 MB.
boot::AdmissionConfig oneBoard() {
    boot::AdmissionConfig c;
    c.floorThroughput = 1'000'000;
    c.initialPlanBytes = 10'000'000;
    return c;
}

}  // namespace

// serve --dhcp off: the first RRQ is the gate. A held board's request gets nothing (it
// re-sends in 2 s) and is counted; every turn says what went to which address.
TEST_F(TftpEngineTest, WithoutDhcpTheFirstRequestIsTheGate) {
    files_.add("start4.elf", bytes(3000, 's'));
    test::TestAdmissionGate gate(oneBoard());
    EngineConfig cfg;
    cfg.gate = &gate;
    make(cfg);
    const Endpoint a = Endpoint::v4(0x0a000001, 1000);
    const Endpoint b = Endpoint::v4(0x0a000002, 1000);
    engine_->onRequestDatagram(a, rrq("start4.elf"), at(0s));
    ASSERT_EQ(sent().size(), 1u);  // DATA 1
    engine_->onRequestDatagram(b, rrq("start4.elf"), at(0s));
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(engine_->counters().refusedCount(TftpRefusal::Held), 1u);
    ASSERT_EQ(engine_->outbox().delivered.size(), 1u);
    EXPECT_EQ(engine_->outbox().delivered[0].address, 0x0a000001u);
    EXPECT_EQ(engine_->outbox().delivered[0].bytes, 512u);
    // Board a's later files pass: it is admitted.
    engine_->onRequestDatagram(Endpoint::v4(0x0a000001, 1001), rrq("start4.elf"), at(10ms));
    EXPECT_EQ(sent().size(), 1u);
    ASSERT_EQ(engine_->outbox().delivered.size(), 1u);  // one address in a row: summed
    EXPECT_EQ(engine_->outbox().delivered[0].bytes, 1024u);
    EXPECT_EQ(gate.controller.admitted(), 1u);
    EXPECT_EQ(gate.controller.waiting(), 1u);
}

}  // namespace pinet::core::tftp

namespace pinet::core::tftp {
namespace {

/// An overlay answering pieeprom.sig for one board (what an EEPROM rollout does): known
/// by its serial, its MAC (dc-a6-32-00-00-01) or its address (10.0.0.9).
class OneBoardOverlay final : public FileOverlay {
public:
    class Bytes final : public FileContent {
    public:
        std::vector<std::uint8_t> b;
        [[nodiscard]] std::span<const std::uint8_t> bytes() const override { return b; }
    };
    std::vector<std::pair<OverlayClient, std::string>> asked;
    std::shared_ptr<const FileContent> open(const OverlayClient& who,
                                            std::string_view name) override {
        asked.emplace_back(who, name);
        const bool ours = who.serial ? *who.serial == "1234abcd"
                          : who.mac  ? *who.mac == "dc-a6-32-00-00-01"
                                     : who.ipv4 == 0x0a000009u;
        if (!ours || name != "pieeprom.sig") {
            return nullptr;
        }
        auto c = std::make_shared<Bytes>();
        c->b.assign(77, 'O');
        return c;
    }
};

TEST(TftpEngineOverlay, ServesTheOverlayToItsBoardAndTheTreeToOthers) {
    MemoryFiles files;
    files.add("cafe0001/pieeprom.sig", std::vector<std::uint8_t>(5, 'T'));
    OneBoardOverlay overlay;
    EngineConfig cfg;
    cfg.overlay = &overlay;
    TftpEngine engine(cfg, files);
    const Instant now{Clock::time_point(1000s), WallTime(std::chrono::seconds(1'700'000'000))};
    auto firstData = [&](const Endpoint& from,
                         const std::string& name) -> std::optional<std::size_t> {
        engine.onRequestDatagram(
            from, pt::buildRequest(pt::Request{pt::Opcode::Rrq, name, pt::Mode::Octet, {}}), now);
        std::optional<std::size_t> size;
        for (const auto& d : engine.outbox().datagrams) {
            if (d.packet.empty()) {
                size = d.payload.size();
            }
        }
        engine.outbox().datagrams.clear();
        return size;
    };
    // The rollout's board: the overlay's 77 bytes; its folder has no such file at all.
    EXPECT_EQ(firstData(Endpoint::v4(0x0a000002, 5000), "1234abcd/pieeprom.sig"), 77u);
    // Another board: its tree's file.
    EXPECT_EQ(firstData(Endpoint::v4(0x0a000003, 5000), "cafe0001/pieeprom.sig"), 5u);
    ASSERT_FALSE(overlay.asked.empty());
    EXPECT_EQ(overlay.asked.back().first.serial, "cafe0001");
    EXPECT_EQ(overlay.asked.back().first.ipv4, 0x0a000003u);
    // Not one component below the prefix: the overlay is not asked.
    overlay.asked.clear();
    EXPECT_FALSE(firstData(Endpoint::v4(0x0a000004, 5000), "1234abcd/x/pieeprom.sig"));
    EXPECT_TRUE(overlay.asked.empty());
    // TFTP_PREFIX=2: the MAC prefix names the board.
    EXPECT_EQ(firstData(Endpoint::v4(0x0a000006, 5000), "DC-A6-32-00-00-01/pieeprom.sig"), 77u);
    ASSERT_EQ(overlay.asked.size(), 1u);
    EXPECT_FALSE(overlay.asked[0].first.serial);
    EXPECT_EQ(overlay.asked[0].first.mac, "dc-a6-32-00-00-01");
    // No client prefix (TFTP_PREFIX=1, or a cleared prefix): only the address is left.
    overlay.asked.clear();
    EXPECT_EQ(firstData(Endpoint::v4(0x0a000009, 5000), "pieeprom.sig"), 77u);
    EXPECT_EQ(firstData(Endpoint::v4(0x0a000009, 5001), "tftp_test/pieeprom.sig"), 77u);
    EXPECT_FALSE(firstData(Endpoint::v4(0x0a000005, 5000), "pieeprom.sig"));
    ASSERT_EQ(overlay.asked.size(), 3u);
    EXPECT_FALSE(overlay.asked[0].first.serial || overlay.asked[0].first.mac);
    EXPECT_EQ(overlay.asked[1].second, "pieeprom.sig");
    // netascii is never overlaid (the rollout's files are binary).
    overlay.asked.clear();
    engine.onRequestDatagram(
        Endpoint::v4(0x0a000009, 5002),
        pt::buildRequest(pt::Request{pt::Opcode::Rrq, "pieeprom.sig", pt::Mode::Netascii, {}}),
        now);
    EXPECT_TRUE(overlay.asked.empty());
}

}  // namespace
}  // namespace pinet::core::tftp
