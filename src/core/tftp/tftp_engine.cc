#include "core/tftp/tftp_engine.h"

#include <algorithm>

#include <fmt/format.h>

#include "proto/text/safe_text.h"

namespace pinet::core::tftp {

namespace ptftp = proto::tftp;
using Result = TransferRecord::Result;
using Code = ptftp::ErrorCode;

namespace {

// The one refusal table, in enum order (checked below).
constexpr std::array<RefusalRule, kRefusalCount> kRules{{
    {TftpRefusal::Malformed, false, Code::NotDefined, "", std::nullopt},
    {TftpRefusal::Truncated, false, Code::NotDefined, "", std::nullopt},
    {TftpRefusal::WriteRequest, true, Code::AccessViolation, "Server is read-only",
     Result::Refused},
    {TftpRefusal::BadMode, true, Code::IllegalOperation, "Mail mode not supported",
     Result::Refused},
    {TftpRefusal::BadPath, true, Code::AccessViolation, "Access violation", Result::Refused},
    {TftpRefusal::PathEscape, true, Code::AccessViolation, "Access violation", Result::Refused},
    {TftpRefusal::NotFound, true, Code::FileNotFound, "File not found", Result::NotFound},
    {TftpRefusal::SpecialFile, true, Code::AccessViolation, "Not a regular file", Result::Refused},
    {TftpRefusal::AccessDenied, true, Code::AccessViolation, "Access violation", Result::Refused},
    // Floods: answering is what a reflector does; the Pi retransmits ~2 s later.
    {TftpRefusal::RateLimited, false, Code::NotDefined, "", std::nullopt},
    {TftpRefusal::TooManyConcurrent, false, Code::NotDefined, "", std::nullopt},
    {TftpRefusal::SourceTableFull, false, Code::NotDefined, "", std::nullopt},
    // Full: the client retransmits once there is room.
    {TftpRefusal::ServerFull, false, Code::NotDefined, "", std::nullopt},
    {TftpRefusal::ShuttingDown, false, Code::NotDefined, "", std::nullopt},
    // Our own timer retransmits; a second transfer would double the traffic.
    {TftpRefusal::DuplicateRequest, false, Code::NotDefined, "", std::nullopt},
    // RFC 1350 section 4 suggests ERROR 5; silence gives a spoofed source nothing.
    {TftpRefusal::UnknownTid, false, Code::NotDefined, "", std::nullopt},
    {TftpRefusal::UnexpectedPacket, false, Code::NotDefined, "", std::nullopt},
    {TftpRefusal::IoError, true, Code::NotDefined, "Server cannot read the file",
     Result::ServerError},
    {TftpRefusal::NoReplyPort, true, Code::NotDefined, "Server out of reply ports",
     Result::ServerError},
    // Waiting for admission: the Pi re-sends its RRQ ~2 s later, and is let in then.
    {TftpRefusal::Held, false, Code::NotDefined, "", std::nullopt},
}};

constexpr bool rulesInOrder() {
    for (std::size_t i = 0; i < kRules.size(); ++i) {
        if (static_cast<std::size_t>(kRules[i].reason) != i) {
            return false;
        }
    }
    return true;
}
static_assert(rulesInOrder(), "kRules must list every TftpRefusal in enum order");

TftpRefusal refusalFor(FileError e) {
    switch (e) {
        case FileError::NotFound: return TftpRefusal::NotFound;
        case FileError::Escape: return TftpRefusal::PathEscape;
        case FileError::NotRegular: return TftpRefusal::SpecialFile;
        case FileError::AccessDenied: return TftpRefusal::AccessDenied;
        case FileError::TooLarge:
        case FileError::Io: return TftpRefusal::IoError;
    }
    return TftpRefusal::IoError;
}

TftpRefusal refusalFor(PathError e) {
    return e == PathError::DotDot || e == PathError::Absolute || e == PathError::Backslash
               ? TftpRefusal::PathEscape
               : TftpRefusal::BadPath;
}

TftpRefusal refusalFor(SourceLimiter::Verdict v) {
    switch (v) {
        case SourceLimiter::Verdict::RateLimited: return TftpRefusal::RateLimited;
        case SourceLimiter::Verdict::TooManyConcurrent: return TftpRefusal::TooManyConcurrent;
        case SourceLimiter::Verdict::TableFull:
        case SourceLimiter::Verdict::Ok: break;
    }
    return TftpRefusal::SourceTableFull;
}

/// A client's ERROR text in a record: the Pi's is "Early terminate"; more is noise.
constexpr std::size_t kMaxClientText = 128;

/// The turn's datagrams keep a few hundred entries at most in steady state;
/// past this the outbox gives its memory back after a burst.
constexpr std::size_t kOutboxKeepCapacity = 4096;

}  // namespace

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
        case TftpRefusal::NoReplyPort: return "no_reply_port";
        case TftpRefusal::Held: return "held";
        case TftpRefusal::kCount: break;
    }
    return "?";
}

