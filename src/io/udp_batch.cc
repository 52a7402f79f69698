#include "io/udp_batch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

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

RecvBatch::RecvBatch() : buffers_(kSlots * kBufferSize) {
    for (unsigned i = 0; i < kSlots; ++i) {
        iovs_[i].iov_base = buffers_.data() + i * kBufferSize;
        iovs_[i].iov_len = kBufferSize;
    }
}

int RecvBatch::receive(int fd) {
    for (unsigned i = 0; i < kSlots; ++i) {
        auto& h = msgs_[i].msg_hdr;
        h = msghdr{};
        h.msg_name = &addrs_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &iovs_[i];
        h.msg_iovlen = 1;
        msgs_[i].msg_len = 0;
    }
    int n = ::recvmmsg(fd, msgs_.data(), kSlots, MSG_DONTWAIT, nullptr);
    if (n < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    }
    return n;
}

std::span<const std::uint8_t> RecvBatch::data(unsigned i) const {
    std::size_t len = std::min<std::size_t>(msgs_[i].msg_len, kBufferSize);
    return {buffers_.data() + i * kBufferSize, len};
}

bool RecvBatch::truncated(unsigned i) const { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

SockAddr RecvBatch::from(unsigned i) const {
    return SockAddr::from(addrs_[i], msgs_[i].msg_hdr.msg_namelen);
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

SendQueue::FlushResult SendQueue::flush(int fd, std::uint32_t dropEvery,
                                        std::uint64_t& dropCounter) {
    FlushResult r;
    if (count_ == 0) {
        return r;
    }
    msgs_.resize(count_);
    iovs_.resize(count_ * 2);
    slotOf_.resize(count_);
    std::size_t n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        Slot& s = slots_[i];
        if (dropEvery > 0 && (++dropCounter % dropEvery) == 0) {
            ++r.dropped;
            continue;
        }
        iovec* iov = &iovs_[n * 2];
        std::size_t iovlen = 0;
        if (!s.owned.empty()) {
            iov[iovlen++] = iovec{s.owned.data(), s.owned.size()};
        } else {
            iov[iovlen++] = iovec{s.header.data(), s.headerLen};
        }
        if (!s.payload.empty()) {
            // sendmmsg takes non-const iovecs but never writes through them.
            iov[iovlen++] = iovec{const_cast<std::uint8_t*>(s.payload.data()), s.payload.size()};
        }
        msghdr& h = msgs_[n].msg_hdr;
        h = msghdr{};
        h.msg_name = &s.to.storage;
        h.msg_namelen = s.to.length;
        h.msg_iov = iov;
        h.msg_iovlen = iovlen;
        r.bytes += iov[0].iov_len + (iovlen > 1 ? iov[1].iov_len : 0);
        slotOf_[n] = i;
        ++n;
    }
    std::size_t done = 0;
    while (done < n) {
        // UIO_MAXIOV (1024) bounds vlen per call.
        unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1024));
        int rc = ::sendmmsg(fd, msgs_.data() + done, chunk, MSG_DONTWAIT);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            // EAGAIN (buffer full) or a per-destination error (ECONNREFUSED
            // from an ICMP for an earlier datagram): skip this datagram; the
            // transfer's retransmit timer recovers it. EFAULT is different: the payload
            // cannot be read, and a retransmission would fail the same way.
            if (errno == EFAULT && !slots_[slotOf_[done]].payload.empty()) {
                r.faulted.push_back(slots_[slotOf_[done]].payload.data());
            }
            ++r.failed;
            ++done;
            continue;
        }
        done += static_cast<std::size_t>(rc);
        r.sent += static_cast<std::uint64_t>(rc);
    }
    for (std::size_t i = 0; i < count_; ++i) {
        if (slots_[i].owned.capacity() > 4096) {
            std::vector<std::uint8_t>().swap(slots_[i].owned);  // keep memory bounded
        }
        slots_[i].payload = {};
    }
    count_ = 0;
    return r;
}

}  // namespace pinet::io
