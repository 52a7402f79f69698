#include "app/http/http_boot.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/tftp/client_dirs.h"
#include "io/fd.h"
#include "io/file_cache.h"
#include "io/fs/file_ops.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app::http {

namespace {

/// HTTP_PATH components are URL path segments: a narrower set than a TFTP name.
bool plainName(const std::string& s) {
    if (s.empty() || s.size() > 128) {
        return false;
    }
    for (unsigned char c : s) {
        if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

/// Per-response state shared by the content provider and the releaser.
struct Transfer {
    io::Fd fd;
    std::uint64_t size = 0;
    std::uint64_t sent = 0;
    core::TransferRecord record;
    std::chrono::steady_clock::time_point started;
    bool head = false;
};

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
    GuardedStream(int sock, const HttpBootLimits& limits) : sock_(sock), limits_(limits) {}

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
    const HttpBootLimits& limits_;
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

/// httplib::Server whose per-connection loop is ours (httplib 0.11 makes it a
/// virtual): a counted slot per peer address, then httplib's own request parsing
/// and routing (process_request) over a GuardedStream. httplib's loop would give
/// each connection keep_alive_max_count requests of up to read_timeout per byte,
/// with no bound on the whole.
class HttpBootServer::GuardedServer final : public httplib::Server {
public:
    explicit GuardedServer(HttpBootLimits limits) : limits_(limits) {}

    /// httplib listens with a backlog of 5; a room of boards connecting at once would
    /// see SYNs dropped and retried a second later. listen() again only resizes it.
    void widenBacklog() { (void)::listen(svr_sock_, kListenBacklog); }

    std::uint64_t refusedOverCap() const { return refused_.load(); }
    std::uint64_t headerTimeouts() const { return headerTimeouts_.load(); }
    const HttpBootLimits& limits() const { return limits_; }

private:
    bool process_and_close_socket(socket_t sock) override {
        std::string peer;
        int peerPort = -1;
        endpointOf(sock, true, peer, peerPort);
        bool ok = false;
        if (acquire(peer)) {
            ok = serve(sock);
            release(peer);
        } else {
            ++refused_;
            spdlog::info("HTTP_BOOT_BUSY client={}:{} reason=per-address connection cap ({})", peer,
                         peerPort, limits_.perAddress);
            (void)::send(sock, kBusyResponse.data(), kBusyResponse.size(), MSG_NOSIGNAL);
        }
        ::shutdown(sock, SHUT_RDWR);
        ::close(sock);
        return ok;
    }

    bool serve(int sock) {
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
                spdlog::info("HTTP_BOOT_TIMEOUT client={}:{} reason=headers not complete in {} ms",
                             peer, port, limits_.headerDeadline.count());
                return false;
            }
            if (!ok || closed) {
                break;
            }
        }
        return ok;
    }

    bool acquire(const std::string& peer) {
        std::lock_guard lock(mutex_);
        auto& n = perAddress_[peer];
        if (n >= limits_.perAddress) {
            return false;
        }
        ++n;
        return true;
    }

    void release(const std::string& peer) {
        std::lock_guard lock(mutex_);
        auto it = perAddress_.find(peer);
        if (it != perAddress_.end() && --it->second == 0) {
            perAddress_.erase(it);  // the map holds only addresses with open connections
        }
    }

    HttpBootLimits limits_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::size_t> perAddress_;
    std::atomic<std::uint64_t> refused_{0};
    std::atomic<std::uint64_t> headerTimeouts_{0};
};

bool parseBootPath(const std::string& path, std::string& prefix, std::string& name) {
    if (path.empty() || path[0] != '/') {
        return false;
    }
    // TFTP's rules (no "..", control bytes, over-long names; "//" and "." dropped),
    // then HTTP boot's own: only the two boot files, below plain names.
    // A URL path is absolute; "//" at its start is tolerated like any other "//".
    auto clean = core::tftp::sanitizePath(
        std::string_view(path).substr(std::min(path.find_first_not_of('/'), path.size())));
    if (!clean) {
        return false;
    }
    const auto slash = clean->rfind('/');
    name = slash == std::string::npos ? *clean : clean->substr(slash + 1);
    if (name != "boot.img" && name != "boot.sig") {
        return false;
    }
    prefix = slash == std::string::npos ? std::string() : clean->substr(0, slash);
    std::size_t pos = 0;
    while (pos < prefix.size()) {
        const auto next = std::min(prefix.find('/', pos), prefix.size());
        if (!plainName(prefix.substr(pos, next - pos))) {
            return false;
        }
        pos = next + 1;
    }
    return true;
}

HttpBootServer::HttpBootServer(RootProvider rootProvider, core::BootEventSink* eventSink,
                               HttpBootLimits limits)
    : root_(std::move(rootProvider)),
      sink_(eventSink),
      server_(std::make_unique<GuardedServer>(limits)) {
    // A Pi fetches boot.sig then boot.img (sometimes twice, spec 5): the workers are
    // about the boards booting at once; a connection that stalls is bounded by limits.
    const auto workers = std::max<std::size_t>(limits.workers, 1);
    server_->new_task_queue = [workers] {
        return new httplib::ThreadPool(workers);
    };
    // httplib's accept loop sets these as SO_RCVTIMEO/SO_SNDTIMEO; GuardedStream polls
    // with the same bound before each read and write.
    const auto io = std::chrono::duration_cast<std::chrono::seconds>(limits.ioTimeout);
    server_->set_read_timeout(std::max<std::int64_t>(io.count(), 1), 0);
    server_->set_write_timeout(std::max<std::int64_t>(io.count(), 1), 0);
    server_->set_payload_max_length(4096);
    server_->Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
        core::TransferRecord rec;
        rec.protocol = core::TransferRecord::Protocol::Http;
        rec.start = std::chrono::system_clock::now();
        rec.clientAddr = req.remote_addr + ":" + std::to_string(req.remote_port);
        // Decoded by httplib: "%ff" is a raw byte. Made safe before it goes anywhere.
        rec.requestedPath = proto::text::safeText(req.path);
        const auto t0 = std::chrono::steady_clock::now();
        std::string prefix;
        std::string name;
        auto finishEarly = [&](core::TransferRecord::Result result, int status, std::string why) {
            res.status = status;
            res.set_content(why + "\n", "text/plain");
            rec.result = result;
            rec.detail = why;
            rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0);
            spdlog::info("HTTP_BOOT_DENIED client={} path={} status={} reason={}", rec.clientAddr,
                         req.path, status, why);
            if (sink_ != nullptr) {
                sink_->onEvent(rec);
            }
        };
        if (!parseBootPath(req.path, prefix, name)) {
            finishEarly(core::TransferRecord::Result::Refused, 403,
                        "only <path>/boot.img and <path>/boot.sig are served");
            return;
        }
        rec.requestedPath = prefix.empty() ? name : prefix + "/" + name;
        const auto last =
            prefix.substr(prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/') + 1);
        if (auto serial = proto::netboot::parseSerialDir(last)) {
            rec.serial = std::move(*serial);
        } else if (auto mac = proto::netboot::parseMacDir(last)) {
            rec.mac = std::move(*mac);
        }
        // Resolved beneath the root in the kernel (as TFTP): a symlink that leads out of
        // the root is refused, whatever the path string looked like.
        auto notFound = [&] {
            finishEarly(core::TransferRecord::Result::NotFound, 404,
                        rec.requestedPath + " not found");
        };
        auto rootFd = io::openDirectory(root_());
        if (!rootFd) {
            notFound();
            return;
        }
        auto fd = io::openBeneath(rootFd->get(), rec.requestedPath);
        if (!fd) {
            if (fd.error() == io::OpenError::Escape) {
                finishEarly(core::TransferRecord::Result::Refused, 403,
                            rec.requestedPath + " leads outside the boot root");
            } else {
                notFound();
            }
            return;
        }
        auto size = io::fileSize(fd->get());
        if (!size) {
            notFound();
            return;
        }
        auto t = std::make_shared<Transfer>();
        t->fd = std::move(*fd);
        t->size = *size;
        t->record = rec;
        t->record.fileSize = t->size;
        t->started = t0;
        t->head = req.method == "HEAD";
        ++inFlight_;
        spdlog::debug("HTTP_BOOT_START client={} path={} size={}", rec.clientAddr,
                      rec.requestedPath, t->size);
        res.set_header("Cache-Control", "no-store");
        // Content-Length from the size: never chunked (spec 5).
        res.set_content_provider(
            t->size, "application/octet-stream",
            [t](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                // 64 KiB reads: few syscalls, small per-connection buffer.
                std::array<std::uint8_t, 65536> buf;
                const auto want = std::min<std::size_t>(length, buf.size());
                const auto n = io::readAt(t->fd.get(), std::span(buf.data(), want), offset);
                if (!n || *n == 0) {
                    t->record.detail = "read error";
                    return false;
                }
                if (!sink.write(reinterpret_cast<const char*>(buf.data()), *n)) {
                    return false;
                }
                t->sent = offset + *n;
                return true;
            },
            [this, t](bool success) {
                auto& r = t->record;
                r.bytes = t->sent;
                r.duration = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - t->started);
                using R = core::TransferRecord::Result;
                r.result = t->head                         ? R::SizeQuery
                           : success && t->sent == t->size ? R::Ok
                           : r.detail == "read error"      ? R::ServerError
                                                           : R::ClientError;
                if (r.result == R::SizeQuery) {
                    r.detail = "HEAD";
                } else if (r.result == R::ClientError) {
                    r.detail = "connection closed after " + std::to_string(t->sent) + " bytes";
                }
                --inFlight_;
                if (sink_ != nullptr) {
                    sink_->onEvent(r);
                }
            });
    });
}

HttpBootServer::~HttpBootServer() {
    stop();
}

std::uint64_t HttpBootServer::refusedOverCap() const {
    return server_->refusedOverCap();
}

std::uint64_t HttpBootServer::headerTimeouts() const {
    return server_->headerTimeouts();
}

void HttpBootServer::start(const std::string& host, std::uint16_t port) {
    int bound = 0;
    if (port == 0) {
        bound = server_->bind_to_any_port(host);
    } else {
        bound = server_->bind_to_port(host, port) ? port : -1;
    }
    if (bound <= 0) {
        throw std::runtime_error("http boot: cannot listen on " + host + ":" +
                                 std::to_string(port));
    }
    port_ = static_cast<std::uint16_t>(bound);
    server_->widenBacklog();
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void HttpBootServer::stop() {
    if (thread_.joinable()) {
        server_->stop();
        thread_.join();
    }
}

}  // namespace pinet::app::http
