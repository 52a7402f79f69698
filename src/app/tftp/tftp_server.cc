#include "app/tftp/tftp_server.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/fd.h"
#include "io/file_cache.h"
#include "io/net/event_loop.h"
#include "io/udp_batch.h"

namespace pinet::app {

namespace ctftp = core::tftp;
using Clock = std::chrono::steady_clock;

namespace {

/// Event-loop tags: the listen socket, then reply socket i as kReplyTag + i.
constexpr io::EventLoop::Tag kListenTag = 0;
constexpr io::EventLoop::Tag kReplyTag = 1;
/// recvmmsg calls per socket per turn: drains a busy socket, but bounded so
/// one socket cannot starve the timers and the others.
constexpr int kReceiveRounds = 16;

ctftp::Instant instantNow() {
    return {Clock::now(), std::chrono::system_clock::now()};
}

}  // namespace

struct TftpServer::Impl {
    TftpServerConfig config;
    io::Fd listenFd;
    std::vector<io::Fd> replyFds;
    io::SockAddr bound;
    io::EventLoop loop;
    std::unique_ptr<io::FileCache> cache;  ///< the engine's FileSource
    std::unique_ptr<ctftp::TftpEngine> engine;
    core::BootEventSink* sink = nullptr;

    // Handed over from other threads, taken by the loop at the start of a turn.
    std::mutex resolverMutex;
    std::shared_ptr<const ctftp::ClientDirectoryResolver> pendingResolver;
    std::atomic<bool> resolverChanged{false};

    // Loop-thread state.
    io::RecvBatch recv;
    std::vector<io::SendQueue> queues;  ///< [i] = reply socket i
    std::uint64_t dropCounter = 0;
    TftpCounters socketCounters;  ///< the I/O fields, merged into the engine's on publish
    std::uint64_t lastTurnPackets = 0;
    std::vector<io::EventLoop::Tag> tags;  ///< reply sockets to drain this turn

    mutable std::mutex publishedMutex;
    TftpCounters published;
    ctftp::UnknownClientLog unknown;  ///< guarded by publishedMutex

    std::thread thread;
    std::atomic<bool> stopRequested{false};
    std::atomic<std::int64_t> drainMillis{0};

    explicit Impl(io::EventLoop l) : loop(std::move(l)) {}

