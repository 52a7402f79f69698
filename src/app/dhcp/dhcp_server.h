#pragma once
// The DHCP daemon piece of `serve`: one UDP socket on port 67 bound to a named
// interface, a thread that feeds datagrams to core::dhcp::DhcpResponder and
// sends its replies, boot events to a BootEventSink, and a counters snapshot.
// Reusable by the full daemon: construct with a config, start(), stop().

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/boot_events.h"
#include "core/dhcp/dhcp_responder.h"
#include "io/net/event_loop.h"

namespace pinet::io {

class UdpSocket;
}  // namespace pinet::io

namespace pinet::app {

struct DhcpServerConfig {
    std::string interface;  ///< required: the only interface served
    /// Boot storm admission shared with the other servers (may be null: no gate).
    core::boot::AdmissionGate* admission = nullptr;
    core::dhcp::Mode mode = core::dhcp::Mode::Proxy;
    /// Full mode pool; 0/0 = derive .100-.200 of the interface's /24-or-larger subnet.
    core::dhcp::Ip4 rangeFirst = 0;
    core::dhcp::Ip4 rangeLast = 0;
    std::chrono::seconds leaseTime{3600};
    std::string leaseDb;  ///< Full mode: SQLite file (required in Full mode)
    /// Full mode: a PostgreSQL URL keeps the leases in the store's `leases` table instead
    /// of leaseDb (issue #19; `[store] backend = "postgresql"`).
    std::string leaseStoreUrl;
    core::dhcp::Ip4 tftpIp = 0;  ///< 0 = the interface address
    std::string pxeMenuText{proto::dhcp::kDefaultPxeMenuText};
    std::string pxeBootfile;  ///< generic PXE clients; empty = off
    std::vector<core::dhcp::Ip4> routers;
    std::vector<core::dhcp::Ip4> dnsServers;
    std::string domainName;
    std::vector<core::dhcp::Reservation> reservations;
    std::vector<core::dhcp::Ip4> relays;            ///< relay agents answered through (giaddr)
    std::uint16_t port = proto::dhcp::kServerPort;  ///< tests may move it
    /// Several nodes (issue #19): the buckets this node answers (may be null: all).
    const core::dhcp::LoadShare* loadShare = nullptr;
};

struct DhcpServerCounters {
    core::dhcp::DhcpCounters dhcp;
    std::uint64_t sendErrors = 0;
    std::uint64_t wrongInterface = 0;
    std::uint64_t internalErrors = 0;  ///< datagrams whose handling threw (logged, skipped)
    /// ACKs not sent because the lease store did not commit their lease (issue #19).
    std::uint64_t acksWithheld = 0;
};

class DhcpServer {
public:
    /// @p sink may be null. Throws std::runtime_error (naming the interface / file) on
    /// configuration errors at start().
    DhcpServer(DhcpServerConfig config, core::BootEventSink* sink);
    ~DhcpServer();
    DhcpServer(const DhcpServer&) = delete;
    DhcpServer& operator=(const DhcpServer&) = delete;

    void start();
    void stop();

    [[nodiscard]] DhcpServerCounters counters() const;
    [[nodiscard]] const std::string& interfaceName() const { return config_.interface; }
    /// Effective responder config (server address, pool) after start().
    [[nodiscard]] const core::dhcp::ResponderConfig& responderConfig() const;

private:
    void run();

    DhcpServerConfig config_;
    core::BootEventSink* sink_;
    int ifindex_ = 0;
    std::unique_ptr<core::dhcp::LeaseStore> store_;
    std::unique_ptr<core::dhcp::DhcpResponder> responder_;
    std::unique_ptr<io::UdpSocket> socket_;
    std::optional<io::EventLoop> loop_;  ///< the socket + the wake-up that ends run()
    std::thread thread_;
    std::atomic<std::uint64_t> sendErrors_{0};
    std::atomic<std::uint64_t> wrongInterface_{0};
    std::atomic<std::uint64_t> internalErrors_{0};
    std::atomic<std::uint64_t> acksWithheld_{0};
};

/// Human-readable counters, one "name value" per line (for logs and `serve` exit).
std::string formatCounters(const DhcpServerCounters& c);

}  // namespace pinet::app
