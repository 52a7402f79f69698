#pragma once
// The TFTP server's policy with no sockets, like core::dhcp::DhcpResponder:
// datagrams + the time in, datagrams to send, transfer records and the next
// timer deadline out. app/tftp owns the sockets, the batched flush and the
// thread; this class decides everything else:
//   - admission: per-source limits, the global transfer cap, shutdown;
//   - duplicate and superseded RRQs from the same client port;
//   - path mapping (per-client prefixes), files through a FileSource, and
//     every refusal through one table (reason -> ERROR code, text, record);
//   - the session table, each session a core::tftp::Transfer, and its timers.
//
// Single-threaded: one thread calls everything. Nothing here throws on
// packet input (std::bad_alloc aside); bad packets are counted by reason.
//
// One loop turn: feed the turn's datagrams (reply sockets before the listen
// socket, so a client that ends a transfer and asks again from the same port
// in one turn is not taken for a retransmission), tick(), send
// outbox().datagrams, report send faults, then endTurn(): that releases the
// content of transfers that ended, which queued datagrams may still point
// into, and moves their records into outbox().records.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/boot/admission.h"
#include "core/boot_events.h"
#include "core/tftp/client_dirs.h"
#include "core/tftp/endpoint.h"
#include "core/tftp/file_overlay.h"
#include "core/tftp/file_source.h"
#include "core/tftp/source_limiter.h"
#include "core/tftp/transfer.h"
#include "proto/tftp/packet.h"

namespace pinet::core::tftp {

/// Why a request or packet was refused or dropped. Each has a counter.
enum class TftpRefusal : std::size_t {
    Malformed,          ///< not a valid TFTP packet
    Truncated,          ///< datagram larger than the receive buffer
    WriteRequest,       ///< WRQ: the server is read-only
    BadMode,            ///< mode "mail"
    BadPath,            ///< empty, control characters, too long
    PathEscape,         ///< "..", absolute, backslash, or a symlink out of the root
    NotFound,           ///< no such file (ERROR 1)
    SpecialFile,        ///< directory, FIFO, device, socket
    AccessDenied,       ///< permission denied on our side
    RateLimited,        ///< per-source request rate
    TooManyConcurrent,  ///< per-source concurrent transfers
    SourceTableFull,    ///< too many distinct sources tracked
    ServerFull,         ///< maxTransfers, or the unanswered budget, reached
    ShuttingDown,       ///< request during drain
    DuplicateRequest,   ///< retransmitted RRQ for a transfer already under way
    UnknownTid,         ///< packet for no transfer (late, or another port's)
    UnexpectedPacket,   ///< DATA/OACK sent to a server, or non-RRQ on the listen port
    IoError,            ///< open/mmap failed, or the file changed while served
    NoReplyPort,        ///< no socket could be opened for the transfer's reply port
    Held,               ///< the board waits for admission (serve --dhcp off, issue #14)
    kCount
};
inline constexpr std::size_t kRefusalCount = static_cast<std::size_t>(TftpRefusal::kCount);

/// Metric label: "path_escape".
const char* toString(TftpRefusal r);

/// What the server does for each refusal: the one table behind every refusal.
struct RefusalRule {
    TftpRefusal reason;
    /// Send one ERROR with this code and text (never retransmitted, RFC 1350
    /// section 7), or stay silent: floods and spoofable inputs get nothing, so
    /// the server cannot be used as a reflector, and a Pi whose request was
    /// dropped retransmits its RRQ about 2 s later (netboot-protocol.md 4.1).
    bool answer;
    proto::tftp::ErrorCode code;
    const char* text;
    /// Record the refused request as a TransferRecord with this result (so the
    /// dashboard shows it), or only count it.
    std::optional<TransferRecord::Result> record;
};

/// The rule for @p r (the table is checked complete at compile time).
const RefusalRule& refusalRule(TftpRefusal r);

/// Counters kept by the engine; app/tftp adds its socket counters beside them.
struct TftpCounters {
    std::uint64_t packetsIn = 0;
    std::uint64_t packetsOut = 0;
    std::uint64_t packetsOutSegmented = 0;  ///< of packetsOut, sent inside UDP GSO groups
    std::uint64_t bytesOut = 0;
    std::uint64_t sendFailures = 0;
    std::uint64_t testDropped = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t coalescePauses = 0;  ///< loop turns that slept `coalesce` first
    std::uint64_t internalErrors = 0;  ///< loop turns that threw (logged and skipped)
    std::uint64_t transfersStarted = 0;
    std::uint64_t transfersActive = 0;
    std::uint64_t unansweredEvicted = 0;  ///< unanswered transfers ended for a newcomer
    /// Finished transfers by TransferRecord::Result.
    std::array<std::uint64_t, 7> finished{};
    std::array<std::uint64_t, kRefusalCount> refused{};
    std::uint64_t cacheHits = 0;
    std::uint64_t cacheMisses = 0;

