#include "core/boot/admission.h"

#include <algorithm>
#include <cmath>

namespace pinet::core::boot {

namespace {
// Smoothing of the throughput estimate per window: a new window weighs 1/4, so the
// estimate follows a change within about four windows (1 s) yet one window in which
// the admitted boards happened to be between files does not close the gate.
constexpr double kThroughputWeight = 0.25;
// A window this many times longer than configured had no traffic call at all: the
// server was idle, and that window says nothing about what it can deliver.
constexpr int kIdleWindows = 8;
// Weight of a finished board's bytes in the plan estimate.
constexpr double kPlanWeight = 0.25;
// A finished board counts towards the plan estimate only if it fetched at least
// this much (a board that was sent only config.txt and then failed is no sample).
constexpr std::uint64_t kMinPlanSample = 256 * 1024;
// What an admitted board that has already been sent its plan is assumed to still
// need: a board between its last files (or one whose plan is a little larger).
constexpr std::uint64_t kReserveBytes = 256 * 1024;
// A board that has been sent this share of the plan is nearly done: it counts only the
// reserve, and a short quiet spell (kNearlyDoneIdle) ends it. Plans vary from board to
// board, so "sent the whole plan" would leave a board that needed a little less counted
// in full until idleDone passed (measured in the storm model: a quarter of the budget).
constexpr double kNearlyDone = 0.9;
constexpr std::chrono::milliseconds kNearlyDoneIdle{500};
// Boards' own speed limits (issue #14: per-board round-trip time). A lockstep board
// takes at most one window per round trip, so one whose ceiling x horizon is below its
// plan cannot finish inside the horizon however the server shares, and would not use
// a plan's worth of the budget: counting its whole plan (the plain rule) closes the
// gate on a server with room to spare (in the storm model, 400 boards of 24 MB at
// 1.5 MB/s each on a 100 MB/s server: 1.36x the capacity bound, 303 boards retried).
// So while the pipe is not full, such a board counts only ceiling x horizon, and the
// budget gets kProbeHeadroom on top, because boards at their ceiling deliver exactly
// the measured throughput and a newcomer would never fit otherwise.
//
// A busy server's own queueing lengthens every round trip it measures, so a ceiling
// can be the board's share rather than its limit. Capping is therefore allowed only
// until the pipe is full: the throughput failed to grow by kProbeGrowth for
// kStallWindows windows in which boards were waiting (the gate, not demand, limited
// it; as TCP BBR finds a full pipe). Then the plain rule holds again, until the
// throughput falls below kUnfullDrop of the full level (boards finished; probe again).
constexpr double kProbeHeadroom = 0.25;
constexpr double kProbeGrowth = 1.10;
constexpr int kStallWindows = 4;  // 1 s at the default 250 ms window
constexpr double kUnfullDrop = 0.75;
// A waiting board is released only while it is asking: its last DISCOVER (or RRQ) came
// within this. A held Pi re-sends every DHCP_REQ_TIMEOUT (4 s, spec netboot-protocol
// §2.3); 2 s more covers jitter and the loop's delay. A board quiet for longer is between
// boot attempts (its DHCP_TIMEOUT passed and the bootloader is restarting its boot
// order): an OFFER to its old DISCOVER would be ignored, the admission would run out as a
// no-show and the board would come back at the end of the queue. So it keeps its place
// and the capacity goes to the next board that is asking. (In the storm model with the
// bootloader's 5 s back-off between attempts, without this rule and requeueNoShow the
// boards released into their back-off lost their place: the 1500 x 10 MB and 400 x 24 MB
// storms let boards in out of arrival order.)
constexpr std::chrono::seconds kLiveAsk{6};
// How many quiet boards one pass looks past for a board that is asking: the pass runs
// on every DISCOVER, and 64 bounds its cost while covering the boards that restarted
// their attempt together (they ask again within seconds).
constexpr std::size_t kMaxSkippedQuiet = 64;
// Holding has ended when the queue has been empty this long.
constexpr std::chrono::seconds kStormQuiet{5};
// Boards listed in a snapshot.
constexpr std::size_t kSnapshotQueue = 64;

double seconds(SteadyClock::duration d) {
    return std::chrono::duration<double>(d).count();
}
}  // namespace

const char* toString(AdmitResult r) {
    switch (r) {
        case AdmitResult::Admitted: return "admitted";
        case AdmitResult::Held: return "held";
        case AdmitResult::QueueFull: return "queue_full";
    }
    return "admitted";
}

AdmissionController::AdmissionController(AdmissionConfig config) : config_(config) {}

void AdmissionController::setInitialPlanBytes(std::uint64_t bytes) {
    if (bytes > 0) {
        config_.initialPlanBytes = bytes;
    }
}

std::uint64_t AdmissionController::planBytes() const {
    if (planSamples_ == 0) {
        return config_.initialPlanBytes;
    }
    return static_cast<std::uint64_t>(learnedPlan_);
}

std::uint64_t AdmissionController::effectiveThroughput() const {
    auto t = static_cast<std::uint64_t>(throughput_);
    t = std::max(t, config_.floorThroughput);
    if (config_.maxThroughput != 0) {
        t = std::min(t, config_.maxThroughput);
    }
    return t;
}

std::uint64_t AdmissionController::budget(std::chrono::milliseconds horizon) const {
    const double b =
        static_cast<double>(effectiveThroughput()) * std::chrono::duration<double>(horizon).count();
    return static_cast<std::uint64_t>(b);
}

std::uint64_t AdmissionController::outstanding() const {
    const std::uint64_t plan = planBytes();
    // Each board counts its whole plan until it has been sent most of it, not just what
    // it still needs: admitted boards share the server equally, so a board's time is
    // (boards fetching) x plan / throughput whatever the others have left, and it is
    // that product the horizon bounds. A board past kNearlyDone of its plan is done
    // but for its last file's tail.
    std::uint64_t sum = 0;
    for (const auto& [key, b] : boards_) {
        sum += static_cast<double>(b.delivered) < kNearlyDone * static_cast<double>(plan)
                   ? plan
                   : kReserveBytes;
    }
    return sum;
}

std::uint64_t AdmissionController::medianCeiling() const {
    std::vector<std::uint64_t> c;
    c.reserve(boards_.size());
    for (const auto& [key, b] : boards_) {
        if (b.ceiling > 0) {
            c.push_back(b.ceiling);
        }
    }
    if (c.empty()) {
        return 0;
    }
    auto mid = c.begin() + static_cast<std::ptrdiff_t>(c.size() / 2);
    std::nth_element(c.begin(), mid, c.end());
    return *mid;
}

AdmissionController::Commitment AdmissionController::commitment(std::uint64_t plan) const {
    Commitment c;
    const double h = std::chrono::duration<double>(config_.horizon).count();
    const bool capping = !pipeFull_;
    auto capOf = [&](std::uint64_t ceiling) {
        return static_cast<std::uint64_t>(static_cast<double>(ceiling) * h);
    };
    for (const auto& [key, b] : boards_) {
        const std::uint64_t w =
            static_cast<double>(b.delivered) < kNearlyDone * static_cast<double>(plan)
                ? plan
                : kReserveBytes;
        c.uncapped += w;
        // A board whose ceiling barely exceeds what the horizon needs is also held by
        // it: the plain rule widens only by what boards take beyond plan / horizon, so
        // near the ceiling it opens a board at a time. Both get the headroom.
        if (capping && b.ceiling > 0 &&
            static_cast<double>(capOf(b.ceiling)) < (1 + kProbeHeadroom) * static_cast<double>(w)) {
            c.work += std::min(w, capOf(b.ceiling));
            c.capped = true;
        } else {
            c.work += w;
        }
    }
    c.newcomer = plan;
    if (capping && c.capped) {
        // A newcomer is assumed to be like the boards already fetching.
        if (const std::uint64_t m = medianCeiling(); m > 0) {
            c.newcomer = std::min(plan, capOf(m));
        }
    }
    return c;
}

void AdmissionController::probePipe() {
    if (pipeFull_) {
        if (throughput_ < kUnfullDrop * fullThroughput_) {
            pipeFull_ = false;
            probeBest_ = throughput_;
            stallWindows_ = 0;
        }
        return;
    }
    if (queue_.empty()) {
        // Not gate-limited: a flat throughput says nothing about the server.
        stallWindows_ = 0;
        probeBest_ = std::max(probeBest_, throughput_);
        return;
    }
    if (throughput_ >= kProbeGrowth * probeBest_) {
        probeBest_ = throughput_;
        stallWindows_ = 0;
    } else if (++stallWindows_ >= kStallWindows) {
        pipeFull_ = true;
        fullThroughput_ = std::max(probeBest_, throughput_);
    }
}

void AdmissionController::rollWindow(SteadyClock::time_point now) {
    if (windowStart_ == SteadyClock::time_point{}) {
        windowStart_ = now;
        return;
    }
    const auto elapsed = now - windowStart_;
    if (elapsed < config_.window) {
        return;
    }
    if (elapsed <= config_.window * kIdleWindows) {
        const double sample = static_cast<double>(windowBytes_) / seconds(elapsed);
        // Only windows in which admitted boards were fetching say what the server
        // delivers; an empty window while every admitted board is still in DHCP would
        // otherwise pull the estimate down and close the gate on an idle server.
        if (windowBytes_ > 0 || boards_.empty()) {
            throughput_ = throughput_ == 0
                              ? sample
                              : kThroughputWeight * sample + (1 - kThroughputWeight) * throughput_;
            probePipe();
        }
    }
    windowStart_ = now;
    windowBytes_ = 0;
}

void AdmissionController::noteWait(SteadyClock::duration waited) {
    const double s = seconds(waited);
    for (std::size_t i = 0; i < kWaitBuckets.size(); ++i) {
        if (s <= kWaitBuckets[i]) {
            ++totals_.waitBuckets[i];
        }
    }
    ++totals_.waitBuckets[kWaitBuckets.size()];
    totals_.waitSecondsSum += s;
}

namespace {
std::size_t slotOf(std::int64_t second, std::size_t slots) {
    const auto n = static_cast<std::int64_t>(slots);
    return static_cast<std::size_t>(((second % n) + n) % n);
}
}  // namespace

void AdmissionController::countAdmission(SteadyClock::time_point now) {
    const auto sec =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (sec > rateSecond_) {
        // Clear the slots of the seconds that passed without an admission.
        const auto gap =
            std::min<std::int64_t>(sec - rateSecond_, static_cast<std::int64_t>(kRateSeconds));
        for (std::int64_t i = 1; i <= gap; ++i) {
            perSecond_[slotOf(rateSecond_ + i, kRateSeconds)] = 0;
        }
        rateSecond_ = sec;
    }
    ++perSecond_[slotOf(sec, kRateSeconds)];
}

double AdmissionController::admissionRate(SteadyClock::time_point now) const {
    const auto sec =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kRateSeconds; ++i) {
        // Slot of second rateSecond_ - i, if that second is still inside the window.
        const std::int64_t second = rateSecond_ - static_cast<std::int64_t>(i);
        if (sec - second < static_cast<std::int64_t>(kRateSeconds)) {
            sum += perSecond_[slotOf(second, kRateSeconds)];
        }
    }
    return static_cast<double>(sum) / static_cast<double>(kRateSeconds);
}

