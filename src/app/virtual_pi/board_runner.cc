#include "app/virtual_pi/board_runner.h"

#include <array>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "app/eeprom/eeprom.h"
#include "io/crypto.h"
#include "io/fd.h"
#include "io/net/event_loop.h"
#include "io/net/http_get.h"
#include "io/net/interface.h"
#include "io/net/packet_socket.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/net/arp.h"

namespace pinet::app::virtual_pi {

namespace cvp = core::virtual_pi;
namespace d = proto::dhcp;
using Clock = cvp::Clock;

namespace {
// A full Ethernet frame (1514) plus slack; TFTP DATA of blksize 1468 fits with room.
constexpr std::size_t kFrameBuffer = 2048;
// The bootloader's TFTP source ports: a fresh one per RRQ (new TID, RFC 1350), taken
// from the IANA dynamic range (RFC 6335).
constexpr std::uint16_t kFirstPort = 49152;
// Datagrams held per board while its ARP request is unanswered: the board sends one
// datagram at a time (lockstep), so a handful covers a retransmission or two.
constexpr std::size_t kMaxPendingPerBoard = 8;
// ARP requests for the same hop are repeated at most this often; the board's own 2 s
// RRQ retransmission (spec §4.1) drives the repeats.
constexpr auto kArpRetry = std::chrono::milliseconds(1000);
// Event-loop tags of the IPv4 and the ARP packet socket.
constexpr io::EventLoop::Tag kRawTag = 0;
constexpr io::EventLoop::Tag kArpTag = 1;

using Mac = proto::net::Mac;

struct Session {
    std::size_t board = 0;
    proto::dhcp::Ip4 ip = 0;  ///< the board's address when the session opened
    std::uint16_t port = 0;   ///< the board's source port (its TID)
};

/// What a board's own IP stack holds: its ARP cache and datagrams waiting for an answer.
struct BoardNet {
    std::vector<std::pair<proto::dhcp::Ip4, Mac>> arp;  ///< usually one entry: the server
    struct Pending {
        proto::dhcp::Ip4 hop = 0;
        proto::net::UdpFrame frame;  ///< dstMac filled on resolution
        std::vector<std::uint8_t> payload;
    };
    std::vector<Pending> pending;
    std::vector<std::pair<proto::dhcp::Ip4, Clock::time_point>> arpAsked;
    std::uint16_t nextPort = kFirstPort;

    const Mac* lookup(proto::dhcp::Ip4 ip) const {
        for (const auto& [a, m] : arp) {
            if (a == ip) {
                return &m;
            }
        }
        return nullptr;
    }
    void learn(proto::dhcp::Ip4 ip, const Mac& mac) {
        for (auto& [a, m] : arp) {
            if (a == ip) {
                m = mac;
                return;
            }
        }
        arp.emplace_back(ip, mac);
    }
};

class Runner {
public:
    explicit Runner(const RunnerConfig& config) : config_(config) {
        auto info = io::interfaceInfo(config.interface, false);
        if (!info) {
            throw std::runtime_error(info.error().message);
        }
        auto ps = io::PacketSocket::open(config.interface);
        if (!ps) {
            throw std::runtime_error(ps.error().message);
        }
        raw_.emplace(std::move(*ps));
        auto as = io::PacketSocket::open(config.interface, proto::net::kEtherTypeArp);
        if (!as) {
            throw std::runtime_error(as.error().message);
        }
        arpSocket_.emplace(std::move(*as));
        auto loop = io::EventLoop::create();
        if (!loop) {
            throw std::runtime_error(loop.error().message);
        }
        loop_.emplace(std::move(*loop));
        for (auto [fd, tag] :
             {std::pair{raw_->fd(), kRawTag}, std::pair{arpSocket_->fd(), kArpTag}}) {
            if (auto r = loop_->watch(fd, tag); !r) {
                throw std::runtime_error(r.error().message);
            }
        }
        std::random_device rd;
        rng_.seed(rd());
        for (int i = 0; i < config.count; ++i) {
            cvp::BoardConfig bc = config.board;
            // Every attempt of every board gets an xid no other attempt had: replies are
            // matched by xid, and a late reply to an old attempt must reach no one.
            bc.nextXid = [this] {
                return freshXid();
            };
            bc.serial = config.board.serial + static_cast<std::uint32_t>(i);
            if (bc.selfUpdate) {
                if (auto e = config.eepromBySerial.find(bc.serial);
                    e != config.eepromBySerial.end()) {
                    bc.selfUpdate->eeprom = e->second;
                }
            }
            // Step the low three MAC bytes (the OUI stays a Raspberry Pi one).
            std::uint32_t low =
                (std::uint32_t{bc.mac[3]} << 16) | (std::uint32_t{bc.mac[4]} << 8) | bc.mac[5];
            low = (low + static_cast<std::uint32_t>(i)) & 0xffffff;
            bc.mac[3] = static_cast<std::uint8_t>(low >> 16);
            bc.mac[4] = static_cast<std::uint8_t>(low >> 8);
            bc.mac[5] = static_cast<std::uint8_t>(low);
            const std::uint32_t xid = freshXid();
            byXid_[xid] = boards_.size();
            mappedXid_.push_back(xid);
            mappedIp_.push_back(0);
            seenAttempt_.push_back(1);
            boards_.emplace_back(
                bc, xid, static_cast<int>(boards_.size()) * cvp::PiBoard::kSessionsPerBoard);
            BoardNet net;
            net.nextPort = static_cast<std::uint16_t>(kFirstPort + rng_() % 8192);
            nets_.push_back(std::move(net));
        }
    }

