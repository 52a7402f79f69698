#include "io/net/http_file_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/net/event_loop.h"

namespace pinet::io {

namespace {

using Clock = std::chrono::steady_clock;
using proto::http::RequestError;

/// The wake eventfd has ~0; connections are (generation << 32 | slot), whose
/// generation never reaches 0xffffffff in practice (it wraps per slot, not globally).
constexpr EventLoop::Tag kListenTag = ~EventLoop::Tag{0} - 1;
/// Timeouts, the progress hook and accept retries run on this tick: finer than
/// any limit (the shortest, the header deadline, is seconds) and the hook's
/// "~100 ms"; a scan of 4096 connections 10 times a second is noise. With no
/// connection open the loop sleeps until one arrives.
constexpr auto kTick = std::chrono::milliseconds(100);
/// Bytes one connection may send per loop turn before the others get theirs:
/// fair shares under a storm, yet few system calls (sendfile takes as much as
/// the socket buffer has room for).
constexpr std::uint64_t kTurnBytes = std::uint64_t{1} << 20;
/// Connections accepted per turn, so a connect storm does not stall the
/// transfers in progress (the rest wait in the backlog for the next turn).
constexpr int kAcceptsPerTurn = 64;
/// A room of boards connecting at once must not see SYNs dropped and retried a
/// second later; the kernel caps it at net.core.somaxconn (4096 by default).
/// Past it the kernel drops SYNs and the clients send them again (1 s, 3 s, ...).
constexpr int kListenBacklog = 1024;
/// A connection that ends (Connection: close, or an error answer) is read and
/// discarded until the client closes, for at most this long, so request bytes
/// we did not read do not make the kernel reset the connection before the
/// client has read our answer (RFC 9112 9.6, "tear-down").
constexpr auto kLinger = std::chrono::seconds(2);
/// Request bodies (a GET has none) up to this are read and discarded; larger
/// ones are answered 413. cpp-httplib's payload limit here was the same.
constexpr std::uint64_t kMaxDiscardedBody = 4096;
/// Unsent bytes a connection may queue in the kernel (TCP_NOTSENT_LOWAT): a few
/// milliseconds of a gigabit link, so a board's stream never waits on us, and
/// 4096 connections hold at most 512 MiB of unsent data.
constexpr int kNotSentLowat = 128 * 1024;
/// The per-connection input buffer: one head plus a discarded body.
constexpr std::size_t kBufferSize = proto::http::kMaxRequestHead + kMaxDiscardedBody;

constexpr std::string_view kBusyResponse =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

using AddressKey = std::array<std::uint8_t, 16>;

/// The peer of an accepted socket: text, port, IPv4 (also when mapped) and a map key.
HttpPeer peerOf(const sockaddr_storage& ss, AddressKey& key) {
    HttpPeer p;
    key.fill(0);
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, buf.data(), buf.size());
        p.port = ntohs(a->sin_port);
        p.ipv4 = ntohl(a->sin_addr.s_addr);
    } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        p.port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            in_addr v4{};
            std::memcpy(&v4, a->sin6_addr.s6_addr + 12, 4);
            ::inet_ntop(AF_INET, &v4, buf.data(), buf.size());
            p.ipv4 = ntohl(v4.s_addr);
        } else {
            ::inet_ntop(AF_INET6, &a->sin6_addr, buf.data(), buf.size());
            std::memcpy(key.data(), a->sin6_addr.s6_addr, 16);
        }
    }
    if (p.ipv4) {
        // IPv4-mapped form, so a v4 peer has one key on a v4 or a dual-stack socket.
        key[10] = 0xff;
        key[11] = 0xff;
        const std::uint32_t be = htonl(*p.ipv4);
        std::memcpy(key.data() + 12, &be, 4);
    }
    p.ip = buf.data();
    return p;
}

/// Raises the soft descriptor limit to @p want (at most the hard limit); returns
/// the soft limit in force.
rlim_t raiseOpenFileLimit(rlim_t want) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 0;
    }
    if (rl.rlim_cur < want) {
        rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            return raised.rlim_cur;
        }
    }
    return rl.rlim_cur;
}

}  // namespace

