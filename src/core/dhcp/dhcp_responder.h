#pragma once
// DHCP policy: turns one received datagram into at most one reply, the boot
// events for the Pis involved, and counters by message type and drop reason.
// Two modes (issue 4): Proxy answers only PXE-booting Pis (and, when
// configured, generic PXE clients) with a yiaddr-0 OFFER beside the site's
// DHCP server; Full is an address server with a LeaseAllocator. No sockets
// here: io/ receives, app/ sends what this returns.

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/boot_events.h"
#include "core/dhcp/drop.h"
#include "core/dhcp/lease_allocator.h"
#include "core/dhcp/pi_client.h"
#include "proto/dhcp/dhcp_packet.h"

namespace pinet::core::dhcp {

enum class Mode { Proxy, Full };
const char* toString(Mode mode);

struct ResponderConfig {
    Mode mode = Mode::Proxy;
    Ip4 serverIp = 0;  ///< our address on the interface (option 54 in Full mode)
    Ip4 netmask = 0xffffff00;
    Ip4 tftpIp = 0;  ///< TFTP server for siaddr / option 66 / proxy option 54; 0 = serverIp
    std::string pxeMenuText{proto::dhcp::kDefaultPxeMenuText};
    /// Boot file for generic (non-Pi) PXE clients; empty = they are ignored in Proxy mode
    /// and get no boot file in Full mode.
    std::string pxeBootfile;
    std::vector<Ip4> routers;     ///< option 3 (Full mode)
    std::vector<Ip4> dnsServers;  ///< option 6 (Full mode)
    std::string domainName;       ///< option 15 (Full mode)
    PoolConfig pool;              ///< Full mode
    /// Relay agents whose relayed packets (giaddr set) are answered, to giaddr:67.
    /// A packet naming any other giaddr is dropped (Drop::UnknownRelay): the reply
    /// would go wherever a sender wrote.
    std::vector<Ip4> relays;
};

/// Counters snapshot; index by (message type - 1) and Drop.
struct DhcpCounters {
    std::array<std::uint64_t, 8> received{};
    std::array<std::uint64_t, 8> sent{};
    std::array<std::uint64_t, kDropCount> dropped{};
    std::uint64_t malformed() const;
};

struct Reply {
    proto::dhcp::Packet packet;
    /// Where to send: broadcast 255.255.255.255:68 on the interface, or unicast.
    bool broadcast = true;
    Ip4 unicastIp = 0;
    std::uint16_t port = proto::dhcp::kClientPort;
};

/// The event kind of a DHCP message type ("discover", ... by core::toString).
DhcpEvent::Kind eventKind(proto::dhcp::MessageType type);

struct Outcome {
    std::optional<Reply> reply;
    std::optional<Drop> drop;
    std::vector<DhcpEvent> events;  ///< only for Pis (see ClientInfo::isPi)
};

class DhcpResponder {
public:
    /// @p store may be null; only used in Full mode.
    DhcpResponder(ResponderConfig config, LeaseStore* store);

    /// Loads persisted leases (Full mode).
    Result<void> start(WallTime now);

    /// Handles one datagram received on @p interface.
    Outcome handle(std::span<const std::uint8_t> datagram, const std::string& interface,
                   WallTime now);

    /// Expires leases; call about once a second.
    void tick(WallTime now);

    [[nodiscard]] DhcpCounters counters() const;
    [[nodiscard]] const ResponderConfig& config() const { return config_; }
    [[nodiscard]] LeaseAllocator& allocator() { return allocator_; }

private:
    Outcome dropped(Outcome out, Drop drop);
    proto::dhcp::Packet baseReply(const proto::dhcp::Packet& req,
                                  proto::dhcp::MessageType type) const;
    void addPiOptions(proto::dhcp::Packet& reply, const proto::dhcp::Packet& req) const;
    void addAddressOptions(proto::dhcp::Packet& reply, bool withLease) const;
    void addGenericPxe(proto::dhcp::Packet& reply) const;
    Outcome handleProxy(const proto::dhcp::Packet& req, const ClientInfo& client, Outcome out);
    Outcome handleFull(const proto::dhcp::Packet& req, const ClientInfo& client, Outcome out,
                       WallTime now);
    Reply destination(const proto::dhcp::Packet& req, proto::dhcp::Packet reply) const;
    std::optional<std::string> serialOf(const ClientInfo& client);
    void countSent(const Outcome& out);

    ResponderConfig config_;
    Ip4 tftpIp_;
    std::vector<std::uint8_t> option43_;
    LeaseAllocator allocator_;
    /// Serial learned from option 97 per MAC, so the kernel's later `ip=dhcp` (no option 97)
    /// is reported with the board's serial. Bounded: cleared past kMaxSerialCache entries.
    std::unordered_map<std::string, std::string> serialByMac_;
    std::array<std::atomic<std::uint64_t>, 8> received_{};
    std::array<std::atomic<std::uint64_t>, 8> sent_{};
    std::array<std::atomic<std::uint64_t>, kDropCount> dropped_{};
};

}  // namespace pinet::core::dhcp