    RunnerReport run() {
        const auto t0 = Clock::now();
        for (std::size_t i = 0; i < boards_.size(); ++i) {
            apply(i, boards_[i].start(t0));
        }
        // Hard cap: each board fails on its own deadlines; this only guards against a bug.
        // Per attempt: the DHCP phase, every file of the plan (about 20 steps) or both
        // HTTP GETs at their timeouts, and the longer of the two waits before a retry.
        const auto& bc = config_.board;
        const Clock::duration files = bc.method == cvp::BootMethod::Http
                                          ? 2 * (bc.httpTimeout + std::chrono::seconds(5))
                                          : 25 * bc.tftpFileTimeout;
        const Clock::duration perAttempt =
            bc.dhcpTimeout + files + std::max(bc.retryBackoff, bc.fatalRestart);
        // A self-update adds its flash and a whole boot, at most kMaxFlashes times.
        const Clock::duration flashing =
            bc.selfUpdate ? cvp::PiBoard::kMaxFlashes * (bc.selfUpdate->flashTime + perAttempt)
                          : Clock::duration{};
        const auto cap =
            t0 + std::max(1, bc.maxAttempts) * perAttempt + flashing + std::chrono::seconds(10);
        std::array<std::uint8_t, kFrameBuffer> frame{};
        while (!allFinished() && Clock::now() < cap) {
            auto next = Clock::time_point::max();
            for (const auto& b : boards_) {
                if (!b.finished()) {
                    next = std::min(next, b.nextDeadline());
                }
            }
            // Wake at least once a second so the time cap is checked.
            const auto deadline = std::min(next, Clock::now() + std::chrono::seconds(1));
            auto ready = loop_->wait(deadline);
            if (!ready) {
                throw std::runtime_error(ready.error().message);
            }
            bool rawReady = false;
            bool arpReady = false;
            for (const auto tag : ready->tags) {
                rawReady = rawReady || tag == kRawTag;
                arpReady = arpReady || tag == kArpTag;
            }
            if (ready->woken) {
                std::vector<HttpDone> done;
                {
                    std::lock_guard lock(httpMutex_);
                    done.swap(httpDone_);
                }
                for (auto& h : done) {
                    apply(h.board, boards_[h.board].onHttp(h.request, h.result, Clock::now()));
                }
            }
            if (arpReady) {
                for (int k = 0; k < 512; ++k) {
                    auto f = arpSocket_->receiveRaw(frame);
                    if (!f) {
                        break;
                    }
                    onArp(*f);
                }
            }
            if (rawReady) {
                // Bounded per turn so that timers still run under a flood.
                for (int k = 0; k < 4096; ++k) {
                    auto f = raw_->receive(frame);
                    if (!f) {
                        break;
                    }
                    onFrame(*f);
                }
            }
            const auto after = Clock::now();
            for (std::size_t i = 0; i < boards_.size(); ++i) {
                if (!boards_[i].finished() && boards_[i].nextDeadline() <= after) {
                    apply(i, boards_[i].onTimer(after));
                }
            }
        }
        RunnerReport report;
        report.wall = Clock::now() - t0;
        report.badChecksums = raw_->badChecksums();
        report.arpRequestsSent = arpRequestsSent_;
        report.arpRepliesSent = arpRepliesSent_;
        for (const auto& b : boards_) {
            BoardResult r;
            r.serial = b.serialHex();
            r.mac = d::macToString(b.config().mac);
            r.ip = b.address() != 0 ? d::ipToString(b.address()) : "";
            r.booted = b.booted();
            r.verdict = b.finished() ? b.verdict() : "does not boot: probe stopped (time cap)";
            r.timeline = b.timeline();
            r.dhcpTime = b.dhcpTime();
            r.kernelTime = b.kernelTime();
            r.bytes = b.bytesFetched();
            r.attempts = b.attempts();
            r.bootedAttemptStart = b.bootedAttemptStart();
            r.attemptFailures = b.attemptFailures();
            if (b.config().selfUpdate) {
                r.eeprom = b.eeprom();
                r.flashes = b.flashes();
                r.refusedUpdates = b.refusedUpdates();
            }
            report.boards.push_back(std::move(r));
        }
        return report;
    }