    void run();
    void receiveFrom(io::EventLoop::Tag tag, const ctftp::Instant& now);
    /// Sends the outbox; true if a send fault made the engine end transfers.
    bool flush();
    void sendQueued();
    /// Publishes counters, sends the outbox, ends the engine's turn and hands
    /// its records and unknown clients on.
    void finishTurn(const ctftp::Instant& now);
    void publish();
};

Result<std::unique_ptr<TftpServer>> TftpServer::create(TftpServerConfig config) {
    if (config.root.empty()) {
        return fail("tftp: no root directory given");
    }
    auto rootFd = io::openRoot(config.root.string());
    if (!rootFd) {
        return fail("tftp root " + rootFd.error().message);
    }
    if (!config.defaultDir.empty()) {
        auto clean = ctftp::sanitizePath(config.defaultDir);
        if (!clean) {
            return fail(
                fmt::format("tftp default dir '{}': {} (give a folder relative to the root)",
                            config.defaultDir, ctftp::toString(clean.error())));
        }
        config.defaultDir = *clean;
        if (!io::isDirectoryBeneath(rootFd->get(), *clean)) {
            return fail(fmt::format("tftp default dir '{}': not a directory under {}",
                                    config.defaultDir, config.root.string()));
        }
    }
    auto loop = io::EventLoop::create();
    if (!loop) {
        return fail("tftp: " + loop.error().message);
    }
    auto impl = std::make_unique<Impl>(std::move(*loop));
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
    const io::SockAddr ephemeral = addr->withPort(0);
    config.replySockets = std::max<std::size_t>(1, config.replySockets);
    for (std::size_t i = 0; i < config.replySockets; ++i) {
        auto fd = io::bindUdp(ephemeral, config.socketBufferBytes);
        if (!fd) {
            return fail("tftp reply socket: " + fd.error().message);
        }
        impl->replyFds.push_back(std::move(*fd));
    }
    impl->queues.resize(config.replySockets);
    auto watched = impl->loop.watch(impl->listenFd.get(), kListenTag);
    for (std::size_t i = 0; watched && i < config.replySockets; ++i) {
        watched = impl->loop.watch(impl->replyFds[i].get(), kReplyTag + i);
    }
    if (!watched) {
        return fail("tftp: " + watched.error().message);
    }
    impl->cache = std::make_unique<io::FileCache>(std::move(*rootFd), io::FileCache::Options{});
    ctftp::EngineConfig ec;
    ec.transfer = config.transfer;
    ec.source = config.source;
    ec.defaultDir = config.defaultDir;
    ec.maxTransfers = config.maxTransfers;
    ec.replySockets = config.replySockets;
    impl->engine = std::make_unique<ctftp::TftpEngine>(std::move(ec), *impl->cache);
    impl->config = std::move(config);
    return std::unique_ptr<TftpServer>(new TftpServer(std::move(impl)));
}

TftpServer::TftpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TftpServer::~TftpServer() {
    stop(std::chrono::milliseconds(0));
}

std::string TftpServer::listenAddress() const {
    return impl_->bound.toString();
}
std::uint16_t TftpServer::port() const {
    return impl_->bound.port();
}

void TftpServer::setResolver(std::shared_ptr<const ctftp::ClientDirectoryResolver> resolver) {
    {
        std::lock_guard lock(impl_->resolverMutex);
        impl_->pendingResolver = std::move(resolver);
    }
    // Taken by the loop at its next turn (at once if it is waiting on input).
    impl_->resolverChanged = true;
    impl_->loop.wake();
}

void TftpServer::setEventSink(core::BootEventSink* sink) {
    impl_->sink = sink;
}

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
    impl_->loop.wake();
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
    bool draining = false;
    Clock::time_point drainDeadline{};
    for (;;) {
        const auto before = Clock::now();
        if (stopRequested && !draining) {
            draining = true;
            drainDeadline = before + std::chrono::milliseconds(drainMillis.load());
            engine->stopAccepting();
        }
        if (draining && (engine->activeTransfers() == 0 || before >= drainDeadline)) {
            break;
        }
        auto wakeAt = engine->nextDeadline(before);
        if (draining) {
            wakeAt = std::min(wakeAt, drainDeadline);
        }
        const bool coalesce =
            lastTurnPackets >= config.coalesceThreshold && config.coalesce.count() > 0 &&
            engine->activeTransfers() >= config.coalesceMinTransfers && wakeAt > before;
        // Tags to drain this turn. Replies first, the listen socket last: a
        // client that ends a transfer (ERROR, last ACK) and asks again from the
        // same port in the same turn must find it ended, or its RRQ would be
        // taken for a retransmission of the old one.
        tags.clear();
        bool listenReady = false;
        if (coalesce) {
            std::this_thread::sleep_for(config.coalesce);
            ++socketCounters.coalescePauses;
            // Under load every socket has datagrams after the pause: drain
            // them all without asking epoll (one syscall less per turn).
            for (std::size_t i = 0; i < replyFds.size(); ++i) {
                tags.push_back(kReplyTag + i);
            }
            listenReady = true;
        } else {
            auto ready = loop.wait(wakeAt == Clock::time_point::max()
                                       ? std::optional<Clock::time_point>{}
                                       : std::optional<Clock::time_point>{wakeAt});
            if (!ready) {
                spdlog::error("tftp: {}", ready.error().message);
                break;
            }
            for (auto tag : ready->tags) {
                if (tag == kListenTag) {
                    listenReady = true;
                } else {
                    tags.push_back(tag);
                }
            }
        }
        if (resolverChanged.exchange(false)) {
            std::lock_guard lock(resolverMutex);
            engine->setResolver(pendingResolver);
        }
        const std::uint64_t packetsBefore = engine->counters().packetsIn;
        const auto now = instantNow();
        // The engine returns errors as values; this guard is the last line, so that
        // nothing (an allocation failure, a resolver's exception) ends the thread and
        // with it TFTP for every board. The turn's unsent output is dropped; the
        // clients' retransmissions recover it.
        try {
            for (auto tag : tags) {
                receiveFrom(tag, now);
            }
            if (listenReady) {
                receiveFrom(kListenTag, now);
            }
            engine->tick(now);
            lastTurnPackets = engine->counters().packetsIn - packetsBefore;
            finishTurn(now);
        } catch (const std::exception& e) {
            ++socketCounters.internalErrors;
            spdlog::error("tftp: loop turn skipped: {}", e.what());
            engine->outbox().datagrams.clear();
        }
    }
    // Drain time is over: whatever is left is aborted and reported.
    const auto now = instantNow();
    engine->abortAll("server shutting down");
    finishTurn(now);
    publish();
}