void AdmissionController::bind(const std::string& board, Board& b, std::uint32_t address) {
    if (b.address == address) {
        return;
    }
    if (b.address) {
        auto it = byAddress_.find(*b.address);
        if (it != byAddress_.end() && it->second == board) {
            byAddress_.erase(it);
        }
    }
    // A board that takes over an address another admitted board had (a lease moved)
    // takes its traffic from now on.
    b.address = address;
    byAddress_[address] = board;
}

void AdmissionController::admit(const Waiting& w, SteadyClock::time_point now) {
    Board b;
    b.admittedAt = now;
    b.lastTraffic = now;
    b.waited = now - w.since;
    auto [it, fresh] = boards_.emplace(w.board, b);
    if (!fresh) {
        return;
    }
    if (w.address) {
        bind(w.board, it->second, *w.address);
    } else {
        unbound_.push_back(w.board);
    }
    ++totals_.admissions;
    countAdmission(now);
    noteWait(b.waited);
    if (holding_) {
        stormLongestWait_ = std::max(stormLongestWait_, b.waited);
    }
}

void AdmissionController::admitFromQueue(SteadyClock::time_point now, std::string_view self) {
    if (queue_.empty()) {
        return;
    }
    const std::size_t ceiling =
        config_.maxAdmitted == 0 ? kMaxAdmitted : std::min(config_.maxAdmitted, kMaxAdmitted);
    const std::uint64_t plan = planBytes();
    const Commitment c = commitment(plan);
    std::uint64_t soft = budget(config_.horizon);
    if (c.capped) {
        soft += static_cast<std::uint64_t>(kProbeHeadroom * static_cast<double>(soft));
    }
    const std::uint64_t hard = budget(config_.hardHorizon);
    std::uint64_t work = c.work;
    std::uint64_t uncapped = c.uncapped;
    std::size_t skipped = 0;
    for (auto it = queue_.begin(); it != queue_.end() && boards_.size() < ceiling;) {
        const Waiting& head = *it;
        if (now - head.lastSeen > kLiveAsk) {
            // Between attempts (kLiveAsk): it keeps its place, the next one may go.
            if (++skipped > kMaxSkippedQuiet) {
                break;
            }
            ++it;
            continue;
        }
        const bool fits = boards_.empty() || work + c.newcomer <= soft;
        // Past maxHold the plain rule bounds what is let in (no caps, no headroom):
        // the hard horizon is the deadline's last margin.
        const bool late = now - head.since >= config_.maxHold && uncapped + plan <= hard;
        if (!fits && !late) {
            break;
        }
        if (!fits) {
            ++totals_.overcommitted;
        }
        admit(head, now);
        if (head.board != self) {
            // Bounded: nobody takes them with `--dhcp off` (a board there is let in by
            // its own next request), so keep only the newest.
            if (released_.size() >= config_.maxWaiting) {
                released_.erase(released_.begin(), released_.begin() + static_cast<std::ptrdiff_t>(
                                                                           released_.size() / 2));
            }
            released_.push_back(head.board);
        }
        work += c.newcomer;
        uncapped += plan;
        waitingIndex_.erase(head.board);
        it = queue_.erase(it);
    }
    if (queue_.empty()) {
        queueEmptySince_ = now;
    }
}

