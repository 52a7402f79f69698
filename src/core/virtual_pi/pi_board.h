#pragma once
// A virtual Raspberry Pi bootloader (spec netboot-protocol §12.2): the DHCP
// client of the EEPROM bootloader (§2), its TFTP server choice (§3.2) and its
// TFTP file sequence per model (§4.2-4.4), as a socket-free state machine with
// an injected steady clock. The app layer delivers packets and timer ticks and
// carries out the returned actions; many boards can run in one event loop.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/virtual_pi/self_update.h"
#include "proto/dhcp/dhcp_packet.h"

namespace pinet::core::virtual_pi {

using Clock = std::chrono::steady_clock;
using proto::dhcp::Ip4;

enum class Model { Cm4, Pi4, Pi5 };
enum class Bootloader { V2020, V2022, Latest };
/// What the board does after DHCP: BOOT_ORDER nibble 2 (TFTP, spec §4) or nibble 7
/// (HTTP boot.sig + boot.img, spec §5). Not proto::eeprom::BootMode, which names every
/// BOOT_ORDER digit; this board only emulates these two.
enum class BootMethod { Tftp, Http };

/// boot.img as the app fetched it: whole (bytes), or hashed as it arrived (sha256 set,
/// bytes empty), so that a storm of boards need not hold every image (up to 96 MB each,
/// spec §5) in memory at once.
struct BootImage {
    std::span<const std::uint8_t> bytes;
    std::uint64_t size = 0;
    std::optional<std::array<std::uint8_t, 32>> sha256{};
};
const char* toString(Model model);

/// The bootloader's self-update over TFTP (core/virtual_pi/self_update.h). Without it
/// the board still asks for pieeprom.sig (as a board with ENABLE_SELF_UPDATE=1 does)
/// but ignores what it gets.
struct SelfUpdateConfig {
    EepromState eeprom;     ///< what the board's EEPROM holds at power-on
    UpdateVerifier verify;  ///< sha256 (+ rsa2048 with a key); unset: not checked
    /// Erasing and writing the SPI flash, then the watchdog reset and a new link-up,
    /// before the board asks for DHCP again: a few seconds on a 512 KiB part [I].
    std::chrono::milliseconds flashTime{3000};
};
std::optional<Model> parseModel(std::string_view text);
std::optional<Bootloader> parseBootloader(std::string_view text);

struct BoardConfig {
    Model model = Model::Pi4;
    Bootloader bootloader = Bootloader::Latest;
    std::uint32_t serial = 0;
    std::array<std::uint8_t, 6> mac{};
    /// Board revision code in option 97 (spec §2.2): c03141 = CM4 rev 1.1, c03115 = Pi 4B,
    /// d04170 = Pi 5 (revision-code table of the Raspberry Pi documentation).
    std::uint32_t boardRevision = 0;
    std::string pxeMatch = "Raspberry Pi Boot";        ///< PXE_OPTION43 (spec §3.4)
    std::chrono::milliseconds dhcpReqTimeout{4000};    ///< DHCP_REQ_TIMEOUT default (spec §2.3)
    std::chrono::milliseconds dhcpTimeout{45000};      ///< DHCP_TIMEOUT default (spec §2.3)
    std::chrono::milliseconds tftpRetransmit{2000};    ///< RRQ re-sent every ~2 s (spec §4.1)
    std::chrono::milliseconds tftpFileTimeout{30000};  ///< TFTP_FILE_TIMEOUT (spec §4.1)

    BootMethod method = BootMethod::Tftp;
    /// HTTP_HOST as an IPv4 literal (spec §5: an IP literal avoids DNS), HTTP_PORT and
    /// HTTP_PATH; a custom host means plain HTTP on port 80 unless told otherwise.
    Ip4 httpHost = 0;
    std::uint16_t httpPort = 80;
    std::string httpPath = "net_install";
    /// Per request; boot.img may be up to 96 MB (spec §5).
    std::chrono::milliseconds httpTimeout{120000};
    /// Checks boot.img against boot.sig (sha256, and rsa2048 when the board holds a
    /// public key); returns what is wrong, or "" with @p detail saying what held.
    /// Injected by the app so that this state machine stays free of crypto. Unset:
    /// the download alone counts.
    std::function<std::string(const BootImage& image, std::string_view sig, std::string& detail)>
        verifyBootImage;

