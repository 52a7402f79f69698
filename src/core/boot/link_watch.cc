#include "core/boot/link_watch.h"

#include <algorithm>

#include <fmt/format.h>

namespace pinet::core::boot {

std::string linkFix() {
    return "make the board's switch port an edge port (Cisco: spanning-tree portfast; "
           "others: edge port / port-fast / admin-edge), or turn spanning tree off on it, so it "
           "forwards at link-up (raspberrypi/rpi-eeprom#480); if the switch filters DHCP "
           "(DHCP snooping), trust the port of this server";
}

LinkWatch::Board& LinkWatch::board(const std::string& mac, Instant now, bool& fresh) {
    auto it = boards_.find(mac);
    fresh = it == boards_.end() || now - it->second.last >= config_.quiet;
    if (it == boards_.end()) {
        if (boards_.size() >= config_.maxBoards) {
            // Evict the board heard from longest ago: the table stays bounded.
            auto oldest = std::min_element(
                boards_.begin(), boards_.end(),
                [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
            boards_.erase(oldest);
        }
        it = boards_.emplace(mac, Board{}).first;
    }
    if (fresh) {
        it->second = Board{};
    }
    it->second.last = now;
    return it->second;
}

std::vector<LinkFinding> LinkWatch::onDiscover(const std::string& mac, std::uint16_t secs,
                                               Instant now) {
    std::vector<LinkFinding> out;
    bool fresh = false;
    auto& b = board(mac, now, fresh);
    ++b.discovers;
    if (fresh && secs >= config_.lateSecs && !b.lateReported) {
        b.lateReported = true;
        LinkFinding f;
        f.mac = mac;
        f.problem = LinkProblem::LateStart;
        f.secs = secs;
        f.message = fmt::format(
            "board {}: its first DISCOVER seen here says it began {} s earlier (DHCP secs): its "
            "earlier packets were lost, typically a switch port blocking for spanning tree's "
            "listening and learning (~30 s) after link-up",
            mac, secs);
        f.fix = linkFix();
        out.push_back(std::move(f));
    }
    if (b.discovers >= config_.unansweredDiscovers && b.offers > 0 && !b.unansweredReported) {
        b.unansweredReported = true;
        LinkFinding f;
        f.mac = mac;
        f.problem = LinkProblem::Unanswered;
        f.discovers = b.discovers;
        f.offersSent = b.offers;
        f.message = fmt::format(
            "board {}: {} DISCOVERs and no REQUEST, though pinetboot sent it {} OFFER{}: the "
            "answers do not reach it (a port still blocking for spanning tree, or a switch "
            "filtering DHCP)",
            mac, b.discovers, b.offers, b.offers == 1 ? "" : "s");
        f.fix = linkFix();
        out.push_back(std::move(f));
    }
    return out;
}

void LinkWatch::onOfferSent(const std::string& mac, Instant now) {
    auto it = boards_.find(mac);
    if (it != boards_.end() && now - it->second.last < config_.quiet) {
        ++it->second.offers;
    }
}

void LinkWatch::onRequest(const std::string& mac, Instant now) {
    auto it = boards_.find(mac);
    if (it != boards_.end()) {
        // An answer got through: this boot is past DHCP; count afresh from here.
        it->second.discovers = 0;
        it->second.offers = 0;
        it->second.last = now;
    }
}

}  // namespace pinet::core::boot