const RefusalRule& refusalRule(TftpRefusal r) {
    const auto i = static_cast<std::size_t>(r);
    return kRules[i < kRules.size() ? i : static_cast<std::size_t>(TftpRefusal::IoError)];
}

struct TftpEngine::Session {
    Transfer transfer;
    std::shared_ptr<const FileContent> content;
    Channel channel = 0;
    Endpoint client;
    std::optional<std::uint32_t> clientV4;  ///< client.v4Address(), for Outbox::delivered
    Instant start;
    std::string requestedPath;
    std::optional<std::string> serial;
    std::optional<std::string> mac;
    bool answered = false;  ///< mirrors transfer.clientAnswered() for the budget
};

TftpEngine::TftpEngine(EngineConfig config, FileSource& files)
    : config_(std::move(config)), files_(files), limiter_(config_.source) {
    config_.replySockets = std::max<std::size_t>(1, config_.replySockets);
}

TftpEngine::~TftpEngine() = default;

void TftpEngine::setResolver(std::shared_ptr<const ClientDirectoryResolver> resolver) {
    resolver_ = std::move(resolver);
}

Channel TftpEngine::newChannel() {
    if (config_.replyPorts == ReplyPorts::Pool) {
        const Channel c = nextChannel_;
        nextChannel_ = (nextChannel_ + 1) % config_.replySockets;
        return c;
    }
    // 64 bits: never reused, so a late datagram cannot reach a later transfer.
    return ++nextChannel_;
}

Channel TftpEngine::refusalChannel() {
    return config_.replyPorts == ReplyPorts::Pool ? newChannel() : kSharedChannel;
}

void TftpEngine::onTruncatedDatagram() {
    ++counters_.packetsIn;
    count(TftpRefusal::Truncated);
}

void TftpEngine::onRequestDatagram(const Endpoint& from, std::span<const std::uint8_t> bytes,
                                   const Instant& now) {
    ++counters_.packetsIn;
    auto packet = ptftp::parse(bytes);
    if (!packet) {
        count(TftpRefusal::Malformed);
        return;
    }
    const auto* req = std::get_if<ptftp::Request>(&*packet);
    if (req == nullptr) {
        count(TftpRefusal::UnexpectedPacket);
        return;
    }
    if (!accepting_) {
        count(TftpRefusal::ShuttingDown);
        return;
    }
    handleRequest(from, *req, now);
}

void TftpEngine::refuse(TftpRefusal why, const Endpoint& to, const ptftp::Request& req,
                        const Instant& now, const MappedPath* mapped, std::string_view because) {
    count(why);
    const RefusalRule& rule = refusalRule(why);
    if (rule.answer) {
        // From a reply port, as every answer (RFC 1350 TID).
        OutDatagram d;
        d.channel = refusalChannel();
        d.to = to;
        d.packet = ptftp::buildError(rule.code, rule.text);
        outbox_.datagrams.push_back(std::move(d));
    }
    if (rule.record) {
        TransferRecord rec;
        rec.result = *rule.record;
        rec.start = now.wall;
        rec.clientAddr = to.toString();
        rec.requestedPath = proto::text::safeText(req.filename);
        if (mapped != nullptr) {
            rec.serial = mapped->serial;
            rec.mac = mapped->mac;
        }
        rec.detail = because.empty()
                         ? fmt::format("{}: {}", toString(why), rule.text)
                         : fmt::format("{}: {} ({})", toString(why), rule.text, because);
        outbox_.records.push_back(std::move(rec));
    }
}