    /// Attempts of the network boot mode in all, the first power-on included. A failed
    /// network boot (DHCP_TIMEOUT, a TFTP/HTTP failure, a missing file) ends the boot
    /// mode; NET_BOOT_MAX_RETRIES=N retries it N times, and the RESTART nibble 0xf of
    /// BOOT_ORDER (the default 0xf41, the network presets 0xf21/0xf12) starts the boot
    /// order over until it boots (MAX_RESTARTS=-1, spec §2.3 and §7; Raspberry Pi
    /// bootloader documentation, NET_BOOT_MAX_RETRIES and BOOT_ORDER). 1 models a board
    /// whose boot order has no retry, or answers "did it boot on the first power-on?".
    int maxAttempts = 1;
    /// The wait before the next attempt. After a TFTP failure the bootloader waits 5 s
    /// "to avoid overloading a misconfigured TFTP server" (rpi-eeprom firmware-2711
    /// release notes 2020-06-03, rpi-eeprom#140); between failed boot modes it shows its
    /// LED error pattern and re-initialises the link, a few seconds too (the same issue;
    /// link-up takes 2.5-3 s, spec §1), so one value stands for both [I for DHCP].
    std::chrono::milliseconds retryBackoff{5000};
    /// The wait after a fatal error of the firmware stage (Pi 4/CM4: start4.elf's own
    /// TFTP client, spec §4.3 steps 6-11): since the 2026-04 releases the fatal error
    /// handler shows the error pattern three times in a row and then hard-resets the
    /// board (REBOOT_ON_FATAL_ERROR=1, the default; rpi-eeprom firmware-2711 and -2712
    /// release notes 2026-04-14). Three patterns plus the reset and the new link-up are
    /// estimated at 20 s [I]; the next attempt starts from DHCP as a power-on does.
    std::chrono::milliseconds fatalRestart{20000};
    /// The xid of attempt 2, 3, ...: each attempt is a new network boot with a fresh
    /// random xid (spec §2.1 "random per boot"; a new xid per restart is inferred [I], and
    /// it keeps a late reply to the old attempt out of the new one). The app injects a
    /// source that is unique across its boards; unset, the next xid is derived from the
    /// current one (deterministic, for tests).
    std::function<std::uint32_t()> nextXid;
    /// Self-update as the bootloader does it; unset: pieeprom.sig requested, not used.
    std::optional<SelfUpdateConfig> selfUpdate;
    /// TFTP_PREFIX (spec 4.2; bootloader documentation, TFTP_PREFIX): 0 the serial
    /// ("9ffefdef/"), 1 tftpPrefixStr as given (the board adds no '/'), 2 the MAC
    /// ("dc-a6-32-01-36-c2/"). Either way a prefix whose start4.elf / config.txt is
    /// missing is cleared and the boot goes on from the TFTP root.
    int tftpPrefix = 0;
    std::string tftpPrefixStr;  ///< TFTP_PREFIX_STR, at most 32 characters
};

/// Revision default per model (used when BoardConfig::boardRevision is 0).
std::uint32_t defaultRevision(Model model);

/// Send a DHCP message (a UDP payload) by broadcast from 0.0.0.0:68 with the board's MAC.
struct SendDhcp {
    std::vector<std::uint8_t> payload;
};
/// Send a TFTP datagram on session @p session (a fresh UDP socket = new TID per RRQ,
/// spec §4.1) to @p ip:@p port.
struct SendTftp {
    int session = 0;
    Ip4 ip = 0;
    std::uint16_t port = 0;
    std::vector<std::uint8_t> bytes;
};
/// The session's socket is no longer needed.
struct CloseTftp {
    int session = 0;
};
/// HTTP/1.1 GET http://@p ip:@p port@p path (spec §5), answered with onHttp(request, ...).
struct HttpGet {
    int request = 0;
    Ip4 ip = 0;
    std::uint16_t port = 80;
    std::string path;
    std::chrono::milliseconds timeout{};
    /// boot.img: the body's length and SHA-256 are enough (HttpResult::sha256), if the
    /// app can hash it as it arrives; it may still return the body.
    bool digestOnly = false;
};
using Action = std::variant<SendDhcp, SendTftp, CloseTftp, HttpGet>;

/// The outcome of one HttpGet: a status and body, or a transport error (status 0).
struct HttpResult {
    int status = 0;
    std::string error;  ///< when status is 0: why there is no response
    std::vector<std::uint8_t> body;
    /// For a digestOnly GET the app may leave body empty and give these instead.
    std::uint64_t length = 0;
    std::optional<std::array<std::uint8_t, 32>> sha256{};
    bool redirect = false;      ///< a 3xx with Location: the bootloader does not follow it
    bool contentLength = true;  ///< the response said how long it is (no chunking)
};

struct TimelineEntry {
    Clock::duration at{};  ///< since start()
    std::string text;
};

class PiBoard {
public:
    PiBoard(BoardConfig config, std::uint32_t xid, int firstSession);