void TftpServer::Impl::receiveFrom(io::EventLoop::Tag tag, const ctftp::Instant& now) {
    const bool listen = tag == kListenTag;
    const std::size_t socket = listen ? 0 : static_cast<std::size_t>(tag - kReplyTag);
    if (!listen && socket >= replyFds.size()) {
        return;
    }
    const int fd = listen ? listenFd.get() : replyFds[socket].get();
    for (int round = 0; round < kReceiveRounds; ++round) {
        const int got = recv.receive(fd);
        if (got <= 0) {
            break;
        }
        for (unsigned k = 0; k < static_cast<unsigned>(got); ++k) {
            if (recv.truncated(k)) {
                engine->onTruncatedDatagram();
            } else if (listen) {
                engine->onRequestDatagram(recv.endpoint(k), recv.data(k), now);
            } else {
                engine->onReplyDatagram(socket, recv.endpoint(k), recv.data(k), now);
            }
        }
        if (got < static_cast<int>(io::RecvBatch::kSlots)) {
            break;
        }
    }
}

void TftpServer::Impl::sendQueued() {
    auto& out = engine->outbox().datagrams;
    if (out.empty()) {
        return;
    }
    // A window of blocks to one client comes in a row: convert its address once.
    const int family = bound.family();
    const ctftp::Endpoint* last = nullptr;
    io::SockAddr to;
    for (auto& d : out) {
        if (last == nullptr || !(*last == d.to)) {
            to = io::SockAddr::fromEndpoint(d.to, family);
            last = &d.to;
        }
        auto& q = queues[d.socket < queues.size() ? d.socket : 0];
        if (!d.packet.empty()) {
            q.pushOwned(to, std::move(d.packet));
        } else {
            q.push(to, std::span(d.header.data(), d.headerLength), d.payload);
        }
    }
    out.clear();
    for (std::size_t i = 0; i < queues.size(); ++i) {
        if (queues[i].empty()) {
            continue;
        }
        auto r = queues[i].flush(replyFds[i].get(), config.testDropEvery, dropCounter);
        socketCounters.packetsOut += r.sent;
        socketCounters.packetsOutSegmented += r.segmented;
        socketCounters.sendFailures += r.failed;
        socketCounters.testDropped += r.dropped;
        socketCounters.bytesOut += r.bytes;
        if (!r.faulted.empty()) {
            engine->onSendFaulted(r.faulted);
        }
    }
}

bool TftpServer::Impl::flush() {
    sendQueued();
    if (engine->outbox().datagrams.empty()) {
        return false;
    }
    // A send fault ended transfers and queued their ERRORs: send them now.
    sendQueued();
    return true;
}

void TftpServer::Impl::finishTurn(const ctftp::Instant& now) {
    // Counters first, so that whoever sees our replies sees them counted.
    publish();
    const bool faulted = flush();
    engine->endTurn(now);
    if (faulted) {
        publish();  // the ended transfers are counted before their records are seen
    }
    auto& box = engine->outbox();
    if (!box.unknownClients.empty()) {
        std::lock_guard lock(publishedMutex);
        for (const auto& u : box.unknownClients) {
            const auto from = u.from.toString();
            if (unknown.record(u.id, u.isMac, from, now.wall)) {
                spdlog::info("tftp: unknown client {} {} from {}{}", u.isMac ? "MAC" : "serial",
                             u.id, from,
                             u.usedDefault ? " (served from the default directory)" : "");
            }
        }
    }
    if (sink != nullptr) {
        for (const auto& rec : box.records) {
            sink->onEvent(core::BootEvent{rec});
        }
    }
    box.clear();
}

void TftpServer::Impl::publish() {
    TftpCounters c = engine->counters();
    c.transfersActive = engine->activeTransfers();
    c.packetsOut = socketCounters.packetsOut;
    c.packetsOutSegmented = socketCounters.packetsOutSegmented;
    c.sendFailures = socketCounters.sendFailures;
    c.testDropped = socketCounters.testDropped;
    c.bytesOut = socketCounters.bytesOut;
    c.coalescePauses = socketCounters.coalescePauses;
    c.internalErrors = socketCounters.internalErrors;
    const auto cs = cache->stats();
    c.cacheHits = cs.hits;
    c.cacheMisses = cs.misses;
    std::lock_guard lock(publishedMutex);
    published = c;
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