struct HttpFileServer::Loop {
    struct Conn {
        enum class State { Reading, Writing, Lingering };
        Fd sock;
        HttpPeer peer;
        AddressKey key{};
        std::uint32_t slot = 0;
        std::uint32_t gen = 0;
        bool closed = false;
        State state = State::Reading;
        EventLoop::Interest interest = EventLoop::Interest::Read;
        std::unique_ptr<std::uint8_t[]> in =
            std::make_unique_for_overwrite<std::uint8_t[]>(kBufferSize);
        std::size_t len = 0;
        proto::http::HeadScanner scanner;
        bool sawByte = false;  ///< of the request being read
        bool peerEof = false;  ///< the client shut down its side
        Clock::time_point firstByte{};
        Clock::time_point idleSince{};
        Clock::time_point lastProgress{};
        Clock::time_point lingerUntil{};
        std::size_t requests = 0;
        std::size_t consumed = 0;  ///< bytes of `in` the current request took
        // The response being written.
        std::string out;
        std::size_t outPos = 0;
        Fd file;
        std::uint64_t fileOff = 0;
        std::uint64_t fileEnd = 0;
        bool closeAfter = false;
        std::optional<HttpExchangeEnd> exchange;
        std::function<void(const HttpExchangeEnd&)> finished;
        std::uint64_t unreported = 0;  ///< file bytes sent since the progress hook last heard

        [[nodiscard]] EventLoop::Tag tag() const {
            return (static_cast<EventLoop::Tag>(gen) << 32) | slot;
        }
    };

    Loop(HttpFileServer& server, EventLoop loop, Fd listener)
        : s(server), ev(std::move(loop)), listen(std::move(listener)) {}

    HttpFileServer& s;
    EventLoop ev;
    Fd listen;
    std::optional<Clock::time_point> acceptPausedUntil;
    std::vector<std::unique_ptr<Conn>> slots;
    std::vector<std::uint32_t> freeSlots;
    std::vector<std::uint32_t> toFree;
    std::map<AddressKey, std::size_t> perAddress;
    std::size_t open = 0;
    Clock::time_point now = Clock::now();
    Clock::time_point nextTick = now;
    ProgressHook hook;
    std::uint64_t hookVersion = ~std::uint64_t{0};
    bool stopBegun = false;
    Clock::time_point drainUntil{};

    // ---- the loop

    void run() {
        refreshHook();
        for (;;) {
            now = Clock::now();
            if (s.stopping_.load() && !stopBegun) {
                beginStop();
            }
            if (stopBegun && (open == 0 || now >= drainUntil)) {
                closeAll(HttpExchangeEnd::How::Stopped);
                freeClosed();
                return;
            }
            std::optional<Clock::time_point> deadline;
            if (open > 0 || acceptPausedUntil || stopBegun) {
                deadline = nextTick;
            }
            auto ready = ev.wait(deadline);
            now = Clock::now();
            if (!ready) {
                // Only EBADF/EINVAL-like failures: never a client's doing. Do not spin.
                ++s.counters_.internalErrors;
                spdlog::error("{}_LOOP_ERROR reason={}", s.logName_, ready.error().message);
                std::this_thread::sleep_for(kTick);
                continue;
            }
            for (const auto& e : ready->events) {
                guarded(e);
            }
            freeClosed();
            if (now >= nextTick) {
                try {
                    tick();
                } catch (const std::exception& ex) {
                    ++s.counters_.internalErrors;
                    spdlog::error("{}_INTERNAL_ERROR where=tick what={}", s.logName_, ex.what());
                } catch (...) {
                    ++s.counters_.internalErrors;
                }
                freeClosed();
                nextTick = now + kTick;
            }
        }
    }