    std::vector<Action> start(Clock::time_point now);
    /// A DHCP reply whose xid and chaddr match this board.
    std::vector<Action> onDhcp(const proto::dhcp::Packet& packet, Ip4 sourceIp,
                               Clock::time_point now);
    /// A datagram on one of this board's TFTP sessions.
    std::vector<Action> onTftp(int session, std::uint16_t fromPort,
                               std::span<const std::uint8_t> bytes, Clock::time_point now);
    std::vector<Action> onTimer(Clock::time_point now);
    /// The answer to HttpGet @p request.
    std::vector<Action> onHttp(int request, const HttpResult& result, Clock::time_point now);

    [[nodiscard]] Clock::time_point nextDeadline() const { return deadline_; }
    /// Booted, or failed on its last attempt (a board waiting to retry is not finished).
    [[nodiscard]] bool finished() const { return phase_ == Phase::Done || phase_ == Phase::Failed; }
    [[nodiscard]] bool booted() const { return phase_ == Phase::Done; }
    [[nodiscard]] const std::string& verdict() const { return verdict_; }
    [[nodiscard]] const std::vector<TimelineEntry>& timeline() const { return timeline_; }
    /// Time from start() (the power-on) until the kernel was completely fetched, on
    /// whichever attempt did it: the time to booted, retries and back-offs included.
    [[nodiscard]] std::optional<Clock::duration> kernelTime() const { return kernelTime_; }
    /// Time from start() until the DHCP ACK of the current (or booted) attempt.
    [[nodiscard]] std::optional<Clock::duration> dhcpTime() const { return dhcpTime_; }
    /// Bytes of the files fetched whole on the current (or booted) attempt: what one
    /// boot takes from the server (size probes not counted).
    [[nodiscard]] std::uint64_t bytesFetched() const { return bytesFetched_; }
    /// Attempts begun so far (1 from start() on; 2 once the first retry has begun).
    [[nodiscard]] int attempts() const { return attempt_; }
    /// When the attempt that booted began, since start() (0 when the first one booted).
    [[nodiscard]] std::optional<Clock::duration> bootedAttemptStart() const {
        return booted() ? std::optional<Clock::duration>(attemptStarted_ - started_) : std::nullopt;
    }
    /// Why each earlier attempt failed, in order (the last failure is in the verdict).
    [[nodiscard]] const std::vector<std::string>& attemptFailures() const {
        return attemptFailures_;
    }
    [[nodiscard]] std::uint32_t xid() const { return xid_; }
    /// The EEPROM now (after any self-update flashed in this run).
    [[nodiscard]] const EepromState& eeprom() const { return eeprom_; }
    /// Self-updates flashed in this run (each followed by a reboot).
    [[nodiscard]] int flashes() const { return flashes_; }
    /// Why each pieeprom.upd that did not check out was refused.
    [[nodiscard]] const std::vector<std::string>& refusedUpdates() const { return refused_; }
    /// At most this many flashes per run: a server offering a newer .sig every boot would
    /// otherwise keep the board in a flash-reboot loop (as it would a real one).
    static constexpr int kMaxFlashes = 3;
    [[nodiscard]] const BoardConfig& config() const { return config_; }
    [[nodiscard]] std::string serialHex() const;
    [[nodiscard]] std::string prefix() const { return prefix_; }
    /// The prefix a boot starts with, from TFTP_PREFIX.
    [[nodiscard]] std::string initialPrefix() const;
    /// 2711 (Pi 4, CM4) or 2712 (Pi 5).
    [[nodiscard]] unsigned soc() const;
    [[nodiscard]] Ip4 address() const { return ip_; }
    [[nodiscard]] Ip4 tftpServer() const { return tftpIp_; }
    /// The hop a datagram to @p to goes through on the wire: @p to itself on the
    /// leased subnet (option 1), else the router (option 3), as an IP stack decides
    /// whom to ARP for. Without a mask every address counts as on-link.
    [[nodiscard]] Ip4 nextHop(Ip4 to) const {
        const bool onLink = netmask_ == 0 || (to & netmask_) == (ip_ & netmask_);
        return onLink || router_ == 0 ? to : router_;
    }
    /// Highest session id this board may use (ids are firstSession .. firstSession+999).
    static constexpr int kSessionsPerBoard = 1000;