AdmitResult AdmissionController::request(std::string_view board, SteadyClock::time_point now,
                                         std::optional<std::uint32_t> address) {
    if (!config_.enabled) {
        return AdmitResult::Admitted;
    }
    rollWindow(now);
    expire(now);
    std::string key(board);
    if (boards_.contains(key)) {
        return AdmitResult::Admitted;
    }
    auto w = waitingIndex_.find(key);
    const bool fresh = w == waitingIndex_.end();
    if (!fresh) {
        w->second->lastSeen = now;
        if (address) {
            w->second->address = address;
        }
    } else {
        if (queue_.size() >= config_.maxWaiting) {
            ++totals_.queueFull;
            return AdmitResult::QueueFull;
        }
        Waiting entry;
        entry.board = key;
        entry.address = address;
        entry.since = now;
        entry.lastSeen = now;
        entry.sequence = nextSequence_++;
        queue_.push_back(std::move(entry));
        waitingIndex_.emplace(key, std::prev(queue_.end()));
    }
    admitFromQueue(now, key);
    if (boards_.contains(key)) {
        return AdmitResult::Admitted;
    }
    if (!holding_) {
        // The first hold after a quiet spell starts a storm (one log line).
        holding_ = true;
        holdingSince_ = now;
        stormHeld_ = 0;
        stormLongestWait_ = {};
        AdmissionNotice n;
        n.kind = AdmissionNotice::Kind::HoldingStarted;
        n.waiting = queue_.size();
        n.admitted = boards_.size();
        n.throughput = static_cast<std::uint64_t>(throughput_);
        notices_.push_back(n);
    }
    if (fresh) {
        ++totals_.heldBoards;
        ++stormHeld_;
    }
    return AdmitResult::Held;
}

