#include "app/tftp/tftp_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/fd.h"
#include "io/file_cache.h"
#include "io/udp_batch.h"
#include "proto/tftp/packet.h"

namespace pinet::app {

namespace ptftp = proto::tftp;
namespace ctftp = core::tftp;
using core::TransferRecord;
using Clock = std::chrono::steady_clock;

const char* toString(TftpRefusal r) {
    switch (r) {
        case TftpRefusal::Malformed: return "malformed";
        case TftpRefusal::Truncated: return "truncated";
        case TftpRefusal::WriteRequest: return "write_request";
        case TftpRefusal::BadMode: return "bad_mode";
        case TftpRefusal::BadPath: return "bad_path";
        case TftpRefusal::PathEscape: return "path_escape";
        case TftpRefusal::NotFound: return "not_found";
        case TftpRefusal::SpecialFile: return "special_file";
        case TftpRefusal::AccessDenied: return "access_denied";
        case TftpRefusal::RateLimited: return "rate_limited";
        case TftpRefusal::TooManyConcurrent: return "too_many_concurrent";
        case TftpRefusal::SourceTableFull: return "source_table_full";
        case TftpRefusal::ServerFull: return "server_full";
        case TftpRefusal::ShuttingDown: return "shutting_down";
        case TftpRefusal::DuplicateRequest: return "duplicate_request";
        case TftpRefusal::UnknownTid: return "unknown_tid";
        case TftpRefusal::UnexpectedPacket: return "unexpected_packet";
        case TftpRefusal::IoError: return "io_error";
        case TftpRefusal::kCount: break;
    }
    return "?";
}

namespace {

struct ClientKey {
    std::array<std::uint8_t, 16> addr{};
    std::uint16_t port = 0;
    bool operator==(const ClientKey&) const = default;
};
struct ClientKeyHash {
    std::size_t operator()(const ClientKey& k) const noexcept {
        std::uint64_t h = 1469598103934665603ull;
        for (auto b : k.addr) {
            h = (h ^ b) * 1099511628211ull;
        }
        h = (h ^ k.port) * 1099511628211ull;
        return static_cast<std::size_t>(h);
    }
};

ClientKey keyOf(const io::SockAddr& a) { return ClientKey{a.addressKey(), a.port()}; }

struct Session {
    ctftp::Transfer transfer;
    std::shared_ptr<const io::Blob> blob;
    std::size_t socketIndex = 0;
    io::SockAddr client;
    ctftp::SourceKey source{};
    core::WallTime startWall{};
    Clock::time_point startSteady{};
    std::string requestedPath;
    std::optional<std::string> serial;
    std::optional<std::string> mac;
};

}  // namespace

struct TftpServer::Impl {
    TftpServerConfig config;
    io::Fd rootFd;
    io::Fd listenFd;
    std::vector<io::Fd> replyFds;
    io::Fd epollFd;
    io::Fd wakeFd;
    io::SockAddr bound;
    io::FileCache cache;

    mutable std::mutex resolverMutex;
    std::shared_ptr<const ctftp::ClientDirectoryResolver> resolver;
    core::BootEventSink* sink = nullptr;

    // Loop-thread state.
    ctftp::SourceLimiter limiter;
    std::unordered_map<ClientKey, std::unique_ptr<Session>, ClientKeyHash> sessions;
    std::vector<std::unique_ptr<Session>> retired;  ///< finished, reaped after the flush
    io::RecvBatch recv;
    std::vector<io::SendQueue> queues;  ///< [0] = listen socket, [1 + i] = reply socket i
    std::size_t nextSocket = 0;
    std::uint64_t dropCounter = 0;
    Clock::time_point earliestDeadline = Clock::time_point::max();
    Clock::time_point nextExpire{};
    TftpCounters local;  ///< updated by the loop, published once per turn
    std::uint64_t lastTurnPackets = 0;

    mutable std::mutex publishedMutex;
    TftpCounters published;
    ctftp::UnknownClientLog unknown;  ///< guarded by publishedMutex

    std::thread thread;
    std::atomic<bool> stopRequested{false};
    std::atomic<std::int64_t> drainMillis{0};