    /// One event, whatever it throws contained to its connection.
    void guarded(const EventLoop::Event& e) {
        Conn* c = nullptr;
        try {
            if (e.tag == kListenTag) {
                acceptSome();
                return;
            }
            c = lookup(e.tag);
            if (c != nullptr) {
                onEvent(*c, e);
            }
        } catch (const std::exception& ex) {
            ++s.counters_.internalErrors;
            spdlog::error("{}_INTERNAL_ERROR what={}", s.logName_, ex.what());
            if (c != nullptr) {
                close(*c, HttpExchangeEnd::How::ReadError);
            }
        } catch (...) {
            ++s.counters_.internalErrors;
            if (c != nullptr) {
                close(*c, HttpExchangeEnd::How::ReadError);
            }
        }
    }

    Conn* lookup(EventLoop::Tag tag) {
        const auto slot = static_cast<std::uint32_t>(tag & 0xffffffffu);
        const auto gen = static_cast<std::uint32_t>(tag >> 32);
        if (slot >= slots.size() || !slots[slot] || slots[slot]->gen != gen ||
            slots[slot]->closed) {
            return nullptr;  // closed earlier in this batch
        }
        return slots[slot].get();
    }

    void onEvent(Conn& c, const EventLoop::Event& e) {
        switch (c.state) {
            case Conn::State::Reading:
                if (e.readable || e.hangup) {
                    readSome(c);
                }
                break;
            case Conn::State::Writing:
                if (e.writable || e.hangup) {
                    writeSome(c);
                    if (!c.closed && c.state == Conn::State::Reading) {
                        process(c);  // a pipelined request already in the buffer
                    }
                }
                break;
            case Conn::State::Lingering:
                if (e.readable || e.hangup) {
                    discard(c);
                }
                break;
        }
    }

    // ---- accepting