    ~Runner() {
        for (auto& t : httpThreads_) {
            t.join();  // each GET is bounded by its own timeout
        }
    }
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

private:
    struct HttpDone {
        std::size_t board = 0;
        int request = 0;
        cvp::HttpResult result;
    };

    /// HTTP goes through the kernel's TCP stack (a TCP stack of our own per board would
    /// be out of all proportion), so it leaves from the interface's own address; one
    /// worker thread per GET keeps the event loop free.
    void startHttp(std::size_t board, const cvp::HttpGet& get) {
        // From the board's lease when asked (and that address is local here), else from
        // the interface's own address.
        const std::string from = config_.httpFromLease && boards_[board].address() != 0
                                     ? d::ipToString(boards_[board].address())
                                     : config_.interface;
        httpThreads_.emplace_back([this, board, get, from] {
            const auto r = io::httpGet(d::ipToString(get.ip), get.port, get.path, from, get.timeout,
                                       get.digestOnly);
            HttpDone done{board, get.request, {}};
            done.result.status = r.status;
            done.result.error = r.error;
            done.result.body = r.body;
            done.result.redirect = r.redirect;
            done.result.contentLength = r.contentLength;
            done.result.length = r.length;
            done.result.sha256 = r.sha256;
            {
                std::lock_guard lock(httpMutex_);
                httpDone_.push_back(std::move(done));
            }
            loop_->wake();
        });
    }

    bool allFinished() const {
        return std::all_of(boards_.begin(), boards_.end(),
                           [](const auto& b) { return b.finished(); });
    }

    void onFrame(const proto::net::UdpFrame& f) {
        if (f.dstPort == d::kClientPort && f.srcPort == d::kServerPort) {
            auto p = d::parse(f.payload);
            if (!p) {
                return;
            }
            auto it = byXid_.find(p->xid);
            if (it != byXid_.end()) {
                apply(it->second, boards_[it->second].onDhcp(*p, f.srcIp, Clock::now()));
            }
            return;
        }
        auto b = byIp_.find(f.dstIp);
        if (b == byIp_.end() || f.dstMac != boards_[b->second].config().mac) {
            return;  // for another host: a board's NIC drops it
        }
        auto s = byEndpoint_.find(endpointKey(f.dstIp, f.dstPort));
        if (s == byEndpoint_.end()) {
            return;  // no open TID (a late datagram after the transfer ended)
        }
        const std::size_t board = b->second;
        apply(board, boards_[board].onTftp(s->second, f.srcPort, f.payload, Clock::now()));
    }

    void onArp(std::span<const std::uint8_t> bytes) {
        auto a = proto::net::parseArpFrame(bytes);
        if (!a) {
            return;
        }
        auto b = byIp_.find(a->targetIp);
        if (b == byIp_.end()) {
            return;  // not one of our boards' addresses
        }
        const std::size_t board = b->second;
        const Mac& mine = boards_[board].config().mac;
        BoardNet& net = nets_[board];
        net.learn(a->senderIp, a->senderMac);  // RFC 826: merge the sender's pair
        if (a->op == proto::net::ArpOp::Request) {
            proto::net::ArpPacket reply;
            reply.op = proto::net::ArpOp::Reply;
            reply.senderMac = mine;
            reply.senderIp = a->targetIp;
            reply.targetMac = a->senderMac;
            reply.targetIp = a->senderIp;
            if (arpSocket_->send(proto::net::buildArpFrame(reply))) {
                ++arpRepliesSent_;
            }
        }
        flushPending(board);
    }

    void flushPending(std::size_t board) {
        BoardNet& net = nets_[board];
        auto it = net.pending.begin();
        while (it != net.pending.end()) {
            if (const Mac* mac = net.lookup(it->hop)) {
                it->frame.dstMac = *mac;
                it->frame.payload = it->payload;
                (void)raw_->send(proto::net::buildUdpFrame(it->frame));
                it = net.pending.erase(it);
            } else {
                ++it;
            }
        }
    }