    void run();
    void handleListen(const io::SockAddr& from, std::span<const std::uint8_t> bytes,
                      Clock::time_point now);
    void handleReply(std::size_t socketIndex, const io::SockAddr& from,
                     std::span<const std::uint8_t> bytes, Clock::time_point now);
    void handleRrq(const io::SockAddr& from, const ptftp::Request& req, Clock::time_point now);
    void refuse(TftpRefusal why, const io::SockAddr& to, ptftp::ErrorCode code,
                std::string_view message, const ptftp::Request* req,
                TransferRecord::Result result, const std::optional<std::string>& serial = {},
                const std::optional<std::string>& mac = {});
    void emit(Session& s, const ctftp::Emit& e);
    void endSession(ClientKey key);
    void retire(std::unique_ptr<Session> s);
    void scanTimers(Clock::time_point now);
    void flush();
    void endFaulted(const std::vector<const std::uint8_t*>& faulted);
    void reap();
    void publish();
    void record(const TransferRecord& rec);
    std::size_t pickSocket();
    void count(TftpRefusal r) { ++local.refused[static_cast<std::size_t>(r)]; }
};

Result<std::unique_ptr<TftpServer>> TftpServer::create(TftpServerConfig config) {
    auto impl = std::make_unique<Impl>();
    impl->limiter = ctftp::SourceLimiter(config.source);
    if (config.root.empty()) {
        return fail("tftp: no root directory given");
    }
    impl->rootFd = io::Fd(::open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!impl->rootFd) {
        return fail(fmt::format("tftp root {}: {}", config.root.string(), std::strerror(errno)));
    }
    if (!config.defaultDir.empty()) {
        auto clean = ctftp::sanitizePath(config.defaultDir);
        if (!clean) {
            return fail(fmt::format("tftp default dir '{}': {} (give a folder relative to the root)",
                                    config.defaultDir, ctftp::toString(clean.error())));
        }
        config.defaultDir = *clean;
        struct stat st{};
        if (::fstatat(impl->rootFd.get(), clean->c_str(), &st, 0) != 0 || !S_ISDIR(st.st_mode)) {
            return fail(fmt::format("tftp default dir '{}': not a directory under {}",
                                    config.defaultDir, config.root.string()));
        }
    }
    auto addr = io::parseEndpoint(config.listen);
    if (!addr) {
        return fail(addr.error().message);
    }
    auto listenFd = io::bindUdp(*addr, config.socketBufferBytes);
    if (!listenFd) {
        return fail("tftp: " + listenFd.error().message);
    }
    impl->listenFd = std::move(*listenFd);
    auto bound = io::localAddress(impl->listenFd.get());
    if (!bound) {
        return fail("tftp: " + bound.error().message);
    }
    impl->bound = *bound;
    // Reply sockets: same address, ephemeral ports (the server's TIDs).
    io::SockAddr ephemeral = addr->withPort(0);
    std::size_t n = std::max<std::size_t>(1, config.replySockets);
    for (std::size_t i = 0; i < n; ++i) {
        auto fd = io::bindUdp(ephemeral, config.socketBufferBytes);
        if (!fd) {
            return fail("tftp reply socket: " + fd.error().message);
        }
        impl->replyFds.push_back(std::move(*fd));
    }
    impl->queues.resize(n + 1);
    impl->epollFd = io::Fd(::epoll_create1(EPOLL_CLOEXEC));
    impl->wakeFd = io::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!impl->epollFd || !impl->wakeFd) {
        return fail(fmt::format("tftp: epoll/eventfd: {}", std::strerror(errno)));
    }
    auto add = [&](int fd, std::uint64_t tag) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        return ::epoll_ctl(impl->epollFd.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
    };
    // Tags: 0 = wake, 1 = listen, 2 + i = reply socket i.
    bool ok = add(impl->wakeFd.get(), 0) && add(impl->listenFd.get(), 1);
    for (std::size_t i = 0; i < n; ++i) {
        ok = ok && add(impl->replyFds[i].get(), 2 + i);
    }
    if (!ok) {
        return fail(fmt::format("tftp: epoll_ctl: {}", std::strerror(errno)));
    }
    impl->config = std::move(config);
    return std::unique_ptr<TftpServer>(new TftpServer(std::move(impl)));
}

