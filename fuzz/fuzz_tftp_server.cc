// Fuzz target: the whole TFTP server policy (core::tftp::TftpEngine) below
// the sockets, on scripts of datagrams from many clients: RRQs, ACKs, ERRORs
// and raw bytes on the listen and reply ports, clock steps, send faults and
// turn ends, as the app's loop drives it. Each input starts a fresh engine,
// so a crash replays from its input alone.
//
// Script: a sequence of steps, each one opcode byte and its arguments:
//   0 raw request   client, len, bytes     -> onRequestDatagram
//   1 raw reply     client, socket, len, bytes -> onReplyDatagram
//   2 rrq           client, file, flags    -> a well-formed RRQ with options
//   3 ack           client, block(2)       -> ACK to the client's reply socket
//   4 error         client, code           -> ERROR to the client's reply socket
//   5 clock         step                   -> tick after step * 7 ms (up to ~1.8 s)
//   6 fault         index                  -> onSendFaulted on a queued payload, or
//                                             (index >= 128) onChannelFailed on its channel
//   7 turn                                 -> send (check) the outbox, endTurn
//   8 stop                                 -> stopAccepting / abortAll
// The first byte's top bit picks the reply-port mode (Pool when set).
// Checked on every turn: each datagram parses as DATA, OACK or ERROR, goes to
// a configured pool socket or (PerTransfer) a transfer's channel, the shared
// channel carrying only ERRORs, every ended channel is closed exactly once, DATA fits the largest block size granted, the
// transfer caps hold (answered and unanswered), and every payload byte is readable (ASan) until endTurn.

#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/tftp/memory_files.h"
#include "core/tftp/tftp_engine.h"
#include "proto/tftp/packet.h"

namespace {

namespace ct = pinet::core::tftp;
namespace pt = pinet::proto::tftp;

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
    bool empty() const { return pos_ >= in_.size(); }
    std::uint8_t byte() { return pos_ < in_.size() ? in_[pos_++] : 0; }
    std::uint16_t u16() { return static_cast<std::uint16_t>((byte() << 8) | byte()); }
    std::span<const std::uint8_t> bytes(std::size_t n) {
        n = std::min(n, in_.size() - std::min(pos_, in_.size()));
        auto s = in_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

private:
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
};

constexpr std::size_t kClients = 8;
constexpr std::size_t kSockets = 3;
constexpr std::uint32_t kMaxBlock = 1468;

ct::Endpoint client(std::uint8_t i) {
    // Four hosts, two ports each: per-source limits and same-port supersedes both happen.
    return ct::Endpoint::v4(0x0a000010u + (i % kClients) / 2,
                            static_cast<std::uint16_t>(40000 + i % 2));
}

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::array<std::string, 6> kNames = {
        "start4.elf", "d9780558/config.txt", "dc-a6-32-01-02-03/kernel8.img",
        "empty",      "../etc/passwd",       "dir"};
    ct::MemoryFiles files;
    files.add("start4.elf", std::vector<std::uint8_t>(3000, 's'));
    files.add("default/config.txt", std::vector<std::uint8_t>(40, 'c'));
    files.add("default/kernel8.img", std::vector<std::uint8_t>(kMaxBlock * 3 + 5, 'k'));
    files.add("empty", {});
    files.setError("dir", ct::FileError::NotRegular);
    ct::EngineConfig cfg;
    cfg.defaultDir = "default";
    cfg.replySockets = kSockets;
    cfg.replyPorts =
        size > 0 && (data[0] & 0x80) != 0 ? ct::ReplyPorts::Pool : ct::ReplyPorts::PerTransfer;
    cfg.maxTransfers = 5;
    cfg.maxUnanswered = 3;
    cfg.source.maxConcurrent = 3;
    cfg.source.burst = 20;
    cfg.transfer.maxBlockSize = kMaxBlock;
    cfg.transfer.maxWindowSize = 4;
    ct::TftpEngine engine(cfg, files);

