#include "app/tftp/tftp_server.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/fd.h"
#include "io/file_cache.h"
#include "io/fs/file_ops.h"
#include "io/net/datagram_loop.h"
#include "io/udp_batch.h"

namespace pinet::app {

namespace ctftp = core::tftp;
using Clock = std::chrono::steady_clock;

namespace {

/// Loop tags: the listen socket, then reply channel c as kReplyTag + c.
constexpr io::DatagramLoop::Tag kListenTag = 0;
constexpr io::DatagramLoop::Tag kReplyTag = 1;
/// Send-fault and open-failure rounds per flush: each can only end transfers
/// and queue one ERROR each, so two rounds settle it; the bound is a backstop.
constexpr int kFlushRounds = 4;

ctftp::Instant instantNow() {
    return {Clock::now(), std::chrono::system_clock::now()};
}

}  // namespace

/// One reply port: its socket and what this turn queued for it.
struct ReplySocket {
    io::Fd fd;
    io::SendQueue queue;
    bool dirty = false;  ///< in Impl::dirty (has datagrams queued this turn)
};

struct TftpServer::Impl {
    TftpServerConfig config;
    io::Fd listenFd;
    io::SockAddr bound;
    io::SockAddr ephemeral;  ///< the listen address with port 0: where reply sockets bind
    std::unique_ptr<io::DatagramLoop> loop;
    std::unique_ptr<io::FileCache> cache;  ///< the TFTP root's files
    std::unique_ptr<InPlaceFileSource>
        source;  ///< the engine's FileSource: cache, then images in place
    std::unique_ptr<ctftp::TftpEngine> engine;
    core::BootEventSink* sink = nullptr;

    // Handed over from other threads, taken by the loop at the start of a turn.
    std::mutex resolverMutex;
    std::shared_ptr<const ctftp::ClientDirectoryResolver> pendingResolver;
    std::atomic<bool> resolverChanged{false};

    // Loop-thread state.
    /// Reply ports by channel: the pool's (or the shared one) for the daemon's
    /// life, and in PerTransfer mode one per running transfer, opened at its
    /// first datagram and closed after its last.
    std::unordered_map<ctftp::Channel, ReplySocket> replies;
    std::vector<ctftp::Channel> dirty;
    std::vector<io::DatagramLoop::SendJob> jobs;  ///< dirty's queues, for one send
    std::vector<ctftp::Channel> failedChannels;
    std::uint64_t dropCounter = 0;
    TftpCounters socketCounters;  ///< the I/O fields, merged into the engine's on publish
    std::uint64_t lastTurnPackets = 0;

    mutable std::mutex publishedMutex;
    TftpCounters published;
    ctftp::UnknownClientLog unknown;  ///< guarded by publishedMutex

    std::thread thread;
    std::atomic<bool> stopRequested{false};
    std::atomic<std::int64_t> drainMillis{0};

    explicit Impl(std::unique_ptr<io::DatagramLoop> l) : loop(std::move(l)) {}