    void acceptSome() {
        for (int i = 0; i < kAcceptsPerTurn; ++i) {
            sockaddr_storage ss{};
            socklen_t len = sizeof(ss);
            Fd fd(::accept4(listen.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                            SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!fd) {
                const int err = errno;
                if (err == EAGAIN || err == EWOULDBLOCK) {
                    return;
                }
                if (err == EINTR || err == ECONNABORTED || err == EPROTO) {
                    continue;  // that connection is gone; the next may be fine
                }
                // Out of descriptors or memory: the listener would stay readable and
                // spin the loop. Pause accepting for a tick; the backlog holds the SYNs.
                ++s.counters_.acceptErrors;
                spdlog::warn("{}_ACCEPT_ERROR reason={} open={} (accepting again in {} ms)",
                             s.logName_, std::strerror(err), open, kTick.count());
                ev.unwatch(listen.get());
                acceptPausedUntil = now + kTick;
                return;
            }
            AddressKey key{};
            HttpPeer peer = peerOf(ss, key);
            if (open >= s.limits_.maxConnections) {
                ++s.counters_.refusedTotalCap;
                spdlog::info("{}_BUSY client={}:{} reason=connection cap ({})", s.logName_, peer.ip,
                             peer.port, s.limits_.maxConnections);
                refuse(fd.get());
                continue;
            }
            if (auto it = perAddress.find(key);
                it != perAddress.end() && it->second >= s.limits_.perAddress) {
                ++s.counters_.refusedOverCap;
                spdlog::info("{}_BUSY client={}:{} reason=per-address connection cap ({})",
                             s.logName_, peer.ip, peer.port, s.limits_.perAddress);
                refuse(fd.get());
                continue;
            }
            const int one = 1;
            // The response head leaves with MSG_MORE and the body's last bytes
            // without it, so no delay is needed to coalesce (and Nagle would hold a
            // response's tail for the client's delayed ACK).
            (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            // Unsent bytes queued per connection stay under kNotSentLowat (the socket
            // is writable again below it), while the bytes in flight still grow with
            // the path: without it each socket's send buffer autotunes to tcp_wmem's
            // 4 MiB, and a few hundred boards put the machine into TCP memory
            // pressure, which slows every connection (measured: bench/http-boot-bench.sh).
            (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &kNotSentLowat,
                               sizeof(kNotSentLowat));
            auto conn = std::make_unique<Conn>();
            if (freeSlots.empty()) {
                conn->slot = static_cast<std::uint32_t>(slots.size());
                slots.emplace_back();
            } else {
                conn->slot = freeSlots.back();
                freeSlots.pop_back();
            }
            conn->gen = nextGen(conn->slot);
            conn->sock = std::move(fd);
            conn->peer = std::move(peer);
            conn->key = key;
            conn->idleSince = now;
            if (auto r = ev.watch(conn->sock.get(), conn->tag()); !r) {
                ++s.counters_.internalErrors;
                freeSlots.push_back(conn->slot);
                refuse(conn->sock.get());
                continue;
            }
            ++perAddress[key];
            ++open;
            s.counters_.connections.store(open);
            slots[conn->slot] = std::move(conn);
        }
    }

    std::vector<std::uint32_t> gens;
    std::uint32_t nextGen(std::uint32_t slot) {
        if (gens.size() <= slot) {
            gens.resize(slot + 1, 0);
        }
        // Never 0xffffffff in the high half together with slot 0xfffffffe (kListenTag).
        gens[slot] = (gens[slot] + 1) & 0x7fffffffu;
        return gens[slot];
    }

    /// 503 on a fresh socket (its send buffer is empty, so this never blocks or
    /// splits), whatever request bytes already came read away, and closed.
    static void refuse(int fd) {
        (void)::send(fd, kBusyResponse.data(), kBusyResponse.size(), MSG_NOSIGNAL);
        (void)::shutdown(fd, SHUT_WR);
        std::array<char, 4096> sink{};
        for (int i = 0; i < 4 && ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT) > 0; ++i) {
        }
    }

    // ---- reading requests

    void readSome(Conn& c) {
        while (c.len < kBufferSize) {
            const auto n = ::recv(c.sock.get(), c.in.get() + c.len, kBufferSize - c.len, 0);
            if (n > 0) {
                if (!c.sawByte) {
                    c.sawByte = true;
                    c.firstByte = now;
                }
                c.len += static_cast<std::size_t>(n);
                continue;
            }
            if (n == 0) {
                c.peerEof = true;
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            close(c, HttpExchangeEnd::How::PeerClosed);
            return;
        }
        process(c);
        if (!c.closed && c.state == Conn::State::Reading && c.peerEof) {
            close(c, HttpExchangeEnd::How::PeerClosed);  // nothing more can come
        }
    }

    /// Answers every complete request in the buffer, in order (pipelining).
    void process(Conn& c) {
        while (!c.closed && c.state == Conn::State::Reading && c.len > 0) {
            const std::span<const std::uint8_t> data(c.in.get(), c.len);
            const auto end = c.scanner.scan(data);
            // Over the limit (found late when it came in one read): 414 if the request
            // line alone does not fit, else 431.
            const auto lineEnd = c.scanner.requestLineEnd();
            const auto tooLarge = !lineEnd || *lineEnd > proto::http::kMaxRequestHead
                                      ? RequestError::UriTooLong
                                      : RequestError::HeadTooLarge;
            if (!end) {
                if (c.len >= proto::http::kMaxRequestHead) {
                    badRequest(c, tooLarge);
                }
                return;
            }
            if (*end > proto::http::kMaxRequestHead) {
                badRequest(c, tooLarge);
                return;
            }
            auto req = proto::http::parseRequest(data.first(*end));
            if (!req) {
                badRequest(c, req.error());
                return;
            }
            if (req->contentLength > kMaxDiscardedBody) {
                ++s.counters_.badRequests;
                spdlog::debug("{}_BAD_REQUEST client={}:{} status=413 reason=body of {} bytes",
                              s.logName_, c.peer.ip, c.peer.port, req->contentLength);
                answerAndClose(c, 413);
                return;
            }
            if (c.len < *end + req->contentLength) {
                return;  // the (discarded) body is still coming, under the header deadline
            }
            c.consumed = *end + static_cast<std::size_t>(req->contentLength);
            respond(c, *req);
            if (!c.closed && c.state == Conn::State::Writing) {
                writeSome(c);
            }
        }
    }

    void badRequest(Conn& c, RequestError e) {
        ++s.counters_.badRequests;
        const int status = proto::http::statusFor(e);
        spdlog::debug("{}_BAD_REQUEST client={}:{} status={} reason={}", s.logName_, c.peer.ip,
                      c.peer.port, status, proto::http::toString(e));
        answerAndClose(c, status);
    }

    /// An answer without a body or a record; the connection ends after it.
    void answerAndClose(Conn& c, int status) {
        const std::array<std::pair<std::string_view, std::string>, 2> fields{
            {{"Content-Length", "0"}, {"Connection", "close"}}};
        c.out = proto::http::responseHead(status, fields);
        c.outPos = 0;
        c.closeAfter = true;
        c.state = Conn::State::Writing;
        c.lastProgress = now;
        writeSome(c);
    }

    void respond(Conn& c, const proto::http::Request& req) {
        ++c.requests;
        const bool last = !req.keepAlive || c.requests >= s.limits_.maxRequestsPerConnection ||
                          c.peerEof || stopBegun;
        const bool head = req.method == proto::http::Method::Head;
        HttpReply reply;
        if (req.method == proto::http::Method::Other) {
            // RFC 9110 15.5.6: 405 names the methods that are allowed.
            reply.status = 405;
            reply.fields.emplace_back("Allow", "GET, HEAD");
        } else {
            try {
                reply = s.handler_(req, c.peer);
            } catch (const std::exception& ex) {
                ++s.counters_.internalErrors;
                spdlog::error("{}_INTERNAL_ERROR client={}:{} what={}", s.logName_, c.peer.ip,
                              c.peer.port, ex.what());
                reply = HttpReply{};
                reply.status = 500;
            }
        }
        std::vector<std::pair<std::string_view, std::string>> fields;
        std::string body;
        c.fileOff = 0;
        c.fileEnd = 0;
        if (reply.file) {
            HttpExchangeEnd x;
            x.head = head;
            x.status = 200;
            std::uint64_t first = 0;
            std::uint64_t length = reply.fileSize;
            if (req.range && !head) {
                const auto a = proto::http::answerRange(*req.range, reply.fileSize);
                if (a.kind == proto::http::RangeAnswer::Kind::Partial) {
                    x.status = 206;
                    x.range = a.range;
                    first = a.range.first;
                    length = a.range.last - a.range.first + 1;
                    fields.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", first,
                                                                     a.range.last, reply.fileSize));
                } else if (a.kind == proto::http::RangeAnswer::Kind::Unsatisfiable) {
                    x.status = 416;  // RFC 9110 15.5.17: with the current length
                    length = 0;
                    fields.emplace_back("Content-Range", fmt::format("bytes */{}", reply.fileSize));
                }
            }
            fields.emplace_back("Content-Type",
                                x.status == 416 ? "text/plain" : "application/octet-stream");
            fields.emplace_back("Content-Length", std::to_string(length));
            fields.emplace_back("Accept-Ranges", "bytes");
            if (!head && length > 0) {
                c.file = std::move(reply.file);
                c.fileOff = first;
                c.fileEnd = first + length;
            }
            c.exchange = x;
            c.finished = std::move(reply.finished);
            reply.status = x.status;
        } else {
            if (!reply.body.empty()) {
                fields.emplace_back("Content-Type", "text/plain");
            }
            fields.emplace_back("Content-Length", std::to_string(reply.body.size()));
            if (!head) {
                body = std::move(reply.body);
            }
        }
        for (auto& f : reply.fields) {
            fields.push_back(std::move(f));
        }
        if (last) {
            fields.emplace_back("Connection", "close");
        } else {
            fields.emplace_back(
                "Keep-Alive",
                fmt::format(
                    "timeout={}, max={}",
                    std::chrono::duration_cast<std::chrono::seconds>(s.limits_.keepAlive).count(),
                    s.limits_.maxRequestsPerConnection - c.requests));
        }
        c.out = proto::http::responseHead(reply.status, fields);
        c.out += body;
        c.outPos = 0;
        c.closeAfter = last;
        c.state = Conn::State::Writing;
        c.lastProgress = now;
    }

