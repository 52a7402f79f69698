#include "io/udp_batch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace pinet::io {

std::uint16_t SockAddr::port() const {
    if (family() == AF_INET) {
        sockaddr_in a{};
        std::memcpy(&a, &storage, sizeof(a));
        return ntohs(a.sin_port);
    }
    if (family() == AF_INET6) {
        sockaddr_in6 a{};
        std::memcpy(&a, &storage, sizeof(a));
        return ntohs(a.sin6_port);
    }
    return 0;
}

std::string SockAddr::toString() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        sockaddr_in a{};
        std::memcpy(&a, &storage, sizeof(a));
        inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
        return fmt::format("{}:{}", buf, ntohs(a.sin_port));
    }
    if (family() == AF_INET6) {
        sockaddr_in6 a{};
        std::memcpy(&a, &storage, sizeof(a));
        inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof(buf));
        return fmt::format("[{}]:{}", buf, ntohs(a.sin6_port));
    }
    return "?";
}

std::array<std::uint8_t, 16> SockAddr::addressKey() const {
    std::array<std::uint8_t, 16> k{};
    if (family() == AF_INET) {
        sockaddr_in a{};
        std::memcpy(&a, &storage, sizeof(a));
        k[10] = 0xff;
        k[11] = 0xff;
        std::memcpy(k.data() + 12, &a.sin_addr, 4);
    } else if (family() == AF_INET6) {
        sockaddr_in6 a{};
        std::memcpy(&a, &storage, sizeof(a));
        std::memcpy(k.data(), &a.sin6_addr, 16);
    }
    return k;
}

SockAddr SockAddr::withPort(std::uint16_t port) const {
    SockAddr out = *this;
    if (family() == AF_INET) {
        sockaddr_in a{};
        std::memcpy(&a, &storage, sizeof(a));
        a.sin_port = htons(port);
        std::memcpy(&out.storage, &a, sizeof(a));
    } else if (family() == AF_INET6) {
        sockaddr_in6 a{};
        std::memcpy(&a, &storage, sizeof(a));
        a.sin6_port = htons(port);
        std::memcpy(&out.storage, &a, sizeof(a));
    }
    return out;
}

SockAddr SockAddr::from(const sockaddr_storage& ss, socklen_t len) {
    SockAddr a;
    a.storage = ss;
    a.length = len;
    return a;
}

SockAddr SockAddr::fromEndpoint(const core::tftp::Endpoint& e, int family) {
    SockAddr out;
    if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(e.port);
        std::memcpy(&a.sin_addr, e.address.data() + 12, 4);
        std::memcpy(&out.storage, &a, sizeof(a));
        out.length = sizeof(a);
    } else {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(e.port);
        std::memcpy(&a.sin6_addr, e.address.data(), 16);
        std::memcpy(&out.storage, &a, sizeof(a));
        out.length = sizeof(a);
    }
    return out;
}

Result<SockAddr> parseEndpoint(std::string_view text) {
    std::string host;
    std::string portText;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return fail(fmt::format("bad listen address '{}': expected [ADDR]:PORT", text));
        }
        host = std::string(text.substr(1, close - 1));
        portText = std::string(text.substr(close + 2));
    } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
        host = std::string(text.substr(0, colon));
        portText = std::string(text.substr(colon + 1));
    } else {
        portText = std::string(text);
    }
    char* end = nullptr;
    errno = 0;
    unsigned long port = std::strtoul(portText.c_str(), &end, 10);
    if (portText.empty() || *end != '\0' || errno != 0 || port > 65535) {
        return fail(fmt::format("bad listen address '{}': bad port '{}'", text, portText));
    }
    SockAddr out;
    if (host.empty()) {
        host = "0.0.0.0";
    }
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(static_cast<std::uint16_t>(port));
        std::memcpy(&out.storage, &v4, sizeof(v4));
        out.length = sizeof(v4);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(static_cast<std::uint16_t>(port));
        std::memcpy(&out.storage, &v6, sizeof(v6));
        out.length = sizeof(v6);
    } else {
        return fail(fmt::format("bad listen address '{}': '{}' is not an IP address", text, host));
    }
    return out;
}