void AdmissionController::bindAddress(std::string_view board, std::uint32_t address) {
    auto it = boards_.find(std::string(board));
    if (it != boards_.end()) {
        bind(it->first, it->second, address);
    }
}

void AdmissionController::onDelivered(std::uint32_t address, std::uint64_t bytes,
                                      SteadyClock::time_point now, std::uint64_t ceiling) {
    if (!config_.enabled) {
        return;
    }
    rollWindow(now);
    windowBytes_ += bytes;
    auto it = byAddress_.find(address);
    Board* board = nullptr;
    if (it != byAddress_.end()) {
        auto b = boards_.find(it->second);
        if (b != boards_.end()) {
            board = &b->second;
        } else {
            byAddress_.erase(it);
        }
    }
    while (board == nullptr && !unbound_.empty()) {
        const std::string key = std::move(unbound_.front());
        unbound_.pop_front();
        auto b = boards_.find(key);
        if (b != boards_.end() && !b->second.address) {
            bind(key, b->second, address);
            board = &b->second;
        }
    }
    if (board == nullptr) {
        // Traffic of a board that never passed the gate (it got its address from
        // another DHCP server, or asked before we started): it uses capacity, so it
        // is counted as admitted from now on.
        if (boards_.size() >= kMaxAdmitted) {
            return;
        }
        std::string key = "ip:" + std::to_string(address);
        Board b;
        b.admittedAt = now;
        auto [bi, fresh] = boards_.emplace(key, b);
        if (fresh) {
            ++totals_.unmanaged;
        }
        bind(key, bi->second, address);
        board = &bi->second;
    }
    board->delivered += bytes;
    board->lastTraffic = now;
    board->started = true;
    // Its fastest round trip so far (a later file may be measured on a quieter server).
    board->ceiling = std::max(board->ceiling, ceiling);
}