    // ---- writing responses

    void writeSome(Conn& c) {
        std::uint64_t budget = kTurnBytes;
        while (!c.closed) {
            ssize_t n = 0;
            bool fromFile = false;
            if (c.outPos < c.out.size()) {
                // MSG_MORE: the head waits for the body's first bytes (one segment).
                const int flags = MSG_NOSIGNAL | (c.fileOff < c.fileEnd ? MSG_MORE : 0);
                n = ::send(c.sock.get(), c.out.data() + c.outPos, c.out.size() - c.outPos, flags);
            } else if (c.fileOff < c.fileEnd) {
                fromFile = true;
                auto off = static_cast<off_t>(c.fileOff);
                const auto want = std::min(c.fileEnd - c.fileOff, budget);
                n = ::sendfile(c.sock.get(), c.file.get(), &off, static_cast<std::size_t>(want));
                if (n == 0) {
                    // The file ended before its size: cut since it was opened.
                    close(c, HttpExchangeEnd::How::ReadError);
                    return;
                }
            } else {
                finishResponse(c);
                return;
            }
            if (n < 0) {
                const int err = errno;
                if (err == EINTR) {
                    continue;
                }
                if (err == EAGAIN || err == EWOULDBLOCK) {
                    want(c, EventLoop::Interest::Write);
                    return;
                }
                const bool peer = err == EPIPE || err == ECONNRESET || err == ENOTCONN ||
                                  err == ETIMEDOUT || err == EHOSTUNREACH || !fromFile;
                close(c, peer ? HttpExchangeEnd::How::PeerClosed : HttpExchangeEnd::How::ReadError);
                return;
            }
            const auto sent = static_cast<std::uint64_t>(n);
            if (fromFile) {
                c.fileOff += sent;
                c.exchange->bodyBytes += sent;
                c.unreported += sent;
            } else {
                c.outPos += static_cast<std::size_t>(n);
            }
            c.lastProgress = now;
            if (sent >= budget) {
                // Our share of this turn: the others get theirs; epoll (level-triggered)
                // reports the socket writable again next turn.
                want(c, EventLoop::Interest::Write);
                return;
            }
            budget -= sent;
        }
    }