    void sendArpRequest(std::size_t board, proto::dhcp::Ip4 hop) {
        BoardNet& net = nets_[board];
        const auto now = Clock::now();
        for (auto& [ip, at] : net.arpAsked) {
            if (ip == hop) {
                if (now - at < kArpRetry) {
                    return;
                }
                at = now;
                return doSendArp(board, hop);
            }
        }
        net.arpAsked.emplace_back(hop, now);
        doSendArp(board, hop);
    }

    void doSendArp(std::size_t board, proto::dhcp::Ip4 hop) {
        proto::net::ArpPacket req;
        req.op = proto::net::ArpOp::Request;
        req.senderMac = boards_[board].config().mac;
        req.senderIp = boards_[board].address();
        req.targetIp = hop;
        if (arpSocket_->send(proto::net::buildArpFrame(req))) {
            ++arpRequestsSent_;
        }
    }

    static std::uint64_t endpointKey(proto::dhcp::Ip4 ip, std::uint16_t port) {
        return (std::uint64_t{ip} << 16) | port;
    }

    /// The board's next source port that no open session of it uses.
    std::uint16_t allocatePort(std::size_t board) {
        BoardNet& net = nets_[board];
        const auto ip = boards_[board].address();
        for (;;) {
            const std::uint16_t p = net.nextPort;
            net.nextPort = net.nextPort == 65535 ? kFirstPort : static_cast<std::uint16_t>(p + 1);
            if (byEndpoint_.count(endpointKey(ip, p)) == 0) {
                return p;
            }
        }
    }

    void sendTftp(std::size_t board, const cvp::SendTftp& tf) {
        const auto ip = boards_[board].address();
        auto it = sessions_.find(tf.session);
        if (it == sessions_.end()) {
            it = sessions_.emplace(tf.session, Session{board, ip, allocatePort(board)}).first;
            byEndpoint_[endpointKey(ip, it->second.port)] = tf.session;
        }
        proto::net::UdpFrame f;
        f.srcMac = boards_[board].config().mac;
        f.srcIp = ip;
        f.dstIp = tf.ip;
        f.srcPort = it->second.port;
        f.dstPort = tf.port;
        const auto hop = boards_[board].nextHop(tf.ip);
        BoardNet& net = nets_[board];
        if (const Mac* mac = net.lookup(hop)) {
            f.dstMac = *mac;
            f.payload = tf.bytes;
            (void)raw_->send(proto::net::buildUdpFrame(f));
            return;
        }
        if (net.pending.size() >= kMaxPendingPerBoard) {
            net.pending.erase(net.pending.begin());  // the oldest is stale by now
        }
        net.pending.push_back({hop, f, tf.bytes});
        sendArpRequest(board, hop);
    }

    std::uint32_t freshXid() {
        std::uint32_t xid = 0;
        do {
            xid = static_cast<std::uint32_t>(rng_());
        } while (xid == 0 || !usedXids_.insert(xid).second);
        return xid;
    }

    /// Brings the runner's maps up to the board's state: its xid, its lease (from the ACK
    /// on the board answers ARP for it) and, on a new attempt, a network stack that
    /// starts from scratch (no ARP cache, nothing queued), as after a real restart.
    void sync(std::size_t board) {
        const cvp::PiBoard& b = boards_[board];
        if (b.attempts() != seenAttempt_[board]) {
            seenAttempt_[board] = b.attempts();
            BoardNet& net = nets_[board];
            net.arp.clear();
            net.pending.clear();
            net.arpAsked.clear();
        }
        if (b.xid() != mappedXid_[board]) {
            byXid_.erase(mappedXid_[board]);
            byXid_[b.xid()] = board;
            mappedXid_[board] = b.xid();
        }
        const auto ip = b.address();
        if (ip != mappedIp_[board]) {
            if (auto old = byIp_.find(mappedIp_[board]);
                old != byIp_.end() && old->second == board) {
                byIp_.erase(old);
            }
            // With httpFromLease the kernel holds the lease as a local address and answers
            // ARP for it itself; a second answer with the board's MAC would send the
            // server's TCP segments where this host's stack does not take them.
            const bool kernelOwns =
                config_.httpFromLease && b.config().method == cvp::BootMethod::Http;
            if (ip != 0 && !kernelOwns) {
                byIp_[ip] = board;
            }
            mappedIp_[board] = ip;
        }
    }