TftpServer::TftpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TftpServer::~TftpServer() { stop(std::chrono::milliseconds(0)); }

std::string TftpServer::listenAddress() const { return impl_->bound.toString(); }
std::uint16_t TftpServer::port() const { return impl_->bound.port(); }

void TftpServer::setResolver(std::shared_ptr<const ctftp::ClientDirectoryResolver> resolver) {
    std::lock_guard lock(impl_->resolverMutex);
    impl_->resolver = std::move(resolver);
}

void TftpServer::setEventSink(core::BootEventSink* sink) { impl_->sink = sink; }

void TftpServer::start() {
    if (!impl_->thread.joinable()) {
        impl_->thread = std::thread([this] { impl_->run(); });
    }
}

void TftpServer::stop(std::chrono::milliseconds drain) {
    if (!impl_->thread.joinable()) {
        return;
    }
    impl_->drainMillis = drain.count();
    impl_->stopRequested = true;
    std::uint64_t one = 1;
    [[maybe_unused]] auto rc = ::write(impl_->wakeFd.get(), &one, sizeof(one));
    impl_->thread.join();
}

TftpCounters TftpServer::counters() const {
    std::lock_guard lock(impl_->publishedMutex);
    return impl_->published;
}

std::vector<ctftp::UnknownClientLog::Entry> TftpServer::unknownClients() const {
    std::lock_guard lock(impl_->publishedMutex);
    return impl_->unknown.entries();
}

// ---- the loop -----------------------------------------------------------

void TftpServer::Impl::run() {
    // Room for every socket: the coalescing path lists them all.
    std::vector<epoll_event> events(std::max<std::size_t>(16, 2 + replyFds.size()));
    bool draining = false;
    Clock::time_point drainDeadline{};
    for (;;) {
        auto now = Clock::now();
        if (stopRequested && !draining) {
            draining = true;
            drainDeadline = now + std::chrono::milliseconds(drainMillis.load());
        }
        if (draining && (sessions.empty() || now >= drainDeadline)) {
            break;
        }
        int timeoutMs = -1;
        auto wakeAt = earliestDeadline;
        if (draining) {
            wakeAt = std::min(wakeAt, drainDeadline);
        }
        if (!sessions.empty()) {
            // Bounded so the limiter table is expired even when idle.
            wakeAt = std::min(wakeAt, now + std::chrono::seconds(1));
        }
        if (wakeAt != Clock::time_point::max()) {
            auto ms = std::chrono::ceil<std::chrono::milliseconds>(wakeAt - now).count();
            timeoutMs = static_cast<int>(std::clamp<std::int64_t>(ms, 0, 60000));
        }
        int n = 0;
        if (lastTurnPackets >= config.coalesceThreshold && config.coalesce.count() > 0 &&
            sessions.size() >= config.coalesceMinTransfers && timeoutMs != 0) {
            timespec ts{0, static_cast<long>(config.coalesce.count()) * 1000};
            ::nanosleep(&ts, nullptr);
            ++local.coalescePauses;
            // Under load every socket has datagrams after the pause: drain
            // them all without asking epoll (one syscall less per turn).
            events[0].data.u64 = 0;
            n = 1;
            for (std::size_t i = 0; i < replyFds.size(); ++i) {
                events[static_cast<std::size_t>(n++)].data.u64 = 2 + i;
            }
            events[static_cast<std::size_t>(n++)].data.u64 = 1;
        } else {
            n = ::epoll_wait(epollFd.get(), events.data(), static_cast<int>(events.size()),
                             timeoutMs);
        }
        std::uint64_t packetsBefore = local.packetsIn;
        if (n < 0 && errno != EINTR) {
            spdlog::error("tftp: epoll_wait: {}", std::strerror(errno));
            break;
        }
        // New requests last: a client that ends a transfer (ERROR, last ACK) and
        // asks again from the same port in the same turn must find it ended, or
        // its RRQ would be taken for a retransmission of the old one.
        std::stable_partition(events.begin(), events.begin() + std::max(n, 0),
                              [](const epoll_event& e) { return e.data.u64 != 1; });
        now = Clock::now();
        for (int i = 0; i < n; ++i) {
            std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
            if (tag == 0) {
                std::uint64_t v = 0;
                [[maybe_unused]] auto rc = ::read(wakeFd.get(), &v, sizeof(v));
                continue;
            }
            int fd = tag == 1 ? listenFd.get() : replyFds[tag - 2].get();
            // Drain, but bounded per turn so one busy socket cannot starve
            // the timers and the other sockets.
            for (int round = 0; round < 16; ++round) {
                int got = recv.receive(fd);
                if (got <= 0) {
                    break;
                }
                for (unsigned k = 0; k < static_cast<unsigned>(got); ++k) {
                    ++local.packetsIn;
                    if (recv.truncated(k)) {
                        count(TftpRefusal::Truncated);
                        continue;
                    }
                    if (tag == 1) {
                        handleListen(recv.from(k), recv.data(k), now);
                    } else {
                        handleReply(tag - 2, recv.from(k), recv.data(k), now);
                    }
                }
                if (got < static_cast<int>(io::RecvBatch::kSlots)) {
                    break;
                }
            }
        }
        if (now >= earliestDeadline) {
            scanTimers(now);
        }
        if (now >= nextExpire) {
            limiter.expire(now);
            nextExpire = now + std::chrono::seconds(10);
        }
        lastTurnPackets = local.packetsIn - packetsBefore;
        // Counters first, so that whoever sees our replies sees them counted.
        publish();
        flush();
        reap();
    }
    // Drain time is over: whatever is left is aborted and reported.
    for (auto& [key, s] : sessions) {
        s->transfer.abort(TransferRecord::Result::ServerError, "server shutting down");
        retire(std::move(s));
    }
    sessions.clear();
    reap();
    publish();
}