    /// Opens the socket of @p channel on a port the kernel picks at random;
    /// a transfer's own socket is connected to its client @p peer.
    Result<ReplySocket*> openReply(ctftp::Channel channel, const io::SockAddr* peer = nullptr);
    void run();
    void onDatagram(const io::ReceivedDatagram& d, const ctftp::Instant& now);
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
    auto rootFd = io::openDirectory(config.root);
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
    std::string fallback;
    auto loop = io::makeDatagramLoop(config.io, &fallback);
    if (!loop) {
        return fail("tftp: " + loop.error().message +
                    (config.io == io::LoopChoice::Uring ? " (tftp.io = \"uring\" forces io_uring; "
                                                          "\"auto\" falls back to epoll)"
                                                        : ""));
    }
    if (!fallback.empty()) {
        spdlog::info("tftp: io_uring unavailable ({}): sockets on epoll", fallback);
    } else {
        spdlog::info("tftp: sockets on {}", io::toString((*loop)->backend()));
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
    // Reply sockets: same address, ephemeral ports (the server's TIDs). The
    // daemon-long ones open now: the pool, or the shared channel of refusals.
    impl->ephemeral = addr->withPort(0);
    config.replySockets = std::max<std::size_t>(1, config.replySockets);
    impl->config = config;
    const std::size_t lasting =
        config.replyPorts == core::tftp::ReplyPorts::Pool ? config.replySockets : 1;
    for (ctftp::Channel c = 0; c < lasting; ++c) {
        if (auto r = impl->openReply(c); !r) {
            return fail("tftp reply socket: " + r.error().message);
        }
    }
    // The listen socket's datagrams after the replies' in every turn (see run()).
    if (auto watched = impl->loop->watch(impl->listenFd.get(), kListenTag, true); !watched) {
        return fail("tftp: " + watched.error().message);
    }
    impl->cache = std::make_unique<io::FileCache>(std::move(*rootFd), io::FileCache::Options{});
    ctftp::EngineConfig ec;
    ec.transfer = config.transfer;
    ec.source = config.source;
    ec.defaultDir = config.defaultDir;
    ec.maxTransfers = config.maxTransfers;
    ec.replySockets = config.replySockets;
    ec.replyPorts = config.replyPorts;
    ec.gate = config.admitAtFirstRequest ? config.admission : nullptr;
    ec.overlay = config.overlay;
    impl->source = std::make_unique<InPlaceFileSource>(*impl->cache);
    impl->engine = std::make_unique<ctftp::TftpEngine>(std::move(ec), *impl->source);
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

io::LoopBackend TftpServer::ioBackend() const {
    return impl_->loop->backend();
}

void TftpServer::setInPlaceViews(std::shared_ptr<const InPlaceViews> views) {
    impl_->source->setViews(std::move(views));
}

void TftpServer::setResolver(std::shared_ptr<const ctftp::ClientDirectoryResolver> resolver) {
    {
        std::lock_guard lock(impl_->resolverMutex);
        impl_->pendingResolver = std::move(resolver);
    }
    // Taken by the loop at its next turn (at once if it is waiting on input).
    impl_->resolverChanged = true;
    impl_->loop->wake();
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
    impl_->loop->wake();
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

Result<ReplySocket*> TftpServer::Impl::openReply(ctftp::Channel channel, const io::SockAddr* peer) {
    // Pool sockets carry many clients' bursts; a transfer's own socket at most
    // one window (RFC 7440) and its ACKs, so it asks for less kernel memory.
    const bool lasting = config.replyPorts == core::tftp::ReplyPorts::Pool;
    auto fd = io::bindUdp(ephemeral,
                          lasting ? config.socketBufferBytes : config.transferSocketBufferBytes);
    if (!fd) {
        return tl::unexpected(fd.error());
    }
    // A transfer's socket hears its client only: the kernel drops what other
    // addresses and ports send to it (RFC 1350's foreign TIDs, which the engine
    // would drop silently too), and sends to the client on the route it cached.
    if (peer != nullptr) {
        if (auto c = io::connectUdp(fd->get(), *peer); !c) {
            return tl::unexpected(c.error());
        }
    }
    if (auto w = loop->watch(fd->get(), kReplyTag + channel); !w) {
        return tl::unexpected(w.error());
    }
    auto& slot = replies[channel];
    slot.fd = std::move(*fd);
    if (peer != nullptr) {
        slot.queue.setConnectedPeer(*peer);
    }
    return &slot;
}

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
        // The loop delivers the replies' datagrams first and the listen
        // socket's last: a client that ends a transfer (ERROR, last ACK) and
        // asks again from the same port in the same turn must find it ended,
        // or its RRQ would be taken for a retransmission of the old one.
        std::optional<Clock::time_point> waitUntil;
        if (wakeAt != Clock::time_point::max()) {
            waitUntil = wakeAt;
        }
        if (coalesce) {
            // Let the datagrams of many clients gather, then take them all at once.
            std::this_thread::sleep_for(config.coalesce);
            ++socketCounters.coalescePauses;
            waitUntil = before;  // a deadline passed: poll, do not block again
        }
        auto ready = loop->wait(waitUntil);
        if (!ready) {
            spdlog::error("tftp: {}", ready.error().message);
            break;
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
            loop->deliver([this, &now](const io::ReceivedDatagram& d) { onDatagram(d, now); });
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

void TftpServer::Impl::onDatagram(const io::ReceivedDatagram& d, const ctftp::Instant& now) {
    if (d.truncated) {
        engine->onTruncatedDatagram();
    } else if (d.tag == kListenTag) {
        engine->onRequestDatagram(d.endpoint(), d.data, now);
    } else {
        engine->onReplyDatagram(d.tag - kReplyTag, d.endpoint(), d.data, now);
    }
}

void TftpServer::Impl::sendQueued() {
    auto& out = engine->outbox().datagrams;
    if (out.empty()) {
        return;
    }
    // A window of blocks to one client comes in a row: convert its address
    // and find its socket once.
    const int family = bound.family();
    const ctftp::OutDatagram* last = nullptr;
    ReplySocket* slot = nullptr;
    io::SockAddr to;
    for (auto& d : out) {
        if (last == nullptr || !(last->to == d.to) || last->channel != d.channel) {
            to = io::SockAddr::fromEndpoint(d.to, family);
            const auto it = replies.find(d.channel);
            slot = nullptr;
            if (it != replies.end()) {
                slot = &it->second;
            } else if (config.replyPorts == core::tftp::ReplyPorts::PerTransfer) {
                // A new transfer's first datagram: its port opens now.
                if (auto opened = openReply(d.channel, &to)) {
                    slot = *opened;
                } else {
                    spdlog::warn("tftp: reply socket: {}", opened.error().message);
                }
            }
            if (slot == nullptr && std::find(failedChannels.begin(), failedChannels.end(),
                                             d.channel) == failedChannels.end()) {
                failedChannels.push_back(d.channel);
            }
        }
        last = &d;
        if (slot == nullptr) {
            continue;
        }
        if (!slot->dirty) {
            slot->dirty = true;
            dirty.push_back(d.channel);
        }
        if (!d.packet.empty()) {
            slot->queue.pushOwned(to, std::move(d.packet));
        } else {
            slot->queue.push(to, std::span(d.header.data(), d.headerLength), d.payload);
        }
    }
    out.clear();
    // Every socket's queue in one go: on io_uring one submission for all.
    jobs.clear();
    for (const auto channel : dirty) {
        auto& r = replies.at(channel);
        r.dirty = false;
        jobs.push_back({r.fd.get(), &r.queue, {}});
    }
    loop->send(jobs, config.testDropEvery, dropCounter);
    for (const auto& job : jobs) {
        const auto& sent = job.result;
        socketCounters.packetsOut += sent.sent;
        socketCounters.packetsOutSegmented += sent.segmented;
        socketCounters.sendFailures += sent.failed;
        socketCounters.testDropped += sent.dropped;
        socketCounters.bytesOut += sent.bytes;
        if (!sent.faulted.empty()) {
            engine->onSendFaulted(sent.faulted);
        }
    }
    dirty.clear();
    for (const auto channel : failedChannels) {
        engine->onChannelFailed(channel);
    }
    failedChannels.clear();
}

bool TftpServer::Impl::flush() {
    sendQueued();
    bool more = false;
    // A send fault or a socket that would not open ended transfers and queued
    // their ERRORs: send those now.
    for (int round = 1; round < kFlushRounds && !engine->outbox().datagrams.empty(); ++round) {
        more = true;
        sendQueued();
    }
    return more;
}

void TftpServer::Impl::finishTurn(const ctftp::Instant& now) {
    // Counters first, so that whoever sees our replies sees them counted.
    publish();
    const bool faulted = flush();
    engine->endTurn(now);
    // Ended transfers' ports close now that their last datagrams are out.
    for (const auto channel : engine->outbox().closedChannels) {
        loop->unwatch(kReplyTag + channel);
        replies.erase(channel);
    }
    if (faulted) {
        publish();  // the ended transfers are counted before their records are seen
    }
    auto& box = engine->outbox();
    if (config.admission != nullptr && !box.delivered.empty()) {
        config.admission->onDelivered(box.delivered, now.steady);
    }
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