    void apply(std::size_t board, const std::vector<cvp::Action>& actions) {
        sync(board);
        for (const auto& a : actions) {
            if (const auto* dh = std::get_if<cvp::SendDhcp>(&a)) {
                proto::net::UdpFrame f;
                f.dstMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
                f.srcMac = boards_[board].config().mac;
                f.srcIp = 0;
                f.dstIp = 0xffffffff;
                f.srcPort = d::kClientPort;
                f.dstPort = d::kServerPort;
                f.payload = dh->payload;
                (void)raw_->send(proto::net::buildUdpFrame(f));
            } else if (const auto* tf = std::get_if<cvp::SendTftp>(&a)) {
                sendTftp(board, *tf);
            } else if (const auto* hg = std::get_if<cvp::HttpGet>(&a)) {
                startHttp(board, *hg);
            } else if (const auto* cl = std::get_if<cvp::CloseTftp>(&a)) {
                auto it = sessions_.find(cl->session);
                if (it != sessions_.end()) {
                    byEndpoint_.erase(endpointKey(it->second.ip, it->second.port));
                    sessions_.erase(it);
                }
            }
        }
    }

    const RunnerConfig& config_;
    std::optional<io::PacketSocket> raw_;
    std::optional<io::PacketSocket> arpSocket_;
    std::vector<cvp::PiBoard> boards_;
    std::vector<BoardNet> nets_;
    std::unordered_map<std::uint32_t, std::size_t> byXid_;
    std::unordered_map<proto::dhcp::Ip4, std::size_t> byIp_;
    std::unordered_map<std::uint64_t, int> byEndpoint_;  ///< (board IP, port) -> session
    std::unordered_map<int, Session> sessions_;
    std::mt19937 rng_;
    std::unordered_set<std::uint32_t> usedXids_;  ///< every xid any attempt had
    std::vector<std::uint32_t> mappedXid_;        ///< per board: its xid in byXid_
    std::vector<proto::dhcp::Ip4> mappedIp_;      ///< per board: its address in byIp_
    std::vector<int> seenAttempt_;                ///< per board: the attempt sync() saw
    std::uint64_t arpRequestsSent_ = 0;
    std::uint64_t arpRepliesSent_ = 0;
    /// The two packet sockets, and the wake-up an HTTP worker sends when it finished.
    std::optional<io::EventLoop> loop_;
    std::mutex httpMutex_;
    std::vector<HttpDone> httpDone_;
    std::vector<std::thread> httpThreads_;
};

}  // namespace

Result<RunnerReport> runBoards(const RunnerConfig& config) {
    RunnerConfig pc = config;
    std::shared_ptr<io::RsaKey> key;
    if (!pc.pubkey.empty()) {
        auto k = io::RsaKey::loadPemFile(pc.pubkey);
        if (!k) {
            return tl::unexpected(k.error());
        }
        key = std::make_shared<io::RsaKey>(std::move(*k));
    }
    if (pc.board.selfUpdate) {
        // The bootloader checks pieeprom.upd against pieeprom.sig as `eeprom verify` does.
        pc.board.selfUpdate->verify = [key](std::span<const std::uint8_t> update,
                                            std::string_view sig,
                                            std::string& detail) -> std::string {
            auto r = eeprom::verifyDigest(update, sig, key.get());
            if (!r) {
                return r.error().message;
            }
            detail = r->signatureChecked   ? "sha256 and rsa2048 verified"
                     : r->signaturePresent ? "sha256 verified (rsa2048 present, no key to check it)"
                                           : "sha256 verified (unsigned)";
            return "";
        };
    }
    if (pc.board.method == cvp::BootMethod::Http) {
        // The board checks boot.img against boot.sig with the same code as `eeprom verify`:
        // sha256 always, rsa2048 when it holds a key (then the line must be there).
        pc.board.verifyBootImage = [key](const cvp::BootImage& image, std::string_view sig,
                                         std::string& detail) -> std::string {
            auto r = image.sha256 ? eeprom::verifyDigest(*image.sha256, sig, key.get())
                                  : eeprom::verifyDigest(image.bytes, sig, key.get());
            if (!r) {
                return r.error().message;
            }
            detail = r->signatureChecked   ? "sha256 and rsa2048 verified"
                     : r->signaturePresent ? "sha256 verified (rsa2048 present, no key to check it)"
                                           : "sha256 verified (unsigned)";
            return "";
        };
    }
    try {
        Runner runner(pc);
        return runner.run();
    } catch (const std::runtime_error& e) {
        return fail(e.what());
    }
}

}  // namespace pinet::app::virtual_pi