std::size_t TftpServer::Impl::pickSocket() {
    std::size_t i = nextSocket;
    nextSocket = (nextSocket + 1) % replyFds.size();
    return i;
}

void TftpServer::Impl::handleListen(const io::SockAddr& from, std::span<const std::uint8_t> bytes,
                                    Clock::time_point now) {
    auto packet = ptftp::parse(bytes);
    if (!packet) {
        count(TftpRefusal::Malformed);
        return;
    }
    auto* req = std::get_if<ptftp::Request>(&*packet);
    if (req == nullptr) {
        count(TftpRefusal::UnexpectedPacket);
        return;
    }
    if (stopRequested) {
        count(TftpRefusal::ShuttingDown);
        return;
    }
    handleRrq(from, *req, now);
}

void TftpServer::Impl::refuse(TftpRefusal why, const io::SockAddr& to, ptftp::ErrorCode code,
                              std::string_view message, const ptftp::Request* req,
                              TransferRecord::Result result,
                              const std::optional<std::string>& serial,
                              const std::optional<std::string>& mac) {
    count(why);
    // One ERROR, never retransmitted (RFC 1350 section 7), from a reply port.
    queues[1 + pickSocket()].pushOwned(to, ptftp::buildError(code, message));
    if (req != nullptr) {
        TransferRecord rec;
        rec.result = result;
        rec.start = std::chrono::system_clock::now();
        rec.clientAddr = to.toString();
        rec.requestedPath = req->filename;
        rec.serial = serial;
        rec.mac = mac;
        rec.detail = fmt::format("{}: {}", toString(why), message);
        record(rec);
    }
}