void TftpEngine::handleRequest(const Endpoint& from, const ptftp::Request& req,
                               const Instant& now) {
    const SourceKey& source = from.address;
    const auto verdict = limiter_.admit(source, now.steady);
    if (verdict != SourceLimiter::Verdict::Ok) {
        count(refusalFor(verdict));
        return;
    }
    // From here on the slot is ours; every early return gives it back.
    struct SlotGuard {
        SourceLimiter& limiter;
        const SourceKey& key;
        bool keep = false;
        ~SlotGuard() {
            if (!keep) {
                limiter.release(key);
            }
        }
    } guard{limiter_, source};

    if (config_.gate != nullptr) {
        if (auto ip = from.v4Address()) {
            const std::string board = fmt::format("ip:{}.{}.{}.{}", *ip >> 24, (*ip >> 16) & 0xff,
                                                  (*ip >> 8) & 0xff, *ip & 0xff);
            if (config_.gate->request(board, now.steady, *ip) != boot::AdmitResult::Admitted) {
                count(TftpRefusal::Held);
                return;
            }
        }
    }

    if (auto it = sessions_.find(from); it != sessions_.end()) {
        Session& old = *it->second;
        if (!old.transfer.clientAnswered() && old.requestedPath == req.filename &&
            req.opcode == ptftp::Opcode::Rrq) {
            count(TftpRefusal::DuplicateRequest);
            return;
        }
        // The client started over from the same port: the old transfer is dead.
        old.transfer.abort(Result::ClientError, "superseded by a new request");
        endSession(from);
    }
    if (req.opcode == ptftp::Opcode::Wrq) {
        refuse(TftpRefusal::WriteRequest, from, req, now);
        return;
    }
    if (req.mode == ptftp::Mode::Mail) {
        refuse(TftpRefusal::BadMode, from, req, now);
        return;
    }
    auto mapped = mapRequest(req.filename, resolver_.get(), config_.defaultDir);
    if (!mapped) {
        refuse(refusalFor(mapped.error()), from, req, now, nullptr, toString(mapped.error()));
        return;
    }
    if (mapped->unknownClient) {
        const bool isMac = mapped->mac.has_value();
        outbox_.unknownClients.push_back(
            {isMac ? *mapped->mac : *mapped->serial, isMac, from, mapped->usedDefault});
    }
    if (sessions_.size() - unanswered_ >= config_.maxTransfers) {
        count(TftpRefusal::ServerFull);
        return;
    }
    if (unanswered_ >= std::max<std::size_t>(1, config_.maxUnanswered) &&
        !evictOldestUnanswered(now.steady)) {
        count(TftpRefusal::ServerFull);
        return;
    }
    tl::expected<std::shared_ptr<const FileContent>, FileError> content =
        tl::unexpected(FileError::NotFound);
    std::shared_ptr<const FileContent> overlaid;
    if (config_.overlay != nullptr && req.mode == ptftp::Mode::Octet) {
        // A client prefix (serial or MAC) + one name; or, with no client prefix
        // (TFTP_PREFIX=1, or a prefix the board cleared), the request's last component.
        const bool clientPrefix = mapped->serial || mapped->mac;
        if (auto clean = sanitizePath(req.filename); clean) {
            const auto first = clean->find('/');
            const auto last = clean->rfind('/');
            if (!clientPrefix || (first != std::string::npos && first == last)) {
                OverlayClient who{mapped->serial, mapped->mac, from.v4Address()};
                overlaid = config_.overlay->open(
                    who, last == std::string::npos ? std::string_view(*clean)
                                                   : std::string_view(*clean).substr(last + 1));
            }
        }
    }
    if (overlaid) {
        content = std::move(overlaid);
    } else {
        content = files_.open(mapped->path, req.mode == ptftp::Mode::Netascii);
    }
    if (!content) {
        refuse(refusalFor(content.error()), from, req, now, &*mapped);
        return;
    }
    const auto size = (*content)->bytes().size();
    auto negotiated = negotiate(ptftp::interpretOptions(req.options), size, config_.transfer);
    auto session = std::unique_ptr<Session>(
        new Session{Transfer(size, std::move(negotiated), config_.transfer), std::move(*content),
                    newChannel(), from, from.v4Address(), now, req.filename,
                    std::move(mapped->serial), std::move(mapped->mac)});
    guard.keep = true;
    ++counters_.transfersStarted;
    ++unanswered_;
    emit(*session, session->transfer.start(now.steady));
    earliestDeadline_ = std::min(earliestDeadline_, session->transfer.deadline());
    sessions_.emplace(from, std::move(session));
}