    [[nodiscard]] std::uint64_t refusedCount(TftpRefusal r) const {
        return refused[static_cast<std::size_t>(r)];
    }
    [[nodiscard]] std::uint64_t finishedCount(TransferRecord::Result r) const {
        return finished[static_cast<std::size_t>(r)];
    }
};

/// A reply port (a server TID, RFC 1350 section 4) as the engine names it:
/// app/tftp maps each to a UDP socket.
using Channel = std::uint64_t;

/// How transfers get their reply port.
enum class ReplyPorts {
    /// A new socket per transfer, on a port the kernel picks at random from the
    /// ephemeral range (about 28,000 ports): a blind attacker who spoofs a
    /// client guesses a transfer's port about 1 time in 28,000, so it cannot
    /// steer a transfer to a victim with blind ACKs (issue #13: a fixed pool
    /// of 4 ports let it, x170 amplification). Channel kSharedChannel (one
    /// socket for the daemon's life) sends the ERRORs of refused requests.
    PerTransfer,
    /// replySockets sockets for the daemon's life, transfers round robin over
    /// them: the fewest syscalls, but the ports are known to anyone who looks.
    Pool,
};

/// The reply port of refused requests' ERRORs in PerTransfer mode.
inline constexpr Channel kSharedChannel = 0;

/// Shared defaults of `pinetboot tftp` and `serve` (one place: issue #12).
struct EngineConfig {
    TransferLimits transfer;
    SourceLimits source;
    /// Boot directory for unknown serial/MAC prefixes, relative to the root,
    /// already sanitised (sanitizePath); empty = none.
    std::string defaultDir;
    /// Concurrent transfers whose client has answered, when a new request arrives.
    /// Each costs a few hundred bytes plus its share of the wire: 256 lockstep Pis
    /// are several racks booting at once, and the cap bounds memory and CPU under
    /// a flood. At the cap a new RRQ is dropped silently and the Pi retransmits it
    /// about 2 s later. Transfers admitted into the unanswered budget join these
    /// when their client answers, even at the cap, so at most maxTransfers +
    /// maxUnanswered transfers exist at once.
    std::size_t maxTransfers = 256;
    /// Transfers whose client has not answered yet (no ACK, no ERROR at the
    /// reply port), counted apart from maxTransfers, so that sources that never
    /// answer (a flood of spoofed RRQs, dead boards) cannot take the slots of
    /// boards that do: a real Pi answers its first reply within milliseconds and
    /// then counts against maxTransfers only. 256 holds a rack's worth of boards
    /// asking in the same instant.
    std::size_t maxUnanswered = 256;
    /// At the unanswered budget, the oldest unanswered transfer makes room for a
    /// newcomer once it has waited this long for an answer: far longer than a
    /// LAN round trip plus a loaded server's turn, so the board it belongs to
    /// (if any) is not answering. Younger ones are kept (ending one would leave
    /// its client ACKing a closed port) and the newcomer is dropped silently:
    /// the Pi retransmits its RRQ about 2 s later.
    std::chrono::milliseconds unansweredGrace{250};
    ReplyPorts replyPorts = ReplyPorts::PerTransfer;
    /// Pool mode: reply sockets that transfers are spread over, round robin.
    std::size_t replySockets = 4;
    /// Admission at a board's first request (serve --dhcp off: another server does
    /// DHCP, so TFTP is the only gate). A new request from an address the gate does not
    /// admit is dropped silently (TftpRefusal::Held) and the Pi re-sends it about 2 s
    /// later; the gate admits it in arrival order well inside the first file's 30 s
    /// deadline. Null: no gate here (DHCP is the gate, or there is none).
    boot::AdmissionGate* gate = nullptr;
    /// Per-client files in front of the FileSource (an EEPROM rollout's pieeprom.sig/.upd),
    /// asked for octet requests of "<serial>/<name>"; null: none. Not owned.
    FileOverlay* overlay = nullptr;
};

/// A moment as the engine sees it: the steady clock for timers, the wall clock for records.
struct Instant {
    Clock::time_point steady{};
    WallTime wall{};
};

/// One datagram to send from reply port `channel`: a whole packet the engine
/// built (OACK, ERROR) or a 4-byte DATA header plus a slice of file content.
/// A channel the app has not seen yet is a new transfer's: it opens its socket.
struct OutDatagram {
    Channel channel = 0;
    Endpoint to;
    std::array<std::uint8_t, proto::tftp::kDataHeaderSize> header{};
    std::uint8_t headerLength = 0;
    std::vector<std::uint8_t> packet;  ///< non-empty: the whole datagram (no header/payload)
    /// Valid until endTurn(): the content stays alive while a datagram refers to it.
    std::span<const std::uint8_t> payload;
};

/// A serial or MAC that asked for files but is not enrolled (for the app's log).
struct UnknownClientSeen {
    std::string id;
    bool isMac = false;
    Endpoint from;
    bool usedDefault = false;
};

/// File content bytes sent to one IPv4 address in a turn (for admission's throughput
/// and each board's progress); consecutive datagrams to one address are summed.
using Delivery = boot::Delivery;

struct Outbox {
    std::vector<OutDatagram> datagrams;
    std::vector<Delivery> delivered;
    std::vector<TransferRecord> records;
    std::vector<UnknownClientSeen> unknownClients;
    /// PerTransfer mode: channels of transfers that ended, to close at endTurn()
    /// (after the flush: their last datagrams leave through them).
    std::vector<Channel> closedChannels;
    void clear() {
        datagrams.clear();
        delivered.clear();
        records.clear();
        unknownClients.clear();
        closedChannels.clear();
    }
};

class TftpEngine {
public:
    TftpEngine(EngineConfig config, FileSource& files);
    ~TftpEngine();
    TftpEngine(const TftpEngine&) = delete;
    TftpEngine& operator=(const TftpEngine&) = delete;

