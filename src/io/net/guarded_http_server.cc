#include "io/net/guarded_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace pinet::io {

namespace {

/// "ip" and port of a socket's peer (getpeername) or own end (getsockname).
void endpointOf(int sock, bool peer, std::string& ip, int& port) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&ss), &len)
                        : ::getsockname(sock, reinterpret_cast<sockaddr*>(&ss), &len);
    ip.clear();
    port = -1;
    if (rc != 0) {
        return;
    }
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, buf.data(), buf.size());
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, buf.data(), buf.size());
        port = ntohs(a->sin6_port);
    }
    ip = buf.data();
}

/// poll() for one event, retried on EINTR; false on timeout or error.
bool waitFor(int sock, short events, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        pollfd p{sock, events, 0};
        const int rc = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
        if (rc > 0) {
            return true;
        }
        if (rc == 0 || errno != EINTR) {
            return false;
        }
    }
}

/// httplib's Stream over an accepted socket, with what httplib 0.11's own
/// SocketStream lacks: an absolute deadline for the request headers (armed per
/// request, disarmed once httplib has parsed them), on top of the per-read timeout.
class GuardedStream final : public httplib::Stream {
public:
    GuardedStream(int sock, const HttpLimits& limits) : sock_(sock), limits_(limits) {}

    void armHeaderDeadline() {
        deadline_ = std::chrono::steady_clock::now() + limits_.headerDeadline;
        armed_ = true;
        expired_ = false;
    }
    void disarmHeaderDeadline() { armed_ = false; }
    bool headerDeadlineExpired() const { return expired_; }

    bool is_readable() const override { return waitFor(sock_, POLLIN, readBudget()); }
    bool is_writable() const override { return waitFor(sock_, POLLOUT, limits_.ioTimeout); }

    ssize_t read(char* ptr, std::size_t size) override {
        // httplib reads headers a byte at a time: serve those from a buffer.
        if (pos_ < len_) {
            const auto n = std::min(size, len_ - pos_);
            std::memcpy(ptr, buf_.data() + pos_, n);
            pos_ += n;
            return static_cast<ssize_t>(n);
        }
        const auto budget = readBudget();
        if (!waitFor(sock_, POLLIN, budget)) {
            expired_ = armed_ && budget < limits_.ioTimeout;  // the deadline, not a stall
            return -1;
        }
        const bool direct = size >= buf_.size();
        ssize_t n = 0;
        do {
            n = ::recv(sock_, direct ? ptr : buf_.data(), direct ? size : buf_.size(), 0);
        } while (n < 0 && errno == EINTR);
        if (n <= 0 || direct) {
            return n;
        }
        len_ = static_cast<std::size_t>(n);
        pos_ = 0;
        return read(ptr, size);
    }

    ssize_t write(const char* ptr, std::size_t size) override {
        if (!is_writable()) {
            return -1;
        }
        ssize_t n = 0;
        do {
            n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        return n;
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        endpointOf(sock_, true, ip, port);
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        endpointOf(sock_, false, ip, port);
    }
    socket_t socket() const override { return sock_; }

private:
    std::chrono::milliseconds readBudget() const {
        if (!armed_) {
            return limits_.ioTimeout;
        }
        // Rounded up: a poll that wakes before the deadline would not be one.
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline_ - std::chrono::steady_clock::now());
        return std::clamp(left, std::chrono::milliseconds(0), limits_.ioTimeout);
    }

    int sock_;
    const HttpLimits& limits_;
    std::array<char, 4096> buf_{};
    std::size_t pos_ = 0;
    std::size_t len_ = 0;
    bool armed_ = false;
    bool expired_ = false;
    std::chrono::steady_clock::time_point deadline_{};
};

constexpr int kListenBacklog = 1024;

constexpr std::string_view kBusyResponse =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

}  // namespace

GuardedHttpServer::GuardedHttpServer(HttpLimits limits, std::string logName)
    : limits_(limits), logName_(std::move(logName)) {}

void GuardedHttpServer::widenBacklog() {
    // Only resizes the backlog of the already listening socket; a failure leaves httplib's.
    (void)::listen(svr_sock_, kListenBacklog);
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
    std::string peer;
    int peerPort = -1;
    endpointOf(sock, true, peer, peerPort);
    bool ok = false;
    if (acquire(peer)) {
        ok = serve(sock);
        release(peer);
    } else {
        ++refused_;
        spdlog::info("{}_BUSY client={}:{} reason=per-address connection cap ({})", logName_, peer,
                     peerPort, limits_.perAddress);
        (void)::send(sock, kBusyResponse.data(), kBusyResponse.size(), MSG_NOSIGNAL);
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
}

bool GuardedHttpServer::serve(int sock) {
    GuardedStream strm(sock, limits_);
    bool ok = false;
    // At most 5 requests per connection, as httplib's default keep_alive_max_count.
    for (int left = 5; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
        if (!waitFor(sock, POLLIN, limits_.keepAlive)) {
            break;
        }
        strm.armHeaderDeadline();
        bool closed = false;
        ok = process_request(strm, left == 1, closed,
                             [&strm](httplib::Request&) { strm.disarmHeaderDeadline(); });
        if (strm.headerDeadlineExpired()) {
            ++headerTimeouts_;
            std::string peer;
            int port = -1;
            strm.get_remote_ip_and_port(peer, port);
            spdlog::info("{}_TIMEOUT client={}:{} reason=headers not complete in {} ms", logName_,
                         peer, port, limits_.headerDeadline.count());
            return false;
        }
        if (!ok || closed) {
            break;
        }
    }
    return ok;
}

bool GuardedHttpServer::acquire(const std::string& peer) {
    std::lock_guard lock(mutex_);
    auto& n = perAddress_[peer];
    if (n >= limits_.perAddress) {
        return false;
    }
    ++n;
    return true;
}

void GuardedHttpServer::release(const std::string& peer) {
    std::lock_guard lock(mutex_);
    auto it = perAddress_.find(peer);
    if (it != perAddress_.end() && --it->second == 0) {
        perAddress_.erase(it);  // the map holds only addresses with open connections
    }
}

}  // namespace pinet::io