void TftpServer::Impl::handleRrq(const io::SockAddr& from, const ptftp::Request& req,
                                 Clock::time_point now) {
    auto source = from.addressKey();
    auto verdict = limiter.admit(source, now);
    if (verdict != ctftp::SourceLimiter::Verdict::Ok) {
        // Dropped silently: answering a flood is what a reflector does, and a
        // Pi simply retransmits its RRQ ~2 s later (spec 4.1).
        count(verdict == ctftp::SourceLimiter::Verdict::RateLimited ? TftpRefusal::RateLimited
              : verdict == ctftp::SourceLimiter::Verdict::TooManyConcurrent
                  ? TftpRefusal::TooManyConcurrent
                  : TftpRefusal::SourceTableFull);
        return;
    }
    // From here on the slot is ours; every early return gives it back.
    struct SlotGuard {
        ctftp::SourceLimiter& lim;
        const ctftp::SourceKey& key;
        bool keep = false;
        ~SlotGuard() {
            if (!keep) {
                lim.release(key);
            }
        }
    } guard{limiter, source};

    ClientKey key = keyOf(from);
    if (auto it = sessions.find(key); it != sessions.end()) {
        Session& old = *it->second;
        if (!old.transfer.clientAnswered() && old.requestedPath == req.filename &&
            req.opcode == ptftp::Opcode::Rrq) {
            // The same RRQ again before our first reply arrived: our own timer
            // retransmits; a second transfer would double the traffic.
            count(TftpRefusal::DuplicateRequest);
            return;
        }
        // The client started over from the same port: the old transfer is dead.
        old.transfer.abort(TransferRecord::Result::ClientError, "superseded by a new request");
        endSession(key);
    }
    if (req.opcode == ptftp::Opcode::Wrq) {
        refuse(TftpRefusal::WriteRequest, from, ptftp::ErrorCode::AccessViolation,
               "Server is read-only", &req, TransferRecord::Result::Refused);
        return;
    }
    if (req.mode == ptftp::Mode::Mail) {
        refuse(TftpRefusal::BadMode, from, ptftp::ErrorCode::IllegalOperation,
               "Mail mode not supported", &req, TransferRecord::Result::Refused);
        return;
    }
    std::shared_ptr<const ctftp::ClientDirectoryResolver> res;
    {
        std::lock_guard lock(resolverMutex);
        res = resolver;
    }
    auto mapped = ctftp::mapRequest(req.filename, res.get(), config.defaultDir);
    if (!mapped) {
        auto e = mapped.error();
        bool escape = e == ctftp::PathError::DotDot || e == ctftp::PathError::Absolute ||
                      e == ctftp::PathError::Backslash;
        refuse(escape ? TftpRefusal::PathEscape : TftpRefusal::BadPath, from,
               ptftp::ErrorCode::AccessViolation, "Access violation", &req,
               TransferRecord::Result::Refused);
        spdlog::debug("tftp: {} refused '{}': {}", from.toString(), req.filename,
                      ctftp::toString(e));
        return;
    }
    if (mapped->unknownClient) {
        std::lock_guard lock(publishedMutex);
        bool isMac = mapped->mac.has_value();
        if (unknown.record(isMac ? *mapped->mac : *mapped->serial, isMac, from.toString(),
                           std::chrono::system_clock::now())) {
            spdlog::info("tftp: unknown client {} {} from {}{}", isMac ? "MAC" : "serial",
                         isMac ? *mapped->mac : *mapped->serial, from.toString(),
                         mapped->usedDefault ? " (served from the default directory)" : "");
        }
    }
    if (sessions.size() >= config.maxTransfers) {
        count(TftpRefusal::ServerFull);
        return;  // dropped: the client retransmits once there is room
    }
    auto blob = cache.get(rootFd.get(), mapped->path, req.mode == ptftp::Mode::Netascii);
    if (!blob) {
        switch (blob.error()) {
            case io::OpenError::NotFound:
                refuse(TftpRefusal::NotFound, from, ptftp::ErrorCode::FileNotFound,
                       "File not found", &req, TransferRecord::Result::NotFound, mapped->serial,
                       mapped->mac);
                break;
            case io::OpenError::Escape:
                refuse(TftpRefusal::PathEscape, from, ptftp::ErrorCode::AccessViolation,
                       "Access violation", &req, TransferRecord::Result::Refused, mapped->serial,
                       mapped->mac);
                break;
            case io::OpenError::NotRegular:
                refuse(TftpRefusal::SpecialFile, from, ptftp::ErrorCode::AccessViolation,
                       "Not a regular file", &req, TransferRecord::Result::Refused,
                       mapped->serial, mapped->mac);
                break;
            case io::OpenError::AccessDenied:
                refuse(TftpRefusal::AccessDenied, from, ptftp::ErrorCode::AccessViolation,
                       "Access violation", &req, TransferRecord::Result::Refused, mapped->serial,
                       mapped->mac);
                break;
            case io::OpenError::TooLarge:
            case io::OpenError::Io:
                refuse(TftpRefusal::IoError, from, ptftp::ErrorCode::NotDefined,
                       "Server cannot read the file", &req, TransferRecord::Result::ServerError,
                       mapped->serial, mapped->mac);
                break;
        }
        return;
    }
    auto size = (*blob)->bytes().size();
    auto opts = ptftp::interpretOptions(req.options);
    auto neg = ctftp::negotiate(opts, size, config.transfer);
    auto session = std::unique_ptr<Session>(new Session{
        ctftp::Transfer(size, std::move(neg), config.transfer), std::move(*blob), pickSocket(),
        from, source, std::chrono::system_clock::now(), now, req.filename, mapped->serial,
        mapped->mac});
    guard.keep = true;
    ++local.transfersStarted;
    auto e = session->transfer.start(now);
    emit(*session, e);
    earliestDeadline = std::min(earliestDeadline, session->transfer.deadline());
    sessions.emplace(key, std::move(session));
}