    /// Maps serial/MAC prefixes to boot directories; may be null (no per-client trees).
    void setResolver(std::shared_ptr<const ClientDirectoryResolver> resolver);

    /// A datagram received on the listen port (new requests).
    void onRequestDatagram(const Endpoint& from, std::span<const std::uint8_t> bytes,
                           const Instant& now);
    /// A datagram received on reply port @p channel (ACKs and ERRORs of transfers).
    void onReplyDatagram(Channel channel, const Endpoint& from, std::span<const std::uint8_t> bytes,
                         const Instant& now);
    /// A datagram that did not fit the receive buffer (counted, never parsed).
    void onTruncatedDatagram();
    /// Retransmissions and give-ups that are due, and the source table's upkeep.
    void tick(const Instant& now);
    /// Payload pointers of datagrams the kernel could not read (EFAULT: a mapped
    /// file truncated in place): their transfers end with ERROR 0.
    void onSendFaulted(std::span<const std::uint8_t* const> payloads);
    /// The app could not open a socket for @p channel (descriptors exhausted):
    /// that transfer ends, its client is told from the shared channel.
    void onChannelFailed(Channel channel);
    /// After the outbox's datagrams are sent: frees what ended, adds its records.
    void endTurn(const Instant& now);

    /// Refuse new requests from now on (counted as ShuttingDown).
    void stopAccepting() { accepting_ = false; }
    /// Ends every transfer (shutdown after the drain time); records at endTurn().
    void abortAll(std::string_view why);

    /// When tick() has work next; time_point::max() when there is none.
    [[nodiscard]] Clock::time_point nextDeadline(Clock::time_point now) const;
    [[nodiscard]] std::size_t activeTransfers() const { return sessions_.size(); }
    /// Of activeTransfers(), those whose client has not answered yet.
    [[nodiscard]] std::size_t unansweredTransfers() const { return unanswered_; }
    [[nodiscard]] const TftpCounters& counters() const { return counters_; }
    [[nodiscard]] Outbox& outbox() { return outbox_; }
    [[nodiscard]] const EngineConfig& config() const { return config_; }

private:
    struct Session;

    void handleRequest(const Endpoint& from, const proto::tftp::Request& req, const Instant& now);
    void refuse(TftpRefusal why, const Endpoint& to, const proto::tftp::Request& req,
                const Instant& now, const MappedPath* mapped = nullptr,
                std::string_view because = {});
    void emit(Session& s, const Emit& e);
    void endSession(const Endpoint& key);
    void scanTimers(Clock::time_point now);
    /// Notes a session's first answer (it leaves the unanswered budget).
    void noteAnswered(Session& s);
    /// Ends the oldest unanswered session if it has waited unansweredGrace;
    /// false when none has (the budget stays full).
    bool evictOldestUnanswered(Clock::time_point now);
    /// A new transfer's reply port.
    Channel newChannel();
    /// Where a refused request's ERROR leaves from.
    Channel refusalChannel();
    void count(TftpRefusal r) { ++counters_.refused[static_cast<std::size_t>(r)]; }

    EngineConfig config_;
    FileSource& files_;
    std::shared_ptr<const ClientDirectoryResolver> resolver_;
    SourceLimiter limiter_;
    std::unordered_map<Endpoint, std::unique_ptr<Session>, EndpointHash> sessions_;
    std::vector<std::unique_ptr<Session>> retired_;  ///< ended; freed at endTurn()
    Outbox outbox_;
    TftpCounters counters_;
    Channel nextChannel_ = 0;
    std::size_t unanswered_ = 0;
    bool accepting_ = true;
    Clock::time_point earliestDeadline_ = Clock::time_point::max();
    Clock::time_point nextExpire_{};
};

}  // namespace pinet::core::tftp
