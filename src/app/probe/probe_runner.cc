#include "app/probe/probe_runner.h"

#include <poll.h>

#include <array>
#include <map>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "io/net/interface.h"
#include "io/net/packet_socket.h"
#include "io/net/udp_socket.h"
#include "proto/dhcp/dhcp_packet.h"

namespace pinet::app {

namespace cp = core::probe;
namespace d = proto::dhcp;
using Clock = cp::Clock;

namespace {
// A full Ethernet frame (1514) plus slack; TFTP DATA of blksize 1468 fits with room.
constexpr std::size_t kFrameBuffer = 2048;
constexpr std::size_t kTftpBuffer = 65536;

struct Session {
    std::size_t board = 0;
    io::UdpSocket socket;
};

class Runner {
public:
    explicit Runner(const ProbeConfig& config) : config_(config) {
        auto info = io::interfaceInfo(config.interface, false);
        if (!info) {
            throw std::runtime_error(info.error().message);
        }
        auto ps = io::PacketSocket::open(config.interface);
        if (!ps) {
            throw std::runtime_error(ps.error().message);
        }
        raw_.emplace(std::move(*ps));
        std::random_device rd;
        std::mt19937 rng(rd());
        for (int i = 0; i < config.count; ++i) {
            cp::BoardConfig bc = config.board;
            bc.serial = config.board.serial + static_cast<std::uint32_t>(i);
            // Step the low three MAC bytes (the OUI stays a Raspberry Pi one).
            std::uint32_t low = (std::uint32_t{bc.mac[3]} << 16) | (std::uint32_t{bc.mac[4]} << 8) |
                                bc.mac[5];
            low = (low + static_cast<std::uint32_t>(i)) & 0xffffff;
            bc.mac[3] = static_cast<std::uint8_t>(low >> 16);
            bc.mac[4] = static_cast<std::uint8_t>(low >> 8);
            bc.mac[5] = static_cast<std::uint8_t>(low);
            std::uint32_t xid = 0;
            do {
                xid = static_cast<std::uint32_t>(rng());
            } while (xid == 0 || byXid_.count(xid) != 0);
            byXid_[xid] = boards_.size();
            boards_.emplace_back(bc, xid, static_cast<int>(boards_.size()) * cp::PiBoard::kSessionsPerBoard);
        }
    }

    ProbeReport run() {
        const auto t0 = Clock::now();
        for (std::size_t i = 0; i < boards_.size(); ++i) {
            apply(i, boards_[i].start(t0));
        }
        // Hard cap: each board fails on its own deadlines; this only guards against a bug.
        const auto& bc = config_.board;
        const auto cap = t0 + bc.dhcpTimeout + 25 * bc.tftpFileTimeout + std::chrono::seconds(10);
        std::array<std::uint8_t, kFrameBuffer> frame{};
        std::vector<std::uint8_t> dgram(kTftpBuffer);
        while (!allFinished() && Clock::now() < cap) {
            auto next = Clock::time_point::max();
            for (const auto& b : boards_) {
                if (!b.finished()) {
                    next = std::min(next, b.nextDeadline());
                }
            }
            const auto now = Clock::now();
            int timeoutMs = 1000;
            if (next != Clock::time_point::max()) {
                const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
                timeoutMs = static_cast<int>(std::clamp<long long>(ms + 1, 0, 1000));
            }
            std::vector<pollfd> fds;
            std::vector<int> ids;
            fds.push_back({raw_->fd(), POLLIN, 0});
            for (auto& [id, s] : sessions_) {
                fds.push_back({s.socket.fd(), POLLIN, 0});
                ids.push_back(id);
            }
            ::poll(fds.data(), fds.size(), timeoutMs);
            if ((fds[0].revents & POLLIN) != 0) {
                for (int k = 0; k < 512; ++k) {
                    auto f = raw_->receive(frame);
                    if (!f) {
                        break;
                    }
                    if (f->dstPort != d::kClientPort || f->srcPort != d::kServerPort) {
                        continue;
                    }
                    auto p = d::parse(f->payload);
                    if (!p) {
                        continue;
                    }
                    auto it = byXid_.find(p->xid);
                    if (it != byXid_.end()) {
                        apply(it->second, boards_[it->second].onDhcp(*p, f->srcIp, Clock::now()));
                    }
                }
            }
            for (std::size_t k = 1; k < fds.size(); ++k) {
                if ((fds[k].revents & POLLIN) == 0) {
                    continue;
                }
                const int id = ids[k - 1];
                for (int n = 0; n < 64; ++n) {
                    auto it = sessions_.find(id);
                    if (it == sessions_.end()) {
                        break;
                    }
                    auto dg = it->second.socket.receive(dgram);
                    if (!dg) {
                        break;
                    }
                    const std::size_t b = it->second.board;
                    apply(b, boards_[b].onTftp(id, dg->srcPort, std::span(dgram.data(), dg->size),
                                               Clock::now()));
                }
            }
            const auto after = Clock::now();
            for (std::size_t i = 0; i < boards_.size(); ++i) {
                if (!boards_[i].finished() && boards_[i].nextDeadline() <= after) {
                    apply(i, boards_[i].onTimer(after));
                }
            }
        }
        ProbeReport report;
        report.wall = Clock::now() - t0;
        report.badChecksums = raw_->badChecksums();
        for (const auto& b : boards_) {
            ProbeBoardResult r;
            r.serial = b.serialHex();
            r.mac = d::macToString(b.config().mac);
            r.booted = b.booted();
            r.verdict = b.finished() ? b.verdict() : "does not boot: probe stopped (time cap)";
            r.timeline = b.timeline();
            r.dhcpTime = b.dhcpTime();
            r.kernelTime = b.kernelTime();
            report.boards.push_back(std::move(r));
        }
        return report;
    }

private:
    bool allFinished() const {
        return std::all_of(boards_.begin(), boards_.end(), [](const auto& b) { return b.finished(); });
    }

    void apply(std::size_t board, const std::vector<cp::Action>& actions) {
        for (const auto& a : actions) {
            if (const auto* dh = std::get_if<cp::SendDhcp>(&a)) {
                proto::net::UdpFrame f;
                f.dstMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
                f.srcMac = boards_[board].config().mac;
                f.srcIp = 0;
                f.dstIp = 0xffffffff;
                f.srcPort = d::kClientPort;
                f.dstPort = d::kServerPort;
                f.payload = dh->payload;
                (void)raw_->send(proto::net::buildUdpFrame(f));
            } else if (const auto* tf = std::get_if<cp::SendTftp>(&a)) {
                auto it = sessions_.find(tf->session);
                if (it == sessions_.end()) {
                    auto s = io::UdpSocket::open(config_.interface, 0, false);
                    if (!s) {
                        continue;  // the board's retransmission/timeout reports the failure
                    }
                    it = sessions_.emplace(tf->session, Session{board, std::move(*s)}).first;
                }
                (void)it->second.socket.sendTo(tf->bytes, tf->ip, tf->port);
            } else if (const auto* cl = std::get_if<cp::CloseTftp>(&a)) {
                sessions_.erase(cl->session);
            }
        }
    }

    const ProbeConfig& config_;
    std::optional<io::PacketSocket> raw_;
    std::vector<cp::PiBoard> boards_;
    std::unordered_map<std::uint32_t, std::size_t> byXid_;
    std::map<int, Session> sessions_;
};

}  // namespace

ProbeReport runProbe(const ProbeConfig& config) {
    Runner runner(config);
    return runner.run();
}

}  // namespace pinet::app