    /// The exact DISCOVER (spec §2.1): options 53, 55, 93, 94, 97, 60, flags 0.
    [[nodiscard]] proto::dhcp::Packet buildDiscover() const;

private:
    /// Backoff: the attempt failed and the next one begins at deadline_.
    /// Flashing: a self-update is being written; the board resets at deadline_.
    enum class Phase { Discovering, Requesting, Tftp, Http, Backoff, Flashing, Done, Failed };
    struct Offer {
        Ip4 from = 0;
        proto::dhcp::Packet packet;
    };
    /// One file step of the plan.
    struct Step {
        std::string name;
        bool sizeQueryOnly = false;  ///< tsize query-and-abort (OACK then "Early terminate")
        bool required = false;
        /// Fetched by start4.elf, not by the EEPROM bootloader (Pi 4/CM4, spec §4.3
        /// steps 6-11): a failure here is a fatal error of the firmware.
        bool firmware = false;
        enum class Role {
            Normal,
            PrefixQuery,
            PrefixQueryAlt,
            Kernel,
            KernelAlt,
            SelfUpdateSig,   ///< pieeprom.sig
            SelfUpdateImage  ///< pieeprom.upd
        } role = Role::Normal;
    };
    enum class FileResult { Found, NotFound, Error, Timeout };
    struct Transfer {
        int session = 0;
        Step step;
        std::string path;
        std::uint16_t serverPort = 0;  ///< 0 until the first reply (TID)
        std::uint32_t blksize = 512;
        std::optional<std::uint64_t> tsize;
        std::uint16_t lastBlock = 0;
        std::uint64_t received = 0;
        Clock::time_point started{};
        Clock::time_point fileDeadline{};
        Clock::time_point retransmitAt{};
        std::vector<std::uint8_t> lastSent;
        /// Self-update files are kept (bounded by keepLimit); everything else is counted.
        bool keep = false;
        std::size_t keepLimit = 0;
        bool overflow = false;
        std::vector<std::uint8_t> data;
    };

    void log(Clock::time_point now, std::string text);
    /// The attempt fails: the board waits and retries if it has attempts left, else it
    /// does not boot. @p fatal: a firmware-stage fatal error (BoardConfig::fatalRestart).
    void giveUp(Clock::time_point now, const std::string& why, bool fatal = false);
    /// Begins the next attempt: a new xid, everything learnt forgotten, DISCOVER.
    std::vector<Action> restartAttempt(Clock::time_point now);
    /// Forgets the last boot (lease, prefix, plan) and begins a new one with a new xid.
    void resetBoot(Clock::time_point now);
    /// The reset after a self-update: a new boot that is not a failed attempt.
    std::vector<Action> rebootAfterFlash(Clock::time_point now);
    /// "" on the first attempt, else which attempt booted and why the first failed.
    [[nodiscard]] std::string attemptNote() const;
    std::vector<Action> sendDiscover(Clock::time_point now);
    std::vector<Action> sendRequest(Clock::time_point now);
    std::vector<Action> beginTftp(Clock::time_point now);
    std::vector<Action> beginHttp(Clock::time_point now);
    std::vector<Action> httpGet(const std::string& name, Clock::time_point now);
    [[nodiscard]] std::string httpUrl(const std::string& name) const;
    std::vector<Action> nextStep(Clock::time_point now);
    std::vector<Action> startTransfer(const Step& step, Clock::time_point now);
    std::vector<Action> finishTransfer(FileResult result, std::string detail,
                                       Clock::time_point now);
    void buildPlan();
    std::uint32_t requestedBlksize() const;
    std::string offerSummary(const Offer& o) const;
    void updateDeadline();

    BoardConfig config_;
    std::uint32_t xid_;
    int nextSession_;
    Phase phase_ = Phase::Discovering;
    Clock::time_point started_{};
    int attempt_ = 1;
    Clock::time_point attemptStarted_{};
    std::vector<std::string> attemptFailures_;
    Clock::time_point deadline_{};
    Clock::time_point dhcpDeadline_{};
    std::optional<Offer> pxeOffer_;
    std::optional<Offer> addressOffer_;
    std::vector<std::string> offerProblems_;  ///< why offers were not PXE offers
    Ip4 ip_ = 0;
    Ip4 netmask_ = 0;
    Ip4 router_ = 0;
    Ip4 tftpIp_ = 0;
    std::string prefix_;
    std::deque<Step> plan_;
    std::optional<Transfer> transfer_;
    int httpRequest_ = 0;   ///< the outstanding HttpGet
    std::string httpName_;  ///< "boot.sig" or "boot.img"
    Clock::time_point httpStarted_{};
    std::vector<std::uint8_t> bootSig_;
    std::string kernelName_;
    std::size_t filesFetched_ = 0;
    std::uint64_t bytesFetched_ = 0;
    std::string verdict_;
    std::vector<TimelineEntry> timeline_;
    std::optional<Clock::duration> kernelTime_;
    std::optional<Clock::duration> dhcpTime_;
    EepromState eeprom_;
    std::string updateSig_;  ///< the pieeprom.sig of this boot
    int flashes_ = 0;
    std::vector<std::string> refused_;
};

}  // namespace pinet::core::virtual_pi
