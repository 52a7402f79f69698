#pragma once
// The network around a board, seen from its DHCP (issue #15; raspberrypi/rpi-eeprom#480):
// a switch port that runs spanning tree without port-fast / edge mode blocks for its
// listening + learning delay (about 30 s) after link-up, and a DHCP-filtering switch drops
// the server's answers. Both look, from the server, like this:
//  - late start: the first DISCOVER seen from a board already says it began long ago
//    (RFC 2131 `secs`, seconds since the client began; the Pi bootloader starts DHCP right
//    after link-up, so a large `secs` on the first DISCOVER seen is time its port blocked);
//  - no answer reaching it: DISCOVERs keep coming, after our OFFERs, and the board never
//    sends a REQUEST.
// Pure, with an injected clock; serve feeds it, doctor reports what it found.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pinet::core::boot {

enum class LinkProblem { LateStart, Unanswered };

struct LinkFinding {
    std::string mac;
    LinkProblem problem = LinkProblem::LateStart;
    std::uint16_t secs = 0;        ///< LateStart: the first DISCOVER's secs
    std::uint32_t discovers = 0;   ///< Unanswered: DISCOVERs in the window
    std::uint32_t offersSent = 0;  ///< Unanswered: our OFFERs to it in the window
    std::string message;           ///< one line for a person
    std::string fix;
};

struct LinkWatchConfig {
    /// A first DISCOVER with secs at least this is a late start. The bootloader retries
    /// DISCOVER every 4 s (spec netboot-protocol.md section 2.3); 15 s is several lost tries,
    /// and half the ~30 s STP delay.
    std::uint16_t lateSecs = 15;
    /// DISCOVERs without a REQUEST before a board counts as unanswered: the bootloader's
    /// 4 s retransmit makes 4 about 12 s of asking.
    std::uint32_t unansweredDiscovers = 4;
    /// A board quiet this long starts afresh (its next DISCOVER is a new boot).
    std::chrono::seconds quiet{120};
    /// Boards remembered at once (bounded: every MAC on the LAN could send a DISCOVER).
    std::size_t maxBoards = 4096;
};

class LinkWatch {
public:
    using Instant = std::chrono::steady_clock::time_point;
    explicit LinkWatch(LinkWatchConfig config = {}) : config_(config) {}

    /// A DHCPDISCOVER from @p mac. Returns a finding the first time a board shows a problem
    /// in one boot (LateStart on its first DISCOVER, Unanswered when the count is reached).
    std::vector<LinkFinding> onDiscover(const std::string& mac, std::uint16_t secs, Instant now);
    /// We sent @p mac an OFFER.
    void onOfferSent(const std::string& mac, Instant now);
    /// @p mac sent a REQUEST: an answer reached it.
    void onRequest(const std::string& mac, Instant now);

    std::size_t tracked() const { return boards_.size(); }

private:
    struct Board {
        Instant last{};
        std::uint32_t discovers = 0;
        std::uint32_t offers = 0;
        bool lateReported = false;
        bool unansweredReported = false;
    };
    Board& board(const std::string& mac, Instant now, bool& fresh);

    LinkWatchConfig config_;
    std::map<std::string, Board> boards_;
};

/// The fix for both: the switch port of a board must forward at once.
std::string linkFix();

}  // namespace pinet::core::boot