    auto clock = pinet::core::tftp::Clock::time_point(std::chrono::seconds(1000));
    auto wall = pinet::core::WallTime(std::chrono::seconds(1'800'000'000));
    std::array<ct::Channel, kClients> socketOf{};  // last reply channel seen per client
    std::set<ct::Channel> closed;
    std::uint64_t readable = 0;

    auto turn = [&] {
        auto& box = engine.outbox();
        for (const auto& d : box.datagrams) {
            if (cfg.replyPorts == ct::ReplyPorts::Pool) {
                check(d.channel < kSockets);
            } else {
                check(!closed.contains(d.channel));
                check(d.channel != ct::kSharedChannel || !d.packet.empty());
            }
            std::vector<std::uint8_t> wire = d.packet;
            if (wire.empty()) {
                check(d.headerLength == pt::kDataHeaderSize);
                check(d.payload.size() <= kMaxBlock);
                wire.assign(d.header.begin(), d.header.end());
                wire.insert(wire.end(), d.payload.begin(), d.payload.end());
                for (auto b : d.payload) {
                    readable += b;  // must still be alive
                }
            }
            auto p = pt::parse(wire);
            check(p.has_value());
            check(std::holds_alternative<pt::Data>(*p) || std::holds_alternative<pt::Oack>(*p) ||
                  std::holds_alternative<pt::ErrorPacket>(*p));
            for (std::size_t i = 0; i < kClients; ++i) {
                if (client(static_cast<std::uint8_t>(i)) == d.to) {
                    socketOf[i] = d.channel;
                }
            }
        }
        box.datagrams.clear();
        engine.endTurn({clock, wall});
        for (const auto c : box.closedChannels) {
            check(c != ct::kSharedChannel && closed.insert(c).second);
        }
        for (const auto& r : box.records) {
            check(r.bytes <= r.fileSize);
        }
        box.clear();
        check(engine.unansweredTransfers() <= cfg.maxUnanswered);
        // A transfer admitted into the unanswered budget counts against maxTransfers once
        // its client answers, even if that is full by then (the board is real: ending
        // it would waste it), so the bound on all of them is the sum of the two (found by
        // the 30-minute campaign, session 5).
        check(engine.activeTransfers() <= cfg.maxTransfers + cfg.maxUnanswered);
    };

    Reader in({data, size});
    for (int steps = 0; !in.empty() && steps < 2000; ++steps) {
        const ct::Instant now{clock, wall};
        switch (in.byte() % 9) {
            case 0: {
                const auto c = in.byte();
                engine.onRequestDatagram(client(c), in.bytes(in.byte()), now);
                break;
            }
            case 1: {
                const auto c = in.byte();
                const auto s = in.byte() % kSockets;
                engine.onReplyDatagram(s, client(c), in.bytes(in.byte()), now);
                break;
            }
            case 2: {
                const auto c = in.byte();
                const auto f = in.byte();
                const auto flags = in.byte();
                pt::Request req;
                req.filename = kNames[f % kNames.size()];
                req.mode = (flags & 0x80) != 0 ? pt::Mode::Netascii : pt::Mode::Octet;
                if ((flags & 1) != 0) {
                    req.options.push_back({"tsize", "0"});
                }
                if ((flags & 2) != 0) {
                    req.options.push_back({"blksize", (flags & 4) != 0 ? "8" : "1468"});
                }
                if ((flags & 8) != 0) {
                    req.options.push_back({"windowsize", (flags & 16) != 0 ? "4" : "2"});
                }
                if ((flags & 32) != 0) {
                    req.options.push_back({"timeout", "1"});
                }
                if ((flags & 64) != 0) {
                    req.opcode = pt::Opcode::Wrq;
                }
                engine.onRequestDatagram(client(c), pt::buildRequest(req), now);
                break;
            }
            case 3: {
                const auto c = in.byte();
                engine.onReplyDatagram(socketOf[c % kClients], client(c), pt::buildAck(in.u16()),
                                       now);
                break;
            }
            case 4: {
                const auto c = in.byte();
                const std::uint16_t code = in.byte() % 9;
                engine.onReplyDatagram(socketOf[c % kClients], client(c),
                                       pt::buildError(code, code == 0 ? "Early terminate" : "x"),
                                       now);
                break;
            }
            case 5: {
                const auto step = std::chrono::milliseconds(7 * in.byte());
                clock += step;
                wall += step;
                engine.tick({clock, wall});
                check(engine.nextDeadline(clock) > clock ||
                      engine.nextDeadline(clock) == pinet::core::tftp::Clock::time_point::max());
                break;
            }
            case 6: {
                const auto& out = engine.outbox().datagrams;
                const auto pick = in.byte();
                if (!out.empty()) {
                    const auto& d = out[pick % out.size()];
                    if (pick >= 128) {
                        engine.onChannelFailed(d.channel);
                    } else if (d.payload.data() != nullptr) {
                        const std::uint8_t* const list[] = {d.payload.data()};
                        engine.onSendFaulted(list);
                    }
                }
                break;
            }
            case 7: turn(); break;
            case 8:
                if ((in.byte() & 1) != 0) {
                    engine.stopAccepting();
                } else {
                    engine.abortAll("fuzz abort");
                }
                break;
        }
    }
    turn();
    engine.abortAll("end of input");
    turn();
    check(engine.activeTransfers() == 0);
    (void)readable;
    return 0;
}