void TftpEngine::onReplyDatagram(Channel channel, const Endpoint& from,
                                 std::span<const std::uint8_t> bytes, const Instant& now) {
    ++counters_.packetsIn;
    auto it = sessions_.find(from);
    if (it == sessions_.end() || it->second->channel != channel) {
        count(TftpRefusal::UnknownTid);
        return;
    }
    Session& s = *it->second;
    auto packet = ptftp::parse(bytes);
    if (!packet) {
        count(TftpRefusal::Malformed);
        return;
    }
    if (const auto* ack = std::get_if<ptftp::Ack>(&*packet)) {
        emit(s, s.transfer.onAck(ack->block, now.steady));
        noteAnswered(s);
        // The adaptive timeout can put this deadline before every other one.
        earliestDeadline_ = std::min(earliestDeadline_, s.transfer.deadline());
    } else if (const auto* err = std::get_if<ptftp::ErrorPacket>(&*packet)) {
        // The client's text goes into the record (dashboard, logs): made safe here.
        s.transfer.onError(err->code, proto::text::safeText(err->message, kMaxClientText),
                           now.steady);
    } else {
        count(TftpRefusal::UnexpectedPacket);
        return;
    }
    if (s.transfer.done()) {
        endSession(from);
    }
}

void TftpEngine::emit(Session& s, const Emit& e) {
    if (e.oack) {
        OutDatagram d;
        d.channel = s.channel;
        d.to = s.client;
        d.packet = ptftp::buildOack(s.transfer.negotiated().oack);
        outbox_.datagrams.push_back(std::move(d));
    }
    const auto content = s.content->bytes();
    std::uint64_t sent = 0;
    for (std::uint32_t i = 0; i < e.blockCount; ++i) {
        const std::uint64_t block = e.firstBlock + i;
        OutDatagram& d = outbox_.datagrams.emplace_back();
        d.channel = s.channel;
        d.to = s.client;
        ptftp::writeDataHeader(d.header.data(), Transfer::wireBlock(block));
        d.headerLength = static_cast<std::uint8_t>(ptftp::kDataHeaderSize);
        d.payload = content.subspan(static_cast<std::size_t>(s.transfer.blockOffset(block)),
                                    s.transfer.blockLength(block));
        sent += d.payload.size();
    }
    if (sent > 0 && s.clientV4) {
        auto& dl = outbox_.delivered;
        const std::uint64_t ceiling = s.transfer.rateCeiling();
        if (!dl.empty() && dl.back().address == *s.clientV4) {
            dl.back().bytes += sent;
            dl.back().ceiling = std::max(dl.back().ceiling, ceiling);
        } else {
            dl.push_back({*s.clientV4, sent, ceiling});
        }
    }
}

void TftpEngine::endSession(const Endpoint& key) {
    auto it = sessions_.find(key);
    if (it == sessions_.end()) {
        return;
    }
    // Counted now; reported and freed at endTurn(), because queued datagrams
    // may still point into its content.
    Session& s = *it->second;
    if (!s.answered) {
        --unanswered_;
    }
    counters_.retransmits += s.transfer.retransmits();
    ++counters_.finished[static_cast<std::size_t>(s.transfer.result())];
    limiter_.release(s.client.address);
    retired_.push_back(std::move(it->second));
    sessions_.erase(it);
}

void TftpEngine::noteAnswered(Session& s) {
    if (!s.answered && s.transfer.clientAnswered()) {
        s.answered = true;
        --unanswered_;
    }
}

bool TftpEngine::evictOldestUnanswered(Clock::time_point now) {
    // Only when the budget is full, so the scan (bounded by the session caps)
    // costs nothing in normal running.
    const Endpoint* oldest = nullptr;
    Clock::time_point oldestStart = Clock::time_point::max();
    for (const auto& [key, s] : sessions_) {
        if (!s->answered && s->start.steady < oldestStart) {
            oldest = &key;
            oldestStart = s->start.steady;
        }
    }
    if (oldest == nullptr || now - oldestStart < config_.unansweredGrace) {
        return false;
    }
    const Endpoint key = *oldest;
    sessions_.at(key)->transfer.abort(Result::Timeout,
                                      "no answer; ended for a newer request (unanswered budget)");
    ++counters_.unansweredEvicted;
    endSession(key);
    return true;
}

