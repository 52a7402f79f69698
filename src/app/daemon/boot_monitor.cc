#include "app/daemon/boot_monitor.h"

#include <algorithm>
#include <array>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "app/serve/log_sink.h"

namespace pinet::app::daemon {

using core::DhcpEvent;
using core::TransferRecord;
using core::boot::BootRecord;
using core::boot::ClientInfo;
using core::boot::Outcome;
using json = nlohmann::json;
using core::metrics::Kind;

namespace {

std::string isoTime(core::WallTime t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

std::string isoSeconds(std::int64_t unix) {
    return unix == 0 ? std::string() : isoTime(core::WallTime{} + std::chrono::seconds(unix));
}

double msBetween(core::WallTime from, core::WallTime to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string lower(const char* s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string resultName(TransferRecord::Result r) {
    switch (r) {
        case TransferRecord::Result::Ok: return "ok";
        case TransferRecord::Result::Probe: return "probe";
        case TransferRecord::Result::NotFound: return "not_found";
        case TransferRecord::Result::Refused: return "refused";
        case TransferRecord::Result::Timeout: return "timeout";
        case TransferRecord::Result::ClientError: return "client_error";
        case TransferRecord::Result::ServerError: return "server_error";
    }
    return "unknown";
}

const char* protoName(TransferRecord::Protocol p) {
    return p == TransferRecord::Protocol::Http ? "http" : "tftp";
}

json bootJson(const BootRecord& b) {
    json j;
    j["id"] = b.id;
    j["client"] = b.clientKey;
    j["serial"] = b.serial;
    j["mac"] = b.mac;
    j["model"] = b.model;
    j["ip"] = b.ip;
    j["start"] = isoTime(b.start);
    j["end"] = b.end ? json(isoTime(*b.end)) : json(nullptr);
    j["outcome"] = core::boot::toString(b.outcome);
    j["failure"] = b.failure;
    j["kernel"] = b.kernelFile;
    j["duration_ms"] = std::chrono::duration<double, std::milli>(b.duration()).count();
    j["dropped_steps"] = b.droppedSteps;
    json dhcp = json::array();
    for (const auto& s : b.dhcp) {
        dhcp.push_back({{"kind", lower(core::toString(s.kind))},
                        {"time", isoTime(s.time)},
                        {"t_ms", msBetween(b.start, s.time)},
                        {"interface", s.interface},
                        {"ip", s.clientIp},
                        {"proxy", s.proxy},
                        {"detail", s.detail}});
    }
    j["dhcp"] = std::move(dhcp);
    json files = json::array();
    for (const auto& f : b.files) {
        files.push_back({{"protocol", protoName(f.protocol)},
                         {"path", f.path},
                         {"result", resultName(f.result)},
                         {"time", isoTime(f.start)},
                         {"t_ms", msBetween(b.start, f.start)},
                         {"duration_ms", std::chrono::duration<double, std::milli>(f.duration).count()},
                         {"bytes", f.bytes},
                         {"size", f.fileSize},
                         {"blksize", f.blockSize},
                         {"detail", f.detail}});
    }
    j["files"] = std::move(files);
    return j;
}

std::string stateOf(const ClientInfo* info, const KnownClient* known) {
    if (info != nullptr && !info->boots.empty()) {
        switch (info->boots.back().outcome) {
            case Outcome::InProgress: return "booting";
            case Outcome::KernelLoaded: return "booted";
            case Outcome::Failed: return "failed";
        }
    }
    if (known != nullptr) {
        return known->discovered ? "discovered" : "known";
    }
    return "seen";
}

json clientSummary(const ClientInfo* info, const KnownClient* known) {
    json j;
    j["key"] = info != nullptr ? info->key : known->serial;
    j["serial"] = info != nullptr && !info->serial.empty() ? info->serial
                  : known != nullptr                      ? known->serial
                                                          : "";
    j["mac"] = info != nullptr && !info->mac.empty() ? info->mac : known != nullptr ? known->mac : "";
    std::string model = known != nullptr ? known->model : "";
    if (model.empty() && info != nullptr) {
        model = info->model;
    }
    j["model"] = model;
    j["name"] = known != nullptr ? known->name : "";
    j["ip"] = info != nullptr ? info->ip : "";
    j["state"] = stateOf(info, known);
    j["registered"] = known != nullptr;
    j["discovered"] = known != nullptr && known->discovered;
    j["boot_dir"] = known != nullptr ? known->bootDir : "";
    j["root_export"] = known != nullptr ? known->rootExport : "";
    j["notes"] = known != nullptr ? known->notes : "";
    std::string first = known != nullptr ? isoSeconds(known->firstSeen) : "";
    std::string last = known != nullptr ? isoSeconds(known->lastSeen) : "";
    if (info != nullptr) {
        if (first.empty()) {
            first = isoTime(info->firstSeen);
        }
        last = isoTime(info->lastSeen);
    }
    j["first_seen"] = first;
    j["last_seen"] = last;
    if (info != nullptr && !info->boots.empty()) {
        const auto& b = info->boots.back();
        j["last_boot"] = {{"id", b.id},
                          {"start", isoTime(b.start)},
                          {"outcome", core::boot::toString(b.outcome)},
                          {"failure", b.failure},
                          {"kernel", b.kernelFile},
                          {"duration_ms",
                           std::chrono::duration<double, std::milli>(b.duration()).count()}};
        j["boots"] = info->boots.size();
    } else {
        j["last_boot"] = nullptr;
        j["boots"] = 0;
    }
    return j;
}

const KnownClient* matchKnown(const std::vector<KnownClient>& known, const ClientInfo& c) {
    for (const auto& k : known) {
        if ((!c.serial.empty() && k.serial == c.serial) || (!c.mac.empty() && k.mac == c.mac)) {
            return &k;
        }
    }
    return nullptr;
}

std::string kv(const std::string& s) {
    // Log values with spaces are quoted so key=value parsing stays simple.
    return s.find_first_of(" \t\"") == std::string::npos ? (s.empty() ? "-" : s)
                                                         : "\"" + s + "\"";
}

}  // namespace

BootMonitor::BootMonitor(core::boot::TrackerOptions options) : tracker_(options) {
    metrics_.declare("pinetboot_dhcp_packets_total",
                     "DHCP packets by type (discover/offer/request/ack/nak/...) and result "
                     "(ok, or the reason a packet was dropped)",
                     Kind::Counter);
    metrics_.declare("pinetboot_transfers_total", "Finished file transfers by protocol and result",
                     Kind::Counter);
    metrics_.declare("pinetboot_transfer_bytes_total", "Payload bytes delivered by protocol",
                     Kind::Counter);
    metrics_.declare("pinetboot_transfer_errors_total",
                     "Failed transfers by protocol and reason (probes are not errors)", Kind::Counter);
    metrics_.declare("pinetboot_transfers_in_flight", "Transfers in progress by protocol", Kind::Gauge);
    metrics_.declare("pinetboot_boots_total", "Finished boots by outcome", Kind::Counter);
    // Pi boots take 2-60 s over TFTP (spec 4.3); buckets span that with room both sides.
    metrics_.declare("pinetboot_boot_duration_seconds",
                     "Time from the first DHCP packet (or file) of a boot to its end, by outcome",
                     Kind::Histogram, {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300});
    metrics_.declare("pinetboot_clients", "Clients known to the running daemon by state", Kind::Gauge);
    metrics_.declare("pinetboot_events_dropped_total",
                     "Boot events dropped because the monitor queue was full", Kind::Counter);
    metrics_.declare("pinetboot_sse_subscribers", "Connected live-event (SSE) subscribers",
                     Kind::Gauge);
    metrics_.declare("pinetboot_sse_subscribers_dropped_total",
                     "SSE subscribers dropped for reading too slowly", Kind::Counter);
    metrics_.set("pinetboot_transfers_in_flight", {{"protocol", "tftp"}}, 0);
    metrics_.set("pinetboot_transfers_in_flight", {{"protocol", "http"}}, 0);
}

BootMonitor::~BootMonitor() { stop(); }

void BootMonitor::start() {
    std::lock_guard lock(queueMutex_);
    if (worker_.joinable()) {
        return;
    }
    stopping_ = false;
    worker_ = std::thread([this] { run(); });
}

void BootMonitor::stop() {
    {
        std::lock_guard lock(queueMutex_);
        stopping_ = true;
    }
    queueCv_.notify_all();
    if (worker_.joinable()) {
        worker_.join();
    }
    idleCv_.notify_all();
}

void BootMonitor::onEvent(const core::BootEvent& event) {
    {
        std::lock_guard lock(queueMutex_);
        if (queue_.size() >= kQueueLimit) {
            ++dropped_;
            return;
        }
        queue_.push_back(event);
        ++enqueued_;
    }
    queueCv_.notify_one();
}

void BootMonitor::flush() {
    std::unique_lock lock(queueMutex_);
    const auto target = enqueued_;
    idleCv_.wait_for(lock, std::chrono::seconds(10),
                     [&] { return processed_ >= target || !worker_.joinable(); });
}

std::uint64_t BootMonitor::eventsDropped() const {
    std::lock_guard lock(queueMutex_);
    return dropped_;
}

void BootMonitor::run() {
    auto nextTick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (;;) {
        std::deque<core::BootEvent> batch;
        {
            std::unique_lock lock(queueMutex_);
            queueCv_.wait_until(lock, nextTick, [&] { return stopping_ || !queue_.empty(); });
            batch.swap(queue_);
            if (batch.empty() && stopping_) {
                return;
            }
        }
        for (const auto& e : batch) {
            process(e);
        }
        {
            std::lock_guard lock(queueMutex_);
            processed_ += batch.size();
        }
        idleCv_.notify_all();
        if (std::chrono::steady_clock::now() >= nextTick) {
            nextTick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            std::vector<core::boot::Update> ups;
            {
                std::lock_guard lock(stateMutex_);
                ups = tracker_.tick(std::chrono::system_clock::now());
            }
            handleUpdates(ups);
        }
    }
}

void BootMonitor::countEvent(const core::BootEvent& event) {
    if (const auto* d = std::get_if<DhcpEvent>(&event)) {
        const bool dropped = d->kind == DhcpEvent::Kind::Dropped;
        metrics_.add("pinetboot_dhcp_packets_total",
                     {{"type", lower(core::toString(d->kind))},
                      {"result", dropped ? core::metrics::reasonLabel(d->detail) : "ok"}});
        return;
    }
    const auto& r = std::get<TransferRecord>(event);
    const std::string proto = protoName(r.protocol);
    const auto result = resultName(r.result);
    metrics_.add("pinetboot_transfers_total", {{"protocol", proto}, {"result", result}});
    metrics_.add("pinetboot_transfer_bytes_total", {{"protocol", proto}}, static_cast<double>(r.bytes));
    if (r.result != TransferRecord::Result::Ok && r.result != TransferRecord::Result::Probe) {
        metrics_.add("pinetboot_transfer_errors_total", {{"protocol", proto}, {"reason", result}});
    }
}

void BootMonitor::logEvent(const core::BootEvent& event) {
    // A stable event name first (grep-able, journald-friendly), then the
    // event in the key=value form shared with the other commands (describe()).
    if (const auto* d = std::get_if<DhcpEvent>(&event)) {
        std::string name = "DHCP_";
        for (const char* p = core::toString(d->kind); *p != '\0'; ++p) {
            name += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
        }
        const auto level = d->kind == DhcpEvent::Kind::Dropped ? spdlog::level::debug
                                                               : spdlog::level::info;
        spdlog::log(level, "{} if={} {}", name, kv(d->interface), describe(event));
        return;
    }
    const auto& r = std::get<TransferRecord>(event);
    const auto level = r.result == TransferRecord::Result::Probe ? spdlog::level::debug
                                                                 : spdlog::level::info;
    spdlog::log(level, "{}_DONE {} size={} ms={:.1f} blksize={}",
                r.protocol == TransferRecord::Protocol::Http ? "HTTP" : "TFTP", describe(event),
                r.fileSize, std::chrono::duration<double, std::milli>(r.duration).count(),
                r.blockSize);
}

void BootMonitor::process(const core::BootEvent& event) {
    countEvent(event);
    logEvent(event);
    std::vector<core::boot::Update> ups;
    std::optional<std::array<std::string, 3>> seen;
    json brief;
    {
        std::lock_guard lock(stateMutex_);
        ups = tracker_.onEvent(event);
        if (const auto* d = std::get_if<DhcpEvent>(&event)) {
            if (d->serial && !d->serial->empty() && d->kind == DhcpEvent::Kind::Discover) {
                const auto mac = core::boot::normalizeMac(d->mac);
                auto it = seenSerials_.find(*d->serial);
                const bool newBoot = !ups.empty() && ups.front().bootStarted;
                if (it == seenSerials_.end() || it->second != mac || newBoot) {
                    seenSerials_[*d->serial] = mac;
                    seen = std::array<std::string, 3>{*d->serial, mac, d->model.value_or("")};
                }
            }
        } else {
            const auto& r = std::get<TransferRecord>(event);
            if (r.serial && seenSerials_.count(*r.serial) == 0) {
                seenSerials_[*r.serial] = "";
                const auto* c = tracker_.client(*r.serial);
                seen = std::array<std::string, 3>{*r.serial, c != nullptr ? c->mac : "", ""};
            }
        }
        if (!ups.empty()) {
            brief["client"] = ups.back().clientKey;
            brief["boot"] = ups.back().bootId;
        }
    }
    if (const auto* d = std::get_if<DhcpEvent>(&event)) {
        brief["kind"] = lower(core::toString(d->kind));
        brief["mac"] = d->mac;
        hub_.publish("dhcp", brief.dump());
    } else {
        const auto& r = std::get<TransferRecord>(event);
        brief["path"] = r.requestedPath;
        brief["result"] = resultName(r.result);
        brief["protocol"] = protoName(r.protocol);
        hub_.publish("transfer", brief.dump());
    }
    if (seen) {
        SeenHook hook;
        {
            std::lock_guard lock(stateMutex_);
            hook = seenHook_;
        }
        if (hook) {
            hook((*seen)[0], (*seen)[1], (*seen)[2]);
        }
    }
    handleUpdates(ups);
}

void BootMonitor::handleUpdates(const std::vector<core::boot::Update>& updates) {
    for (const auto& u : updates) {
        if (u.newClient) {
            spdlog::info("CLIENT_SEEN client={}", u.clientKey);
            hub_.publish("client", json{{"client", u.clientKey}}.dump());
        }
        if (u.bootStarted) {
            spdlog::info("BOOT_START client={} boot={}", u.clientKey, u.bootId);
            hub_.publish("boot", json{{"client", u.clientKey}, {"boot", u.bootId}, {"state", "started"}}.dump());
        }
        if (u.bootEnded) {
            const double secs = std::chrono::duration<double>(u.duration).count();
            const std::string outcome = core::boot::toString(u.outcome);
            metrics_.add("pinetboot_boots_total", {{"outcome", outcome}});
            metrics_.observe("pinetboot_boot_duration_seconds", {{"outcome", outcome}}, secs);
            if (u.outcome == Outcome::KernelLoaded) {
                std::string kernel;
                {
                    std::lock_guard lock(stateMutex_);
                    if (const auto* b = tracker_.boot(u.bootId)) {
                        kernel = b->kernelFile;
                    }
                }
                spdlog::info("BOOT_DONE client={} boot={} kernel={} seconds={:.2f}", u.clientKey,
                             u.bootId, kv(kernel), secs);
            } else {
                spdlog::warn("BOOT_FAILED client={} boot={} seconds={:.2f} reason={}", u.clientKey,
                             u.bootId, secs, kv(u.failure));
            }
            hub_.publish("boot", json{{"client", u.clientKey},
                                      {"boot", u.bootId},
                                      {"state", outcome},
                                      {"failure", u.failure}}
                                     .dump());
        }
    }
}

void BootMonitor::setKnownClients(std::vector<KnownClient> clients) {
    {
        std::lock_guard lock(stateMutex_);
        known_ = std::move(clients);
    }
    hub_.publish("client", "{\"registry\":true}");
}

void BootMonitor::setGaugeProbe(GaugeProbe probe) {
    std::lock_guard lock(stateMutex_);
    gaugeProbe_ = std::move(probe);
}

void BootMonitor::setSeenHook(SeenHook hook) {
    std::lock_guard lock(stateMutex_);
    seenHook_ = std::move(hook);
}

void BootMonitor::setHistoryPerClient(std::size_t n) {
    std::lock_guard lock(stateMutex_);
    tracker_.setHistoryPerClient(n);
}

void BootMonitor::announce(const std::string& event, const std::string& data) {
    hub_.publish(event, data);
}

void BootMonitor::setHealth(bool ok, std::string reason) {
    std::lock_guard lock(stateMutex_);
    healthy_ = ok;
    healthReason_ = std::move(reason);
}

std::string BootMonitor::clientsJson() {
    std::lock_guard lock(stateMutex_);
    json list = json::array();
    std::vector<const KnownClient*> matched;
    for (const auto* c : tracker_.clients()) {
        const auto* k = matchKnown(known_, *c);
        if (k != nullptr) {
            matched.push_back(k);
        }
        list.push_back(clientSummary(c, k));
    }
    for (const auto& k : known_) {
        if (std::find(matched.begin(), matched.end(), &k) == matched.end()) {
            list.push_back(clientSummary(nullptr, &k));
        }
    }
    return json{{"clients", std::move(list)}}.dump();
}

std::optional<std::string> BootMonitor::clientJson(const std::string& id) {
    std::lock_guard lock(stateMutex_);
    const auto* c = tracker_.findClient(id);
    const KnownClient* k = c != nullptr ? matchKnown(known_, *c) : nullptr;
    if (c == nullptr) {
        const auto mac = core::boot::normalizeMac(id);
        for (const auto& kc : known_) {
            if (kc.serial == id || (!kc.mac.empty() && kc.mac == mac) || (!kc.name.empty() && kc.name == id)) {
                k = &kc;
                break;
            }
        }
        if (k == nullptr) {
            return std::nullopt;
        }
    }
    json boots = json::array();
    if (c != nullptr) {
        for (auto it = c->boots.rbegin(); it != c->boots.rend(); ++it) {
            boots.push_back(bootJson(*it));
        }
    }
    return json{{"client", clientSummary(c, k)}, {"boots", std::move(boots)}}.dump();
}

std::string BootMonitor::bootsJson(std::size_t limit, const std::string& clientId) {
    std::lock_guard lock(stateMutex_);
    json boots = json::array();
    if (!clientId.empty()) {
        if (const auto* c = tracker_.findClient(clientId)) {
            for (auto it = c->boots.rbegin(); it != c->boots.rend() && boots.size() < limit; ++it) {
                boots.push_back(bootJson(*it));
            }
        }
    } else {
        for (const auto* b : tracker_.recentBoots(limit)) {
            boots.push_back(bootJson(*b));
        }
    }
    return json{{"boots", std::move(boots)}}.dump();
}

std::string BootMonitor::metricsText() {
    GaugeProbe probe;
    {
        std::lock_guard lock(stateMutex_);
        probe = gaugeProbe_;
        std::map<std::string, int> states{{"booting", 0}, {"booted", 0}, {"failed", 0},
                                          {"discovered", 0}, {"known", 0}, {"seen", 0}};
        std::vector<const KnownClient*> matched;
        for (const auto* c : tracker_.clients()) {
            const auto* k = matchKnown(known_, *c);
            matched.push_back(k);
            ++states[stateOf(c, k)];
        }
        for (const auto& k : known_) {
            if (std::find(matched.begin(), matched.end(), &k) == matched.end()) {
                ++states[stateOf(nullptr, &k)];
            }
        }
        for (const auto& [s, n] : states) {
            metrics_.set("pinetboot_clients", {{"state", s}}, n);
        }
    }
    if (probe) {
        probe(metrics_);
    }
    metrics_.set("pinetboot_sse_subscribers", {}, static_cast<double>(hub_.subscriberCount()));
    const auto droppedSubs = hub_.droppedSubscribers();
    const auto seenDrops = metrics_.value("pinetboot_sse_subscribers_dropped_total", {});
    if (static_cast<double>(droppedSubs) > seenDrops) {
        metrics_.add("pinetboot_sse_subscribers_dropped_total", {},
                     static_cast<double>(droppedSubs) - seenDrops);
    }
    const auto dropped = static_cast<double>(eventsDropped());
    const auto seenEv = metrics_.value("pinetboot_events_dropped_total", {});
    if (dropped > seenEv) {
        metrics_.add("pinetboot_events_dropped_total", {}, dropped - seenEv);
    }
    return metrics_.render();
}

bool BootMonitor::healthy(std::string& reason) {
    std::lock_guard lock(stateMutex_);
    reason = healthReason_;
    return healthy_;
}

}  // namespace pinet::app::daemon