void TftpServer::Impl::handleReply(std::size_t socketIndex, const io::SockAddr& from,
                                   std::span<const std::uint8_t> bytes, Clock::time_point now) {
    ClientKey key = keyOf(from);
    auto it = sessions.find(key);
    if (it == sessions.end() || it->second->socketIndex != socketIndex) {
        // RFC 1350 section 4 suggests ERROR 5 here; we stay silent so a
        // spoofed source gets nothing beyond the bounded first reply.
        count(TftpRefusal::UnknownTid);
        return;
    }
    Session& s = *it->second;
    auto packet = ptftp::parse(bytes);
    if (!packet) {
        count(TftpRefusal::Malformed);
        return;
    }
    if (auto* ack = std::get_if<ptftp::Ack>(&*packet)) {
        emit(s, s.transfer.onAck(ack->block, now));
        // The adaptive timeout can put this deadline before every other one.
        earliestDeadline = std::min(earliestDeadline, s.transfer.deadline());
    } else if (auto* err = std::get_if<ptftp::ErrorPacket>(&*packet)) {
        s.transfer.onError(err->code, err->message, now);
    } else {
        count(TftpRefusal::UnexpectedPacket);
        return;
    }
    if (s.transfer.done()) {
        endSession(key);
    }
}

void TftpServer::Impl::emit(Session& s, const ctftp::Emit& e) {
    auto& q = queues[1 + s.socketIndex];
    if (e.oack) {
        q.pushOwned(s.client, ptftp::buildOack(s.transfer.negotiated().oack));
    }
    auto content = s.blob->bytes();
    for (std::uint32_t i = 0; i < e.blockCount; ++i) {
        std::uint64_t block = e.firstBlock + i;
        std::array<std::uint8_t, ptftp::kDataHeaderSize> hdr{};
        ptftp::writeDataHeader(hdr.data(), ctftp::Transfer::wireBlock(block));
        q.push(s.client, hdr,
               content.subspan(static_cast<std::size_t>(s.transfer.blockOffset(block)),
                               s.transfer.blockLength(block)));
    }
}

void TftpServer::Impl::endSession(ClientKey key) {
    auto it = sessions.find(key);
    if (it == sessions.end()) {
        return;
    }
    retire(std::move(it->second));
    sessions.erase(it);
}

void TftpServer::Impl::retire(std::unique_ptr<Session> s) {
    // Counted now; reported and freed after the flush, because queued packets
    // may still point into its mapping.
    local.retransmits += s->transfer.retransmits();
    ++local.finished[static_cast<std::size_t>(s->transfer.result())];
    limiter.release(s->source);
    retired.push_back(std::move(s));
}

