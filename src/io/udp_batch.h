#pragma once
// Batched UDP I/O on non-blocking sockets: recvmmsg to drain a socket in one
// call, sendmmsg to flush many datagrams (to many clients) in one call, each
// datagram a 2-iovec gather (small header + a slice of a mapped file), so
// DATA packets are never copied in user space (style-and-deps B1).

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tftp/endpoint.h"
#include "io/fd.h"
#include "proto/error.h"

namespace pinet::io {

/// An IPv4 or IPv6 socket address.
struct SockAddr {
    sockaddr_storage storage{};
    socklen_t length = 0;

    [[nodiscard]] const sockaddr* get() const {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
    [[nodiscard]] int family() const { return storage.ss_family; }
    [[nodiscard]] std::uint16_t port() const;
    /// "1.2.3.4:69" or "[::1]:69".
    [[nodiscard]] std::string toString() const;
    /// The address only (16 bytes; IPv4 as v4-mapped IPv6).
    [[nodiscard]] std::array<std::uint8_t, 16> addressKey() const;
    /// The same address with another port.
    [[nodiscard]] SockAddr withPort(std::uint16_t port) const;
    static SockAddr from(const sockaddr_storage& ss, socklen_t len);
    /// The TFTP engine's value form (address as addressKey(), port).
    [[nodiscard]] core::tftp::Endpoint endpoint() const { return {addressKey(), port()}; }
    /// Back to a socket address of @p family (AF_INET needs a v4-mapped endpoint;
    /// AF_INET6 takes any, v4-mapped for a dual-stack socket). An IPv6 scope id is
    /// not kept: boot clients are IPv4 (the Pi bootloader has no IPv6 TFTP).
    static SockAddr fromEndpoint(const core::tftp::Endpoint& e, int family);
};

/// The TFTP engine's value form of a received peer address (IPv4 as v4-mapped);
/// the zero endpoint for another family or a short length.
core::tftp::Endpoint toEndpoint(const sockaddr* sa, socklen_t length);

/// Parses "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT"/"PORT" (any IPv4 address).
Result<SockAddr> parseEndpoint(std::string_view text);

/// A non-blocking UDP socket bound to @p addr (port 0 = ephemeral).
/// @p bufferBytes sizes SO_RCVBUF/SO_SNDBUF (many clients share a socket).
Result<Fd> bindUdp(const SockAddr& addr, int bufferBytes);
Result<SockAddr> localAddress(int fd);
/// connect() a UDP socket to @p peer: the kernel then delivers it datagrams
/// from that address and port only, and sends to it with the route it cached.
Result<void> connectUdp(int fd, const SockAddr& peer);

/// Receives up to kSlots datagrams per call into fixed buffers.
class RecvBatch {
public:
    /// Requests, ACKs and ERRORs are small; 2048 holds any request we accept
    /// (proto kMaxRequestSize 1472). Longer datagrams are flagged truncated.
    static constexpr std::size_t kBufferSize = 2048;
    /// 64 per call: enough to amortise the syscall, small enough to stay in cache.
    static constexpr unsigned kSlots = 64;

    RecvBatch();
    /// @return datagrams received (0 on EAGAIN), or -errno.
    int receive(int fd);
    [[nodiscard]] std::span<const std::uint8_t> data(unsigned i) const;
    [[nodiscard]] bool truncated(unsigned i) const;
    [[nodiscard]] SockAddr from(unsigned i) const;
    [[nodiscard]] core::tftp::Endpoint endpoint(unsigned i) const;
    [[nodiscard]] const sockaddr* address(unsigned i) const {
        return reinterpret_cast<const sockaddr*>(&addrs_[i]);
    }
    [[nodiscard]] socklen_t addressLength(unsigned i) const { return msgs_[i].msg_hdr.msg_namelen; }

private:
    std::vector<std::uint8_t> buffers_;
    std::array<mmsghdr, kSlots> msgs_{};
    std::array<iovec, kSlots> iovs_{};
    std::array<sockaddr_storage, kSlots> addrs_{};
    unsigned filled_ = 0;  ///< entries the last call filled (to reset before the next)
};

/// Datagrams queued for one socket, flushed with sendmmsg. The payload spans
/// must stay valid until flush() returns.
///
/// Consecutive datagrams of equal length to the same address (an RFC 7440
/// window of DATA blocks) leave as one UDP GSO message (UDP_SEGMENT, Linux
/// 4.18): the kernel walks its send path once for the group and cuts it into
/// the same datagrams on the wire. Only up to the Ethernet payload (1472 bytes
/// IPv4, 1452 IPv6), because a segment larger than the route's MTU is refused
/// and an unconnected socket cannot ask for the MTU. If the kernel or device
/// refuses GSO, that group is sent one datagram at a time and the queue stops
/// grouping.
class SendQueue {
public:
    /// Queues header (copied, up to kInlineHeader bytes, else owned) + payload (referenced).
    void push(const SockAddr& to, std::span<const std::uint8_t> header,
              std::span<const std::uint8_t> payload = {});
    /// Queues a whole packet that the queue takes ownership of (OACK, ERROR).
    void pushOwned(const SockAddr& to, std::vector<std::uint8_t> packet);
    struct FlushResult {
        std::uint64_t sent = 0;
        std::uint64_t failed = 0;   ///< datagrams the kernel refused (counted, retransmit recovers)
        std::uint64_t dropped = 0;  ///< removed by the test loss hook
        std::uint64_t bytes = 0;
        std::uint64_t segmented = 0;  ///< datagrams that left inside a GSO group
        /// Payloads of datagrams refused with EFAULT: their memory could not be read (a
        /// mapped file truncated in place). The kernel reports it instead of SIGBUS because
        /// only the kernel touches the mapping; the owner ends those transfers.
        std::vector<const std::uint8_t*> faulted;
    };
    /// Sends everything queued with sendmmsg. @p dropEvery > 0 drops every Nth
    /// datagram (counted across calls in @p dropCounter): a test hook for loss.
    FlushResult flush(int fd, std::uint32_t dropEvery, std::uint64_t& dropCounter);