    void finishResponse(Conn& c) {
        if (c.exchange) {
            auto x = *c.exchange;
            x.how = HttpExchangeEnd::How::Complete;
            notify(c, x);
        }
        c.file.reset();
        c.out.clear();
        c.outPos = 0;
        if (c.closeAfter) {
            startLinger(c);
            return;
        }
        // The next request: what the client sent after this one stays in the buffer.
        std::memmove(c.in.get(), c.in.get() + c.consumed, c.len - c.consumed);
        c.len -= c.consumed;
        c.consumed = 0;
        c.scanner.reset();
        c.sawByte = c.len > 0;
        c.firstByte = now;
        c.idleSince = now;
        c.state = Conn::State::Reading;
        want(c, EventLoop::Interest::Read);
    }

    /// Calls the reply's `finished` once, whatever it throws kept here.
    void notify(Conn& c, const HttpExchangeEnd& x) {
        c.exchange.reset();
        auto f = std::move(c.finished);
        c.finished = nullptr;
        if (!f) {
            return;
        }
        try {
            f(x);
        } catch (...) {
            ++s.counters_.internalErrors;
        }
    }

    void want(Conn& c, EventLoop::Interest interest) {
        if (c.interest == interest) {
            return;
        }
        if (auto r = ev.modify(c.sock.get(), c.tag(), interest); !r) {
            ++s.counters_.internalErrors;
            close(c, HttpExchangeEnd::How::ReadError);
            return;
        }
        c.interest = interest;
    }

    // ---- ending connections

    void startLinger(Conn& c) {
        (void)::shutdown(c.sock.get(), SHUT_WR);
        if (c.peerEof) {
            close(c, HttpExchangeEnd::How::Complete);
            return;
        }
        c.state = Conn::State::Lingering;
        c.lingerUntil = now + kLinger;
        c.len = 0;
        want(c, EventLoop::Interest::Read);
        if (!c.closed) {
            discard(c);
        }
    }

