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

#include "core/boot/admission.h"
#include "core/boot_events.h"
#include "core/dhcp/drop.h"
#include "core/dhcp/lease_allocator.h"
#include "core/dhcp/load_share.h"
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
    std::uint64_t held = 0;  ///< DISCOVERs held for admission (not answered yet)
    /// REQUESTs NAKed because another node had bound the address (issue #19).
    std::uint64_t leaseConflicts = 0;
    std::uint64_t malformed() const;
};

struct Reply {
    proto::dhcp::Packet packet;
    /// Where to send: broadcast 255.255.255.255:68 on the interface, or unicast.
    bool broadcast = true;
    Ip4 unicastIp = 0;
    std::uint16_t port = proto::dhcp::kClientPort;
};

/// True if @p reply promises the client an address (a DHCPACK with yiaddr set; an
/// INFORM's ACK has none, RFC 2131 4.3.5): what may leave only once the lease behind it
/// is committed to the lease store (issue #19).
bool promisesLease(const Reply& reply);

/// The event kind of a DHCP message type ("discover", ... by core::toString).
DhcpEvent::Kind eventKind(proto::dhcp::MessageType type);

struct Outcome {
    std::optional<Reply> reply;
    std::optional<Drop> drop;
    /// A Pi's DISCOVER held for admission (issue #14): no reply now, its OFFER
    /// leaves when releaseHeld() lets it through.
    bool held = false;
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
    /// The same, with the steady clock admission's timers run on.
    Outcome handle(std::span<const std::uint8_t> datagram, const std::string& interface,
                   WallTime now, boot::SteadyClock::time_point steady);

    /// Gate Pi bootloader DISCOVERs through @p gate (null = none): a held board gets no
    /// OFFER until the gate releases it. Call before the first handle().
    void setAdmissionGate(boot::AdmissionGate* gate) { gate_ = gate; }
    /// Several nodes on one LAN (issue #19): answer only the clients in @p share's
    /// buckets (others: Drop::OtherNode), except boards with a reservation, which every
    /// node answers alike; allocate from its part of the pool first. Null = one node,
    /// every client. Call before the first handle(); @p share outlives the responder.
    void setLoadShare(const LoadShare* share);
    /// The replies to held DISCOVERs that the gate has released since the last call
    /// (their OFFERs, built now); call every few tens of milliseconds while heldCount()
    /// is not zero.
    std::vector<Outcome> releaseHeld(WallTime now, boot::SteadyClock::time_point steady);
    [[nodiscard]] std::size_t heldCount() const { return held_.size(); }

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
    /// @p released: the stored DISCOVER of a board the gate let through.
    Outcome handleParsed(const proto::dhcp::Packet& req, const std::string& interface, WallTime now,
                         boot::SteadyClock::time_point steady, bool released);
    /// The admission decision for a Pi bootloader's DISCOVER: true = answer it now.
    bool admitted(const proto::dhcp::Packet& req, const ClientInfo& client,
                  const std::string& interface, boot::SteadyClock::time_point steady, Outcome& out);
    Outcome handleProxy(const proto::dhcp::Packet& req, const ClientInfo& client, Outcome out);
    Outcome handleFull(const proto::dhcp::Packet& req, const ClientInfo& client, Outcome out,
                       WallTime now);
    Reply destination(const proto::dhcp::Packet& req, proto::dhcp::Packet reply) const;
    /// True if another node answers @p req (see setLoadShare).
    bool otherNodes(const proto::dhcp::Packet& req, const ClientInfo& client);
    std::optional<std::string> serialOf(const ClientInfo& client);
    void countSent(const Outcome& out);

    ResponderConfig config_;
    Ip4 tftpIp_;
    std::vector<std::uint8_t> option43_;
    LeaseAllocator allocator_;
    /// Serial learned from option 97 per MAC, so the kernel's later `ip=dhcp` (no option 97)
    /// is reported with the board's serial. Bounded: cleared past kMaxSerialCache entries.
    std::unordered_map<std::string, std::string> serialByMac_;
    boot::AdmissionGate* gate_ = nullptr;
    const LoadShare* share_ = nullptr;
    std::atomic<std::uint64_t> leaseConflicts_{0};
    /// Held DISCOVERs by MAC, answered when released. Bounded by kMaxHeld (the gate's
    /// own queue bound): past it a DISCOVER is held without being stored, and the board
    /// is answered at its next DISCOVER (4 s later) once admitted.
    struct Held {
        proto::dhcp::Packet request;
        std::string interface;
        boot::SteadyClock::time_point since{};
    };
    std::unordered_map<std::string, Held> held_;
    std::atomic<std::uint64_t> heldTotal_{0};
    std::array<std::atomic<std::uint64_t>, 8> received_{};
    std::array<std::atomic<std::uint64_t>, 8> sent_{};
    std::array<std::atomic<std::uint64_t>, kDropCount> dropped_{};
};

}  // namespace pinet::core::dhcp