Result<Fd> bindUdp(const SockAddr& addr, int bufferBytes) {
    Fd fd(::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fail(fmt::format("socket: {}", std::strerror(errno)));
    }
    if (bufferBytes > 0) {
        // Best effort: the kernel caps these at net.core.{r,w}mem_max.
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bufferBytes, sizeof(bufferBytes));
        ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &bufferBytes, sizeof(bufferBytes));
    }
    if (::bind(fd.get(), addr.get(), addr.length) != 0) {
        return fail(fmt::format("bind {}: {}", addr.toString(), std::strerror(errno)));
    }
    return fd;
}

Result<SockAddr> localAddress(int fd) {
    SockAddr a;
    a.length = sizeof(a.storage);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) {
        return fail(fmt::format("getsockname: {}", std::strerror(errno)));
    }
    return a;
}

Result<void> connectUdp(int fd, const SockAddr& peer) {
    if (::connect(fd, peer.get(), peer.length) != 0) {
        return fail(fmt::format("connect {}: {}", peer.toString(), std::strerror(errno)));
    }
    return {};
}

RecvBatch::RecvBatch() : buffers_(kSlots * kBufferSize) {
    for (unsigned i = 0; i < kSlots; ++i) {
        iovs_[i].iov_base = buffers_.data() + i * kBufferSize;
        iovs_[i].iov_len = kBufferSize;
        auto& h = msgs_[i].msg_hdr;
        h = msghdr{};
        h.msg_name = &addrs_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &iovs_[i];
        h.msg_iovlen = 1;
    }
}

int RecvBatch::receive(int fd) {
    // The kernel writes msg_namelen, msg_flags and msg_len of the entries it
    // filled, and nothing else: reset just those (a turn on a lockstep socket
    // usually fills one entry, so rebuilding all 64 would dominate the call).
    for (unsigned i = 0; i < filled_; ++i) {
        msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        msgs_[i].msg_hdr.msg_flags = 0;
        msgs_[i].msg_len = 0;
    }
    int n = ::recvmmsg(fd, msgs_.data(), kSlots, MSG_DONTWAIT, nullptr);
    if (n < 0) {
        filled_ = 0;
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    }
    filled_ = static_cast<unsigned>(n);
    return n;
}

std::span<const std::uint8_t> RecvBatch::data(unsigned i) const {
    std::size_t len = std::min<std::size_t>(msgs_[i].msg_len, kBufferSize);
    return {buffers_.data() + i * kBufferSize, len};
}