    void discard(Conn& c) {
        for (;;) {
            const auto n = ::recv(c.sock.get(), c.in.get(), kBufferSize, 0);
            if (n > 0) {
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            close(c, HttpExchangeEnd::How::Complete);  // EOF or reset: done
            return;
        }
    }

    /// Closes @p c now; a response in progress ends as @p how. The slot is freed
    /// after the current batch of events (a later event may name it).
    void close(Conn& c, HttpExchangeEnd::How how) {
        if (c.closed) {
            return;
        }
        c.closed = true;
        if (c.exchange) {
            auto x = *c.exchange;
            x.how = how;
            notify(c, x);
        }
        report(c);
        c.file.reset();
        c.sock.reset();  // also leaves the epoll set
        if (auto it = perAddress.find(c.key); it != perAddress.end() && --it->second == 0) {
            perAddress.erase(it);  // the map holds only addresses with open connections
        }
        --open;
        s.counters_.connections.store(open);
        toFree.push_back(c.slot);
    }

    void freeClosed() {
        for (const auto slot : toFree) {
            slots[slot].reset();
            freeSlots.push_back(slot);
        }
        toFree.clear();
    }

    void report(Conn& c) {
        if (c.unreported == 0 || !hook || !c.peer.ipv4) {
            c.unreported = 0;
            return;
        }
        const auto bytes = std::exchange(c.unreported, 0);
        try {
            hook(*c.peer.ipv4, bytes);
        } catch (...) {
            ++s.counters_.internalErrors;
        }
    }

    void closeAll(HttpExchangeEnd::How how) {
        for (auto& c : slots) {
            if (c && !c->closed) {
                close(*c, how);
            }
        }
    }

    void beginStop() {
        stopBegun = true;
        drainUntil = now + std::chrono::milliseconds(s.drainMs_.load());
        if (listen) {
            ev.unwatch(listen.get());
            listen.reset();
        }
        acceptPausedUntil.reset();
        for (auto& c : slots) {
            if (!c || c->closed) {
                continue;
            }
            if (c->state == Conn::State::Writing) {
                c->closeAfter = true;  // finish this response, then close
            } else {
                close(*c, HttpExchangeEnd::How::Stopped);
            }
        }
    }

    // ---- the tick: timeouts, the progress hook, accept retries

    void refreshHook() {
        if (const auto v = s.hookVersion_.load(); v != hookVersion) {
            std::lock_guard lock(s.hookMutex_);
            hook = s.hook_;
            hookVersion = v;
        }
    }

    void tick() {
        refreshHook();
        if (acceptPausedUntil && now >= *acceptPausedUntil && listen) {
            acceptPausedUntil.reset();
            if (auto r = ev.watch(listen.get(), kListenTag); !r) {
                acceptPausedUntil = now + kTick;
            }
        }
        const auto& l = s.limits_;
        for (auto& p : slots) {
            if (!p || p->closed) {
                continue;
            }
            Conn& c = *p;
            report(c);
            switch (c.state) {
                case Conn::State::Reading:
                    if (!c.sawByte) {
                        if (now - c.idleSince >= l.keepAlive) {
                            close(c, HttpExchangeEnd::How::Complete);  // idle: no answer owed
                        }
                    } else if (now - c.firstByte >= l.headerDeadline) {
                        ++s.counters_.headerTimeouts;
                        spdlog::info("{}_TIMEOUT client={}:{} reason=headers not complete in {} ms",
                                     s.logName_, c.peer.ip, c.peer.port, l.headerDeadline.count());
                        close(c, HttpExchangeEnd::How::Complete);
                    }
                    break;
                case Conn::State::Writing:
                    if (now - c.lastProgress >= l.ioTimeout) {
                        ++s.counters_.stalled;
                        spdlog::info(
                            "{}_STALLED client={}:{} reason=no progress for {} ms after "
                            "{} body bytes",
                            s.logName_, c.peer.ip, c.peer.port, l.ioTimeout.count(),
                            c.exchange ? c.exchange->bodyBytes : 0);
                        close(c, HttpExchangeEnd::How::Stalled);
                    }
                    break;
                case Conn::State::Lingering:
                    if (now >= c.lingerUntil) {
                        close(c, HttpExchangeEnd::How::Complete);
                    }
                    break;
            }
        }
    }
};

HttpFileServer::HttpFileServer(HttpLimits limits, std::string logName, Handler handler)
    : limits_(limits), logName_(std::move(logName)), handler_(std::move(handler)) {
    limits_.maxConnections = std::max<std::size_t>(limits_.maxConnections, 1);
    limits_.perAddress = std::max<std::size_t>(limits_.perAddress, 1);
    limits_.maxRequestsPerConnection = std::max<std::size_t>(limits_.maxRequestsPerConnection, 1);
}

HttpFileServer::~HttpFileServer() {
    stop(std::chrono::milliseconds(0));
}

Result<std::uint16_t> HttpFileServer::start(const std::string& host, std::uint16_t port) {
    if (thread_.joinable()) {
        return fail("already started");
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const auto service = std::to_string(port);
    if (const int rc =
            ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
        rc != 0) {
        return fail(fmt::format("{}: {}", host, ::gai_strerror(rc)));
    }
    Fd listener;
    std::string why = "no address";
    for (auto* ai = list; ai != nullptr && !listener; ai = ai->ai_next) {
        Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       ai->ai_protocol));
        const int one = 1;
        if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 ||
            ::listen(fd.get(), kListenBacklog) != 0) {
            why = std::strerror(errno);
            continue;
        }
        listener = std::move(fd);
    }
    ::freeaddrinfo(list);
    if (!listener) {
        return fail(why);
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    const auto bound = ss.ss_family == AF_INET6
                           ? ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port)
                           : ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
    auto ev = EventLoop::create(256);
    if (!ev) {
        return tl::unexpected(ev.error());
    }
    if (auto r = ev->watch(listener.get(), kListenTag); !r) {
        return tl::unexpected(r.error());
    }
    // A socket and a file per connection, and room for the rest of the process.
    const auto want = static_cast<rlim_t>(limits_.maxConnections * 2 + 256);
    if (const auto have = raiseOpenFileLimit(want); have < want) {
        spdlog::warn("{}_FD_LIMIT nofile={} wanted={}: past ~{} connections accept pauses",
                     logName_, have, want, have / 2);
    }
    stopping_ = false;
    loop_ = std::make_unique<Loop>(*this, std::move(*ev), std::move(listener));
    thread_ = std::thread([this] { run(); });
    return bound;
}