void TftpEngine::scanTimers(Clock::time_point now) {
    auto earliest = Clock::time_point::max();
    std::vector<Endpoint> finished;
    for (auto& [key, s] : sessions_) {
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
    earliestDeadline_ = earliest;
}

void TftpEngine::tick(const Instant& now) {
    if (now.steady >= earliestDeadline_) {
        scanTimers(now.steady);
    }
    if (now.steady >= nextExpire_) {
        limiter_.expire(now.steady);
        // Idle sources only need forgetting often enough to bound the table.
        nextExpire_ = now.steady + std::chrono::seconds(10);
    }
}

Clock::time_point TftpEngine::nextDeadline(Clock::time_point now) const {
    auto at = earliestDeadline_;
    if (!sessions_.empty()) {
        // At least once a second while transfers run, so the source table is
        // expired even when every transfer waits on a long client timeout.
        at = std::min(at, now + std::chrono::seconds(1));
    }
    return at;
}

void TftpEngine::onSendFaulted(std::span<const std::uint8_t* const> payloads) {
    // Rare (a boot file truncated in place while served), so a scan of the
    // sessions is fine. Retrying would fail the same way: tell the client and
    // end the transfer.
    std::vector<Endpoint> hit;
    for (auto& [key, s] : sessions_) {
        const auto bytes = s->content->bytes();
        for (const auto* p : payloads) {
            if (!bytes.empty() && p >= bytes.data() && p < bytes.data() + bytes.size()) {
                hit.push_back(key);
                break;
            }
        }
    }
    for (const auto& key : hit) {
        auto it = sessions_.find(key);
        if (it == sessions_.end()) {
            continue;
        }
        Session& s = *it->second;
        count(TftpRefusal::IoError);
        OutDatagram d;
        d.channel = s.channel;
        d.to = s.client;
        d.packet = ptftp::buildError(Code::NotDefined, "File changed while being read");
        outbox_.datagrams.push_back(std::move(d));
        s.transfer.abort(Result::ServerError,
                         "file shrank while being served (truncated in place?)");
        endSession(key);
    }
}

void TftpEngine::onChannelFailed(Channel channel) {
    for (auto& [key, s] : sessions_) {
        if (s->channel != channel) {
            continue;
        }
        count(TftpRefusal::NoReplyPort);
        OutDatagram d;
        d.channel = kSharedChannel;
        d.to = s->client;
        d.packet = ptftp::buildError(refusalRule(TftpRefusal::NoReplyPort).code,
                                     refusalRule(TftpRefusal::NoReplyPort).text);
        outbox_.datagrams.push_back(std::move(d));
        s->transfer.abort(Result::ServerError, "no reply port (out of file descriptors?)");
        const Endpoint ended = key;  // endSession erases the entry `key` refers to
        endSession(ended);
        return;
    }
}

void TftpEngine::abortAll(std::string_view why) {
    std::vector<Endpoint> keys;
    keys.reserve(sessions_.size());
    for (auto& [key, s] : sessions_) {
        s->transfer.abort(Result::ServerError, std::string(why));
        keys.push_back(key);
    }
    for (const auto& key : keys) {
        endSession(key);
    }
}

void TftpEngine::endTurn(const Instant& now) {
    for (auto& s : retired_) {
        if (config_.replyPorts == ReplyPorts::PerTransfer) {
            outbox_.closedChannels.push_back(s->channel);
        }
        const auto& t = s->transfer;
        TransferRecord rec;
        rec.result = t.result();
        rec.start = s->start.wall;
        rec.duration =
            std::chrono::duration_cast<std::chrono::microseconds>(now.steady - s->start.steady);
        rec.clientAddr = s->client.toString();
        // The name as the client sent it, made safe for JSON and logs.
        rec.requestedPath = proto::text::safeText(s->requestedPath);
        rec.serial = std::move(s->serial);
        rec.mac = std::move(s->mac);
        rec.fileSize = s->content->bytes().size();
        rec.bytes = t.result() == Result::Ok ? rec.fileSize : t.bytesAcked();
        rec.blockSize = t.negotiated().blockSize;
        rec.windowSize = t.negotiated().windowSize;
        rec.detail = t.detail();
        outbox_.records.push_back(std::move(rec));
    }
    retired_.clear();
    counters_.transfersActive = sessions_.size();
    if (outbox_.datagrams.capacity() > kOutboxKeepCapacity && outbox_.datagrams.empty()) {
        outbox_.datagrams.shrink_to_fit();
    }
}

}  // namespace pinet::core::tftp