void TftpServer::Impl::scanTimers(Clock::time_point now) {
    auto earliest = Clock::time_point::max();
    std::vector<ClientKey> finished;
    for (auto& [key, s] : sessions) {
        if (s->transfer.deadline() <= now) {
            emit(*s, s->transfer.onTimeout(now));
            if (s->transfer.done()) {
                finished.push_back(key);
                continue;
            }
        }
        earliest = std::min(earliest, s->transfer.deadline());
    }
    for (const auto& key : finished) {
        endSession(key);
    }
    earliestDeadline = earliest;
}

void TftpServer::Impl::flush() {
    for (std::size_t i = 0; i < queues.size(); ++i) {
        if (queues[i].empty()) {
            continue;
        }
        int fd = i == 0 ? listenFd.get() : replyFds[i - 1].get();
        auto r = queues[i].flush(fd, config.testDropEvery, dropCounter);
        local.packetsOut += r.sent;
        local.packetsOutSegmented += r.segmented;
        local.sendFailures += r.failed;
        local.testDropped += r.dropped;
        local.bytesOut += r.bytes;
        if (!r.faulted.empty()) {
            endFaulted(r.faulted);
        }
    }
}

void TftpServer::Impl::endFaulted(const std::vector<const std::uint8_t*>& faulted) {
    // Rare (a boot file truncated in place while served), so a scan of the sessions
    // is fine. Retrying would fail the same way: tell the client and end the transfer.
    std::vector<ClientKey> hit;
    for (auto& [key, s] : sessions) {
        const auto bytes = s->blob->bytes();
        for (const auto* p : faulted) {
            if (!bytes.empty() && p >= bytes.data() && p < bytes.data() + bytes.size()) {
                hit.push_back(key);
                break;
            }
        }
    }
    for (const auto& key : hit) {
        auto it = sessions.find(key);
        if (it == sessions.end()) {
            continue;
        }
        Session& s = *it->second;
        count(TftpRefusal::IoError);
        queues[1 + s.socketIndex].pushOwned(
            s.client, ptftp::buildError(ptftp::ErrorCode::NotDefined, "File changed while being read"));
        s.transfer.abort(TransferRecord::Result::ServerError,
                         "file shrank while being served (truncated in place?)");
        endSession(key);
    }
}

void TftpServer::Impl::reap() {
    for (auto& s : retired) {
        const auto& t = s->transfer;
        TransferRecord rec;
        rec.result = t.result();
        rec.start = s->startWall;
        rec.duration =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s->startSteady);
        rec.clientAddr = s->client.toString();
        rec.requestedPath = s->requestedPath;
        rec.serial = s->serial;
        rec.mac = s->mac;
        rec.fileSize = s->blob->bytes().size();
        rec.bytes = t.result() == TransferRecord::Result::Ok ? rec.fileSize : t.bytesAcked();
        rec.blockSize = t.negotiated().blockSize;
        rec.windowSize = t.negotiated().windowSize;
        rec.detail = t.detail();
        record(rec);
    }
    retired.clear();
}

void TftpServer::Impl::record(const TransferRecord& rec) {
    if (sink != nullptr) {
        sink->onEvent(core::BootEvent{rec});
    }
}

void TftpServer::Impl::publish() {
    local.transfersActive = sessions.size();
    auto cs = cache.stats();
    local.cacheHits = cs.hits;
    local.cacheMisses = cs.misses;
    std::lock_guard lock(publishedMutex);
    published = local;
}

// ---- folder resolver ----------------------------------------------------

std::optional<std::string> FolderClientResolver::lookup(std::string_view name) const {
    std::error_code ec;
    if (std::filesystem::is_directory(root_ / std::string(name), ec)) {
        return std::string(name);
    }
    return std::nullopt;
}

std::optional<std::string> FolderClientResolver::directoryForSerial(std::string_view serial) const {
    return lookup(serial);
}

std::optional<std::string> FolderClientResolver::directoryForMac(std::string_view mac) const {
    return lookup(mac);
}

}  // namespace pinet::app