void HttpFileServer::run() {
    try {
        loop_->run();
    } catch (...) {
        // Unreachable by design (every turn is guarded); never let it end the process.
        ++counters_.internalErrors;
        spdlog::error("{}_LOOP_ERROR reason=loop ended by an exception", logName_);
    }
}

void HttpFileServer::stop(std::chrono::milliseconds drain) {
    if (!thread_.joinable()) {
        return;
    }
    drainMs_ = drain.count();
    stopping_ = true;
    loop_->ev.wake();
    thread_.join();
    loop_.reset();
}

void HttpFileServer::setProgressHook(ProgressHook hook) {
    std::lock_guard lock(hookMutex_);
    hook_ = std::move(hook);
    ++hookVersion_;
}

HttpFileServer::Counters HttpFileServer::counters() const {
    Counters c;
    c.refusedOverCap = counters_.refusedOverCap.load();
    c.refusedTotalCap = counters_.refusedTotalCap.load();
    c.headerTimeouts = counters_.headerTimeouts.load();
    c.badRequests = counters_.badRequests.load();
    c.stalled = counters_.stalled.load();
    c.internalErrors = counters_.internalErrors.load();
    c.acceptErrors = counters_.acceptErrors.load();
    c.connections = counters_.connections.load();
    return c;
}

}  // namespace pinet::io