bool RecvBatch::truncated(unsigned i) const {
    return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

SockAddr RecvBatch::from(unsigned i) const {
    return SockAddr::from(addrs_[i], msgs_[i].msg_hdr.msg_namelen);
}

core::tftp::Endpoint RecvBatch::endpoint(unsigned i) const {
    return toEndpoint(reinterpret_cast<const sockaddr*>(&addrs_[i]), msgs_[i].msg_hdr.msg_namelen);
}

core::tftp::Endpoint toEndpoint(const sockaddr* sa, socklen_t length) {
    core::tftp::Endpoint e;
    if (sa->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        sockaddr_in a{};
        std::memcpy(&a, sa, sizeof(a));
        e.address[10] = 0xff;
        e.address[11] = 0xff;
        std::memcpy(e.address.data() + 12, &a.sin_addr, 4);
        e.port = ntohs(a.sin_port);
    } else if (sa->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        sockaddr_in6 a{};
        std::memcpy(&a, sa, sizeof(a));
        std::memcpy(e.address.data(), &a.sin6_addr, 16);
        e.port = ntohs(a.sin6_port);
    }
    return e;
}

void SendQueue::push(const SockAddr& to, std::span<const std::uint8_t> header,
                     std::span<const std::uint8_t> payload) {
    if (count_ == slots_.size()) {
        slots_.emplace_back();
    }
    Slot& s = slots_[count_++];
    s.to = to;
    s.payload = payload;
    s.owned.clear();
    if (header.size() <= kInlineHeader) {
        std::memcpy(s.header.data(), header.data(), header.size());
        s.headerLen = header.size();
    } else {
        s.owned.assign(header.begin(), header.end());
        s.headerLen = 0;
    }
}

void SendQueue::pushOwned(const SockAddr& to, std::vector<std::uint8_t> packet) {
    if (count_ == slots_.size()) {
        slots_.emplace_back();
    }
    Slot& s = slots_[count_++];
    s.to = to;
    s.payload = {};
    s.headerLen = 0;
    s.owned = std::move(packet);
}

std::size_t SendQueue::datagramLength(const Slot& s) {
    return (s.owned.empty() ? s.headerLen : s.owned.size()) + s.payload.size();
}

void SendQueue::noteFault(std::size_t keptIndex, FlushResult& r) const {
    const Slot& s = slots_[kept_[keptIndex]];
    if (!s.payload.empty()) {
        r.faulted.push_back(s.payload.data());
    }
}

void SendQueue::sendOneByOne(int fd, const Message& m, FlushResult& r) {
    for (std::size_t k = m.first; k < m.first + m.count; ++k) {
        const Slot& s = slots_[kept_[k]];
        msghdr h{};
        h.msg_name = const_cast<sockaddr_storage*>(&s.to.storage);
        h.msg_namelen = s.to.length;
        h.msg_iov = &iovs_[slotIov_[k].first];
        h.msg_iovlen = slotIov_[k].second;
        ssize_t rc = 0;
        do {
            rc = ::sendmsg(fd, &h, MSG_DONTWAIT);
        } while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            if (errno == EFAULT) {
                noteFault(k, r);
            }
            ++r.failed;
        } else {
            ++r.sent;
        }
    }
}

std::size_t SendQueue::prepare(std::uint32_t dropEvery, std::uint64_t& dropCounter,
                               FlushResult& r) {
    kept_.clear();
    messages_.clear();
    for (std::size_t i = 0; i < count_; ++i) {
        if (dropEvery > 0 && (++dropCounter % dropEvery) == 0) {
            ++r.dropped;
            continue;
        }
        kept_.push_back(i);
    }
    // Every kept datagram's iovecs, in order: header (or owned packet), then payload.
    iovs_.resize(kept_.size() * 2);
    slotIov_.resize(kept_.size());
    std::size_t nIov = 0;
    for (std::size_t k = 0; k < kept_.size(); ++k) {
        Slot& s = slots_[kept_[k]];
        const std::size_t start = nIov;
        if (!s.owned.empty()) {
            iovs_[nIov++] = iovec{s.owned.data(), s.owned.size()};
        } else {
            iovs_[nIov++] = iovec{s.header.data(), s.headerLen};
        }
        if (!s.payload.empty()) {
            // sendmmsg takes non-const iovecs but never writes through them.
            iovs_[nIov++] = iovec{const_cast<std::uint8_t*>(s.payload.data()), s.payload.size()};
        }
        slotIov_[k] = {start, nIov - start};
        r.bytes += datagramLength(s);
    }
    // Messages: a run of equal-length datagrams to one address becomes one GSO
    // message (a shorter datagram may end a run, as the kernel allows).
    for (std::size_t k = 0; k < kept_.size();) {
        const Slot& first = slots_[kept_[k]];
        const std::size_t segment = datagramLength(first);
        const std::size_t mtuPayload = first.to.family() == AF_INET6 ? 1452 : 1472;
        std::size_t count = 1;
        if (gso_ && segment > 0 && segment <= mtuPayload) {
            const std::size_t limit = std::min(kMaxSegments, kMaxMessageBytes / segment);
            while (k + count < kept_.size() && count < limit) {
                const Slot& next = slots_[kept_[k + count]];
                const std::size_t len = datagramLength(next);
                if (len == 0 || len > segment || next.to.length != first.to.length ||
                    std::memcmp(&next.to.storage, &first.to.storage, first.to.length) != 0) {
                    break;
                }
                ++count;
                if (len < segment) {
                    break;
                }
            }
        }
        messages_.push_back({k, count});
        k += count;
    }
    msgs_.resize(messages_.size());
    controls_.resize(messages_.size());
    for (std::size_t m = 0; m < messages_.size(); ++m) {
        const Message& g = messages_[m];
        Slot& first = slots_[kept_[g.first]];
        const auto& last = slotIov_[g.first + g.count - 1];
        msghdr& h = msgs_[m].msg_hdr;
        h = msghdr{};
        const bool toPeer = peer_.length != 0 && first.to.length == peer_.length &&
                            std::memcmp(&first.to.storage, &peer_.storage, peer_.length) == 0;
        if (!toPeer) {
            h.msg_name = &first.to.storage;
            h.msg_namelen = first.to.length;
        }
        h.msg_iov = &iovs_[slotIov_[g.first].first];
        h.msg_iovlen = last.first + last.second - slotIov_[g.first].first;
        if (g.count > 1) {
            // Linux UDP GSO (udp(7)): cmsg SOL_UDP / UDP_SEGMENT carries the segment size.
            auto& c = controls_[m];
            c.bytes.fill(0);
            h.msg_control = c.bytes.data();
            h.msg_controllen = c.bytes.size();
            cmsghdr* cm = CMSG_FIRSTHDR(&h);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto segment = static_cast<std::uint16_t>(datagramLength(first));
            std::memcpy(CMSG_DATA(cm), &segment, sizeof(segment));
        }
    }
    return messages_.size();
}