void AdmissionController::finish(std::unordered_map<std::string, Board>::iterator it) {
    if (it->second.address) {
        auto a = byAddress_.find(*it->second.address);
        if (a != byAddress_.end() && a->second == it->first) {
            byAddress_.erase(a);
        }
    }
    boards_.erase(it);
}

void AdmissionController::expire(SteadyClock::time_point now) {
    if (now < nextExpire_) {
        return;
    }
    nextExpire_ = now + config_.window;
    for (auto it = boards_.begin(); it != boards_.end();) {
        auto next = std::next(it);
        const Board& b = it->second;
        const bool nearlyDone =
            static_cast<double>(b.delivered) >= kNearlyDone * static_cast<double>(planBytes());
        const auto idle = now - b.lastTraffic;
        if (b.started && (idle >= config_.idleDone || (nearlyDone && idle >= kNearlyDoneIdle))) {
            ++totals_.completed;
            if (b.delivered >= kMinPlanSample) {
                const auto d = static_cast<double>(b.delivered);
                learnedPlan_ =
                    planSamples_ == 0 ? d : kPlanWeight * d + (1 - kPlanWeight) * learnedPlan_;
                ++planSamples_;
            }
            finish(it);
        } else if (!b.started && now - b.admittedAt >= config_.noShow) {
            ++totals_.noShows;
            requeueNoShow(it->first, b);
            finish(it);
        }
        it = next;
    }
    if (unbound_.size() > 2 * boards_.size() + 64) {
        // Names of boards that have left; drop them rather than let them pile up.
        std::erase_if(unbound_, [this](const std::string& k) {
            auto b = boards_.find(k);
            return b == boards_.end() || b->second.address.has_value();
        });
    }
    for (auto it = queue_.begin(); it != queue_.end();) {
        if (now - it->lastSeen >= config_.forgetWaiting) {
            ++totals_.forgotten;
            waitingIndex_.erase(it->board);
            it = queue_.erase(it);
            if (queue_.empty()) {
                queueEmptySince_ = now;
            }
        } else {
            ++it;
        }
    }
}