    // flush() in three steps, for a caller that hands the messages to the
    // kernel itself (io::DatagramLoop on io_uring: one submission for many
    // sockets' queues). prepare() applies the loss hook and builds one msghdr
    // per message (a GSO group or one datagram); the caller sends each and
    // reports each outcome to complete(); finish() empties the queue. The
    // msghdrs point into the queue and into the payloads: both stay untouched
    // until finish().
    /// @return the number of messages, message(0 .. n-1).
    std::size_t prepare(std::uint32_t dropEvery, std::uint64_t& dropCounter, FlushResult& r);
    [[nodiscard]] msghdr* message(std::size_t m) { return &msgs_[m].msg_hdr; }
    /// Message @p m was sent (@p error 0) or refused with errno @p error. A GSO
    /// group the kernel refuses is sent again one datagram at a time on @p fd
    /// (sendmsg) and the queue stops grouping, as flush() does.
    void complete(int fd, std::size_t m, int error, FlushResult& r);
    void finish();
    /// The socket is connect()ed to @p peer: datagrams to it leave without an
    /// address, so the kernel skips the route lookup of each (connectUdp).
    void setConnectedPeer(const SockAddr& peer) { peer_ = peer; }
    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] std::size_t size() const { return count_; }
    /// Whether flushes may still group datagrams (false after the kernel refused GSO).
    [[nodiscard]] bool segmentationEnabled() const { return gso_; }
    /// Test hook: never group (the path of a kernel without UDP GSO).
    void disableSegmentation() { gso_ = false; }

private:
    static constexpr std::size_t kInlineHeader = 4;
    /// Linux's UDP_MAX_SEGMENTS (64 up to 6.9, 128 after): the older, lower bound.
    static constexpr std::size_t kMaxSegments = 64;
    /// Largest UDP payload of one message: 65535 - 20 (IPv4) - 8 (UDP).
    static constexpr std::size_t kMaxMessageBytes = 65507;
    struct Slot {
        SockAddr to;
        std::array<std::uint8_t, kInlineHeader> header{};
        std::size_t headerLen = 0;
        std::vector<std::uint8_t> owned;
        std::span<const std::uint8_t> payload;
    };
    /// One sendmmsg entry: kept_[first .. first + count) (count > 1 = a GSO group).
    struct Message {
        std::size_t first = 0;
        std::size_t count = 0;
    };
    /// Control buffer for one UDP_SEGMENT cmsg.
    struct Control {
        alignas(cmsghdr) std::array<std::uint8_t, CMSG_SPACE(sizeof(std::uint16_t))> bytes{};
    };
    static std::size_t datagramLength(const Slot& s);
    /// Sends kept_[m.first .. +count) one datagram each (after a refused GSO message).
    void sendOneByOne(int fd, const Message& m, FlushResult& r);
    void noteFault(std::size_t keptIndex, FlushResult& r) const;

    std::vector<Slot> slots_;
    std::size_t count_ = 0;
    SockAddr peer_;  ///< connected peer (length 0: none)
    bool gso_ = true;
    std::vector<std::size_t> kept_;  ///< slots left by the loss hook, in order
    std::vector<std::pair<std::size_t, std::size_t>> slotIov_;  ///< kept index -> (iov start, n)
    std::vector<Message> messages_;
    std::vector<mmsghdr> msgs_;
    std::vector<iovec> iovs_;
    std::vector<Control> controls_;
};

}  // namespace pinet::io