void SendQueue::complete(int fd, std::size_t m, int error, FlushResult& r) {
    const Message& g = messages_[m];
    if (error == 0) {
        r.sent += g.count;
        r.segmented += g.count > 1 ? g.count : 0;
        return;
    }
    if (g.count > 1 && (error == EINVAL || error == EIO || error == ENOPROTOOPT ||
                        error == EOPNOTSUPP || error == EMSGSIZE)) {
        // GSO refused (old kernel, a device without checksum offload, a smaller
        // MTU): send this group plainly and stop grouping on this socket.
        gso_ = false;
        sendOneByOne(fd, g, r);
        return;
    }
    // EAGAIN (buffer full) or a per-destination error (ECONNREFUSED from an
    // ICMP for an earlier datagram): skip this message; the transfer's
    // retransmit timer recovers it. EFAULT is different: the payload cannot be
    // read, and a retransmission would fail the same way.
    if (error == EFAULT) {
        for (std::size_t k = g.first; k < g.first + g.count; ++k) {
            noteFault(k, r);
        }
    }
    r.failed += g.count;
}

void SendQueue::finish() {
    for (std::size_t i = 0; i < count_; ++i) {
        if (slots_[i].owned.capacity() > 4096) {
            std::vector<std::uint8_t>().swap(slots_[i].owned);  // keep memory bounded
        }
        slots_[i].payload = {};
    }
    count_ = 0;
}

SendQueue::FlushResult SendQueue::flush(int fd, std::uint32_t dropEvery,
                                        std::uint64_t& dropCounter) {
    FlushResult r;
    if (count_ == 0) {
        return r;
    }
    const std::size_t n = prepare(dropEvery, dropCounter, r);
    std::size_t done = 0;
    while (done < n) {
        // UIO_MAXIOV (1024) bounds vlen per call.
        unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1024));
        int rc = ::sendmmsg(fd, msgs_.data() + done, chunk, MSG_DONTWAIT);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            // sendmmsg reports the first message's error; the next call
            // starts after it.
            complete(fd, done, errno, r);
            ++done;
            continue;
        }
        for (int j = 0; j < rc; ++j) {
            complete(fd, done + static_cast<std::size_t>(j), 0, r);
        }
        done += static_cast<std::size_t>(rc);
    }
    finish();
    return r;
}

}  // namespace pinet::io