void AdmissionController::requeueNoShow(const std::string& board, const Board& b) {
    // A board let in from the queue that never fetched most likely missed its OFFER
    // (it was answered just as its attempt timed out, or the OFFER was lost): it goes
    // back to the front with its first arrival, so its next attempt is not sent to the
    // end of the queue. Its last ask was its admission, so if it never asks again it
    // is forgotten as any quiet board is (forgetWaiting), and while quiet it is not
    // released again (kLiveAsk): a forged DISCOVER costs one noShow of capacity.
    if (b.waited == SteadyClock::duration{} || waitingIndex_.contains(board) ||
        queue_.size() >= config_.maxWaiting) {
        return;
    }
    Waiting w;
    w.board = board;
    w.address = b.address;
    w.since = b.admittedAt - b.waited;
    w.lastSeen = b.admittedAt;
    // Unsigned, so one below the head wraps consistently with positionOf's difference.
    w.sequence = queue_.empty() ? nextSequence_++ : queue_.front().sequence - 1;
    queue_.push_front(std::move(w));
    waitingIndex_.emplace(board, queue_.begin());
    ++totals_.requeued;
}

void AdmissionController::tick(SteadyClock::time_point now) {
    if (!config_.enabled) {
        return;
    }
    rollWindow(now);
    expire(now);
    admitFromQueue(now, {});
    if (holding_ && queue_.empty() && now - queueEmptySince_ >= kStormQuiet) {
        holding_ = false;
        AdmissionNotice n;
        n.kind = AdmissionNotice::Kind::StormOver;
        n.admitted = boards_.size();
        n.throughput = static_cast<std::uint64_t>(throughput_);
        n.boardsHeld = stormHeld_;
        n.longestWait = stormLongestWait_;
        n.duration = queueEmptySince_ - holdingSince_;
        notices_.push_back(n);
    }
}

std::vector<std::string> AdmissionController::takeReleased() {
    std::vector<std::string> out;
    out.swap(released_);
    return out;
}

std::vector<AdmissionNotice> AdmissionController::takeNotices() {
    std::vector<AdmissionNotice> out;
    out.swap(notices_);
    return out;
}

bool AdmissionController::isAdmitted(std::string_view board) const {
    return !config_.enabled || boards_.contains(std::string(board));
}

std::optional<SteadyClock::duration> AdmissionController::waitOf(std::string_view board) const {
    auto it = boards_.find(std::string(board));
    if (it == boards_.end()) {
        return std::nullopt;
    }
    return it->second.waited;
}

std::optional<std::size_t> AdmissionController::positionOf(std::string_view board) const {
    auto it = waitingIndex_.find(std::string(board));
    if (it == waitingIndex_.end()) {
        return std::nullopt;
    }
    const std::uint64_t head = queue_.front().sequence;
    return std::min<std::size_t>(static_cast<std::size_t>(it->second->sequence - head),
                                 queue_.size() - 1);
}

AdmissionSnapshot AdmissionController::snapshot(SteadyClock::time_point now) const {
    AdmissionSnapshot s = totals_;
    s.enabled = config_.enabled;
    s.waiting = queue_.size();
    s.admitted = boards_.size();
    s.throughput = static_cast<std::uint64_t>(throughput_);
    s.outstanding = outstanding();
    s.budget = budget(config_.horizon);
    s.pipeFull = pipeFull_;
    s.boardCeiling = medianCeiling();
    s.planBytes = planBytes();
    s.admissionRate = admissionRate(now);
    s.queue.clear();
    for (const auto& w : queue_) {
        if (s.queue.size() >= kSnapshotQueue) {
            break;
        }
        s.queue.push_back({w.board, now - w.since});
    }
    return s;
}

}  // namespace pinet::core::boot
