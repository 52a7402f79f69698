#include "app/dhcp/dhcp_server.h"

#include <array>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/dhcp/pg_lease_store.h"
#include "io/dhcp/sqlite_lease_store.h"
#include "io/net/event_loop.h"
#include "io/net/interface.h"
#include "io/net/udp_socket.h"

namespace pinet::app {

namespace d = proto::dhcp;
namespace cd = core::dhcp;

namespace {
// RFC 2131 §2: a client must accept 576-byte messages; jumbo requests are rare but legal,
// so receive up to an Ethernet MTU and more.
constexpr std::size_t kReceiveBuffer = 4096;
// How often leases are expired when idle.
constexpr std::chrono::milliseconds kTickMs{1000};
// Tag of the port-67 socket in the event loop.
constexpr io::EventLoop::Tag kSocketTag = 0;
// Datagrams handled per turn: one lease transaction each; small enough that replies leave
// within a millisecond or two of their request.
constexpr std::size_t kBatch = 64;
// While boards are held for admission, how often the loop asks the gate whom it let
// in: a released board's OFFER leaves within this, a small part of the 4 s between
// its DISCOVERs, and the turn costs one lock when nothing was released.
constexpr std::chrono::milliseconds kReleasePeriod{25};
}  // namespace

DhcpServer::DhcpServer(DhcpServerConfig config, core::BootEventSink* sink)
    : config_(std::move(config)), sink_(sink) {}

DhcpServer::~DhcpServer() {
    stop();
}

void DhcpServer::start() {
    auto info = io::interfaceInfo(config_.interface, true);
    if (!info) {
        throw std::runtime_error(info.error().message);
    }
    ifindex_ = info->index;
    cd::ResponderConfig rc;
    rc.mode = config_.mode;
    rc.serverIp = info->ip;
    rc.netmask = info->netmask != 0 ? info->netmask : 0xffffff00;
    rc.tftpIp = config_.tftpIp;
    rc.pxeMenuText = config_.pxeMenuText;
    rc.pxeBootfile = config_.pxeBootfile;
    rc.routers = config_.routers;
    rc.dnsServers = config_.dnsServers;
    rc.domainName = config_.domainName;
    rc.pool.leaseTime = config_.leaseTime;
    rc.pool.reservations = config_.reservations;
    rc.relays = config_.relays;
    if (config_.mode == cd::Mode::Full) {
        const cd::Ip4 net = info->ip & rc.netmask;
        const cd::Ip4 bcast = net | ~rc.netmask;
        if (config_.rangeFirst == 0 && config_.rangeLast == 0) {
            // Default pool: .100-.200 of the subnet (as the testlab's dnsmasq), clamped.
            rc.pool.first = std::min(net + 100, bcast - 1);
            rc.pool.last = std::min(net + 200, bcast - 1);
        } else {
            rc.pool.first = config_.rangeFirst;
            rc.pool.last = config_.rangeLast;
        }
        auto inSubnet = [&](cd::Ip4 ip) {
            return (ip & rc.netmask) == net && ip != net && ip != bcast;
        };
        if (!inSubnet(rc.pool.first) || !inSubnet(rc.pool.last) || rc.pool.first > rc.pool.last) {
            throw std::runtime_error(
                fmt::format("--range {},{} is not an ascending range inside {}/{} of interface {}",
                            d::ipToString(rc.pool.first), d::ipToString(rc.pool.last),
                            d::ipToString(net), __builtin_popcount(rc.netmask), config_.interface));
        }
        for (const auto& r : rc.pool.reservations) {
            if (!inSubnet(r.ip)) {
                throw std::runtime_error("reservation " + d::ipToString(r.ip) +
                                         " is outside the subnet of " + config_.interface);
            }
        }
        if (!config_.leaseStoreUrl.empty()) {
            store_ = std::make_unique<io::PgLeaseStore>(config_.leaseStoreUrl, config_.interface);
        } else if (config_.leaseDb.empty()) {
            throw std::runtime_error("full DHCP mode needs a lease database path");
        } else {
            store_ = std::make_unique<io::SqliteLeaseStore>(config_.leaseDb);
        }
    }
    responder_ = std::make_unique<cd::DhcpResponder>(rc, store_.get());
    responder_->setAdmissionGate(config_.admission);
    responder_->setLoadShare(config_.loadShare);
    if (auto r = responder_->start(core::WallTime::clock::now()); !r) {
        throw std::runtime_error(r.error().message);
    }
    auto sock = io::UdpSocket::open(config_.interface, config_.port, true);
    if (!sock) {
        throw std::runtime_error("DHCP on " + config_.interface + ": " + sock.error().message);
    }
    socket_ = std::make_unique<io::UdpSocket>(std::move(*sock));
    auto loop = io::EventLoop::create();
    if (!loop) {
        throw std::runtime_error("DHCP on " + config_.interface + ": " + loop.error().message);
    }
    loop_.emplace(std::move(*loop));
    if (auto r = loop_->watch(socket_->fd(), kSocketTag); !r) {
        throw std::runtime_error("DHCP on " + config_.interface + ": " + r.error().message);
    }
    spdlog::info(
        "dhcp: {} mode on {} ({}), port {}{}", cd::toString(config_.mode), config_.interface,
        d::ipToString(info->ip), config_.port,
        config_.mode == cd::Mode::Full
            ? fmt::format(", pool {}-{}", d::ipToString(rc.pool.first), d::ipToString(rc.pool.last))
            : std::string());
    thread_ = std::thread([this] { run(); });
}

void DhcpServer::stop() {
    if (thread_.joinable()) {
        loop_->wake();
        thread_.join();
    }
}

void DhcpServer::run() {
    std::array<std::uint8_t, kReceiveBuffer> buf{};
    // The loop's deadlines are steady-clock; the responder's clock is wall time.
    auto nextTick = io::EventLoop::Clock::now() + kTickMs;
    while (true) {
        auto wakeAt = nextTick;
        if (responder_->heldCount() > 0) {
            wakeAt = std::min(wakeAt, io::EventLoop::Clock::now() + kReleasePeriod);
        }
        auto ready = loop_->wait(wakeAt);
        if (!ready) {
            // epoll_wait fails only on a programming error (bad fd); do not spin on it.
            spdlog::error("dhcp on {}: {}", config_.interface, ready.error().message);
            return;
        }
        if (ready->woken) {
            return;
        }
        const auto now = core::WallTime::clock::now();
        const auto steady = core::boot::SteadyClock::now();
        if (io::EventLoop::Clock::now() >= nextTick) {
            responder_->tick(now);
            nextTick = io::EventLoop::Clock::now() + kTickMs;
        }
        const bool releasing = responder_->heldCount() > 0;
        if (ready->tags.empty() && !releasing) {
            continue;
        }
        // Drain what is queued (bounded, so the stop request is seen under a flood). The
        // batch's lease writes are committed in one transaction before any ACK leaves, so a
        // client never holds an ACK for a lease the database does not have.
        std::vector<cd::Outcome> outcomes;
        // Whether the batch's lease writes are known committed: if not, no ACK that
        // promises an address leaves (the client retransmits its REQUEST and gets it
        // once the store writes again), so no lease is promised that could be lost.
        bool committed = true;
        std::string storeError;
        if (store_) {
            if (auto r = store_->beginBatch(); !r) {
                committed = false;
                storeError = r.error().message;
                spdlog::warn("dhcp: {}", r.error().message);
            }
        }
        // The responder returns errors as values; these guards are the last line, so that
        // no datagram (nor an allocation failure while handling one) can end the thread
        // and with it DHCP for every board on the interface.
        if (releasing) {
            try {
                for (auto& out : responder_->releaseHeld(now, steady)) {
                    outcomes.push_back(std::move(out));
                }
            } catch (const std::exception& e) {
                internalErrors_.fetch_add(1, std::memory_order_relaxed);
                spdlog::error("dhcp: releasing held boards: {}", e.what());
            }
        }
        for (std::size_t i = 0; i < kBatch && !ready->tags.empty(); ++i) {
            auto dg = socket_->receive(buf);
            if (!dg) {
                break;
            }
            if (dg->ifindex != 0 && dg->ifindex != ifindex_) {
                wrongInterface_.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            try {
                outcomes.push_back(responder_->handle(std::span(buf.data(), dg->size),
                                                      config_.interface, now, steady));
            } catch (const std::exception& e) {
                internalErrors_.fetch_add(1, std::memory_order_relaxed);
                spdlog::error("dhcp: datagram of {} bytes skipped: {}", dg->size, e.what());
            }
        }
        if (store_) {
            if (auto r = store_->commitBatch(); !r) {
                committed = false;
                storeError = r.error().message;
                spdlog::warn("dhcp: {}", r.error().message);
            }
        }
        for (const auto& out : outcomes) {
            if (out.reply && !committed && cd::promisesLease(*out.reply)) {
                acksWithheld_.fetch_add(1, std::memory_order_relaxed);
                spdlog::warn(
                    "DHCP_ACK_WITHHELD interface={} ip={}: its lease is not committed ({}); "
                    "the client's next REQUEST is answered once the lease store writes again",
                    config_.interface, d::ipToString(out.reply->packet.yiaddr), storeError);
                continue;  // nor its events: the board was not told it has the address
            }
            if (out.reply) {
                const auto bytes = d::serialize(out.reply->packet);
                const cd::Ip4 dst = out.reply->broadcast ? 0xffffffffu : out.reply->unicastIp;
                if (auto r = socket_->sendTo(bytes, dst, out.reply->port); !r) {
                    sendErrors_.fetch_add(1, std::memory_order_relaxed);
                    spdlog::warn("dhcp: send to {}: {}", d::ipToString(dst), r.error().message);
                }
            }
            if (sink_ != nullptr) {
                for (const auto& e : out.events) {
                    sink_->onEvent(e);
                }
            }
        }
    }
}

DhcpServerCounters DhcpServer::counters() const {
    DhcpServerCounters c;
    if (responder_) {
        c.dhcp = responder_->counters();
    }
    c.sendErrors = sendErrors_.load(std::memory_order_relaxed);
    c.wrongInterface = wrongInterface_.load(std::memory_order_relaxed);
    c.internalErrors = internalErrors_.load(std::memory_order_relaxed);
    c.acksWithheld = acksWithheld_.load(std::memory_order_relaxed);
    return c;
}

const cd::ResponderConfig& DhcpServer::responderConfig() const {
    return responder_->config();
}

std::string formatCounters(const DhcpServerCounters& c) {
    std::string s;
    for (std::size_t i = 0; i < 8; ++i) {
        const char* name = d::toString(static_cast<d::MessageType>(i + 1));
        if (c.dhcp.received[i] != 0) {
            s += fmt::format("dhcp_received_{} {}\n", name, c.dhcp.received[i]);
        }
        if (c.dhcp.sent[i] != 0) {
            s += fmt::format("dhcp_sent_{} {}\n", name, c.dhcp.sent[i]);
        }
    }
    for (std::size_t i = 0; i < cd::kDropCount; ++i) {
        if (c.dhcp.dropped[i] != 0) {
            s += fmt::format("dhcp_dropped_{} {}\n", cd::toString(static_cast<cd::Drop>(i)),
                             c.dhcp.dropped[i]);
        }
    }
    if (c.dhcp.held != 0) {
        s += fmt::format("dhcp_held {}\n", c.dhcp.held);
    }
    s += fmt::format("dhcp_malformed {}\n", c.dhcp.malformed());
    s += fmt::format("dhcp_send_errors {}\n", c.sendErrors);
    if (c.acksWithheld != 0) {
        s += fmt::format("dhcp_acks_withheld {}\n", c.acksWithheld);
    }
    if (c.dhcp.leaseConflicts != 0) {
        s += fmt::format("dhcp_lease_conflicts {}\n", c.dhcp.leaseConflicts);
    }
    return s;
}

}  // namespace pinet::app
