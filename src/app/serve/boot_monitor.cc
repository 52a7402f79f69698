#include "app/serve/boot_monitor.h"

#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/http/api_json.h"
#include "app/json_text.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app::serve {

using core::DhcpEvent;
using core::TransferRecord;
using core::boot::BootOutcome;
using core::metrics::Kind;

namespace {

std::string kv(const std::string& s) {
    // Log values with spaces are quoted so key=value parsing stays simple.
    return s.find_first_of(" \t\"") == std::string::npos ? (s.empty() ? "-" : s) : "\"" + s + "\"";
}

/// "DHCP_DISCOVER", ...: the kind's name in upper case.
std::string dhcpLogName(DhcpEvent::Kind kind) {
    std::string name = "DHCP_";
    for (const char* p = core::toString(kind); *p != '\0'; ++p) {
        name += static_cast<char>(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    }
    return name;
}

}  // namespace

void exportDhcpCounters(core::metrics::Registry& m, const std::string& interface,
                        const core::dhcp::DhcpCounters& c, std::uint64_t sendErrors) {
    namespace d = proto::dhcp;
    for (std::size_t i = 0; i < c.received.size(); ++i) {
        const char* type =
            core::toString(core::dhcp::eventKind(static_cast<d::MessageType>(i + 1)));
        if (c.received[i] != 0) {
            m.setTotal("pinetboot_dhcp_received_total", {{"interface", interface}, {"type", type}},
                       static_cast<double>(c.received[i]));
        }
        if (c.sent[i] != 0) {
            m.setTotal("pinetboot_dhcp_sent_total", {{"interface", interface}, {"type", type}},
                       static_cast<double>(c.sent[i]));
        }
    }
    for (std::size_t i = 0; i < c.dropped.size(); ++i) {
        if (c.dropped[i] != 0) {
            m.setTotal("pinetboot_dhcp_dropped_total",
                       {{"interface", interface},
                        {"reason", core::dhcp::toString(static_cast<core::dhcp::Drop>(i))}},
                       static_cast<double>(c.dropped[i]));
        }
    }
    m.setTotal("pinetboot_dhcp_send_errors_total", {{"interface", interface}},
               static_cast<double>(sendErrors));
    if (c.held != 0) {
        m.setTotal("pinetboot_dhcp_held_total", {{"interface", interface}},
                   static_cast<double>(c.held));
    }
}

BootMonitor::BootMonitor(core::boot::TrackerOptions options) : tracker_(options) {
    // Every metric /metrics can show is declared here, so the list is in one place.
    metrics_.declare("pinetboot_eeprom_rollout_boards",
                     "Boards of the active EEPROM rollout by phase (waiting, pending, offered, "
                     "fetched, returned, up_to_date, failed, not_reached)",
                     Kind::Gauge);
    metrics_.declare("pinetboot_eeprom_rollout_state",
                     "1 for the active EEPROM rollout's state (created, running, paused, "
                     "stopped, aborted, done)",
                     Kind::Gauge);
    metrics_.declare("pinetboot_eeprom_rollout_wave", "The active EEPROM rollout's wave (1-based)",
                     Kind::Gauge);
    metrics_.declare("pinetboot_event_errors_total",
                     "Boot events whose handling failed and was skipped (logged); the "
                     "servers and the monitor kept running",
                     Kind::Counter);
    metrics_.declare("pinetboot_dhcp_packets_total",
                     "DHCP packets of Raspberry Pis by type (discover/offer/request/ack/nak/...) "
                     "and result (ok, or the reason no reply was sent)",
                     Kind::Counter);
    metrics_.declare("pinetboot_dhcp_received_total",
                     "DHCP packets received from any client, by interface and type", Kind::Counter);
    metrics_.declare("pinetboot_dhcp_sent_total", "DHCP replies sent, by interface and type",
                     Kind::Counter);
    metrics_.declare("pinetboot_dhcp_dropped_total",
                     "DHCP packets from any client left without a reply, by interface and reason",
                     Kind::Counter);
    metrics_.declare("pinetboot_dhcp_send_errors_total", "DHCP replies that failed to send",
                     Kind::Counter);
    metrics_.declare("pinetboot_tftp_refused_total",
                     "TFTP requests or packets refused or dropped, by reason", Kind::Counter);
    metrics_.declare("pinetboot_tftp_retransmits_total", "TFTP packets sent again after a timeout",
                     Kind::Counter);
    metrics_.declare("pinetboot_tftp_unanswered_evicted_total",
                     "TFTP transfers never answered by their client, ended to make room for a "
                     "new request (the unanswered budget)",
                     Kind::Counter);
    metrics_.declare("pinetboot_dhcp_acks_withheld_total",
                     "DHCPACKs not sent because the lease store did not commit their lease "
                     "(the client's next REQUEST is answered once it does), by interface",
                     Kind::Counter);
    metrics_.declare("pinetboot_internal_errors_total",
                     "Loop turns (TFTP), datagrams (DHCP) or HTTP boot requests whose handling "
                     "threw, logged and "
                     "skipped, by server",
                     Kind::Counter);
    metrics_.declare("pinetboot_http_boot_refused_total",
                     "HTTP boot connections refused (per-address or total connection cap, "
                     "answered 503), answered 4xx/5xx for a malformed request (bad_request), "
                     "or closed (request headers not complete in time; a response that made "
                     "no progress: stalled), by reason",
                     Kind::Counter);
    metrics_.declare("pinetboot_dhcp_held_total",
                     "Pi DISCOVERs held for boot storm admission (answered when the board is let "
                     "in), by interface",
                     Kind::Counter);
    metrics_.declare("pinetboot_admission_waiting", "Boards waiting to be let in to boot",
                     Kind::Gauge);
    metrics_.declare("pinetboot_admission_admitted", "Boards let in and fetching their files",
                     Kind::Gauge);
    metrics_.declare("pinetboot_admission_throughput_bytes",
                     "File bytes per second the servers deliver, as admission measures it",
                     Kind::Gauge);
    metrics_.declare("pinetboot_admission_board_ceiling_bytes",
                     "Median of the admitted boards' lockstep speed (one window per shortest "
                     "round trip), bytes per second; 0 = none measured",
                     Kind::Gauge);
    metrics_.declare("pinetboot_admission_pipe_full",
                     "1 while the throughput has stopped growing with boards waiting (the "
                     "server or its wire is the bottleneck)",
                     Kind::Gauge);
    metrics_.declare("pinetboot_admission_committed_bytes",
                     "Boot plan bytes of the admitted boards still fetching", Kind::Gauge);
    metrics_.declare("pinetboot_admission_budget_bytes",
                     "What may be committed: measured throughput x the 12 s horizon", Kind::Gauge);
    metrics_.declare("pinetboot_admission_admissions_total", "Boards let in to boot",
                     Kind::Counter);
    metrics_.declare("pinetboot_admission_held_boards_total", "Boards that had to wait",
                     Kind::Counter);
    metrics_.declare("pinetboot_admission_overcommitted_total",
                     "Boards let in at the 30 s hold past the horizon, so that they do not time "
                     "out",
                     Kind::Counter);
    metrics_.declare("pinetboot_admission_left_total",
                     "Admitted or waiting boards that left, by reason (completed: fetched and "
                     "went quiet; no_show: fetched nothing; forgotten: stopped asking)",
                     Kind::Counter);
    metrics_.declare("pinetboot_node_buckets_owned",
                     "DHCP load-balancing buckets (of 256, RFC 3074) this node answers among the "
                     "live nodes sharing the store",
                     Kind::Gauge);
    metrics_.declare("pinetboot_nodes_live",
                     "Nodes whose heartbeat in the store is fresh (this one included)",
                     Kind::Gauge);
    metrics_.declare("pinetboot_node_boots_dropped_total",
                     "Finished boots not written to the store's boots table (its queue was full)",
                     Kind::Counter);
    metrics_.declare("pinetboot_node_store_errors_total",
                     "Node thread rounds (heartbeat, node list, boots) the store refused",
                     Kind::Counter);
    metrics_.declare("pinetboot_node_trees_published_total",
                     "Boot tree manifests this node wrote to the store (trees that changed)",
                     Kind::Counter);
    metrics_.declare("pinetboot_dhcp_lease_conflicts_total",
                     "REQUESTs NAKed because another node had bound the address to another board "
                     "(the store's unique address), by interface",
                     Kind::Counter);
    metrics_.declare("pinetboot_store_up",
                     "1 while the client store (SQLite or PostgreSQL registry) can be read, 0 "
                     "while it cannot (boards then boot from the snapshot in memory)",
                     Kind::Gauge);
    metrics_.set("pinetboot_store_up", {}, 1);
    metrics_.declare("pinetboot_admission_requeued_total",
                     "No-shows that had waited, put back at the front of the queue (their OFFER "
                     "was most likely lost on them)",
                     Kind::Counter);
    metrics_.declare("pinetboot_admission_queue_full_total",
                     "DISCOVERs not queued because the queue was full (the board asks again)",
                     Kind::Counter);
    metrics_.declare(
        "pinetboot_admission_wait_seconds", "How long each admitted board waited to be let in",
        Kind::Histogram,
        std::vector<double>(core::boot::kWaitBuckets.begin(), core::boot::kWaitBuckets.end()));
    metrics_.declare("pinetboot_http_boot_connections", "HTTP boot connections open", Kind::Gauge);
    metrics_.declare("pinetboot_transfers_total", "Finished file transfers by protocol and result",
                     Kind::Counter);
    metrics_.declare("pinetboot_transfer_bytes_total", "Payload bytes delivered by protocol",
                     Kind::Counter);
    metrics_.declare("pinetboot_transfer_errors_total",
                     "Failed transfers by protocol and reason (probes are not errors)",
                     Kind::Counter);
    metrics_.declare("pinetboot_transfers_in_flight", "Transfers in progress by protocol",
                     Kind::Gauge);
    metrics_.declare("pinetboot_boots_total", "Finished boots by outcome", Kind::Counter);
    // Pi boots take 2-60 s over TFTP (spec 4.3); buckets span that with room both sides.
    metrics_.declare("pinetboot_boot_duration_seconds",
                     "Time from the first DHCP packet (or file) of a boot to its end, by outcome",
                     Kind::Histogram, {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300});
    metrics_.declare("pinetboot_clients", "Clients known to the running daemon by state",
                     Kind::Gauge);
    metrics_.declare("pinetboot_events_dropped_total",
                     "Boot events dropped because the monitor queue was full", Kind::Counter);
    metrics_.declare("pinetboot_sse_subscribers", "Connected live-event (SSE) subscribers",
                     Kind::Gauge);
    metrics_.declare("pinetboot_sse_subscribers_dropped_total",
                     "SSE subscribers dropped for reading too slowly", Kind::Counter);
    metrics_.set("pinetboot_transfers_in_flight", {{"protocol", "tftp"}}, 0);
    metrics_.set("pinetboot_transfers_in_flight", {{"protocol", "http"}}, 0);
}

BootMonitor::~BootMonitor() {
    stop();
}

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
            processGuarded(e);
        }
        {
            std::lock_guard lock(queueMutex_);
            processed_ += batch.size();
        }
        idleCv_.notify_all();
        if (std::chrono::steady_clock::now() >= nextTick) {
            nextTick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            try {
                std::vector<core::boot::Update> ups;
                {
                    std::lock_guard lock(stateMutex_);
                    ups = tracker_.tick(std::chrono::system_clock::now());
                }
                handleUpdates(ups);
            } catch (const std::exception& e) {
                metrics_.add("pinetboot_event_errors_total", {});
                spdlog::error("EVENT_ERROR boot timers skipped: {}",
                              proto::text::safeText(e.what()));
            }
        }
    }
}

void BootMonitor::countEvent(const core::BootEvent& event) {
    if (const auto* d = std::get_if<DhcpEvent>(&event)) {
        metrics_.add("pinetboot_dhcp_packets_total",
                     {{"type", core::toString(d->kind)},
                      {"result", d->drop ? core::dhcp::toString(*d->drop) : "ok"}});
        return;
    }
    const auto& r = std::get<TransferRecord>(event);
    const std::string proto = core::toString(r.protocol);
    const std::string result = core::toString(r.result);
    metrics_.add("pinetboot_transfers_total", {{"protocol", proto}, {"result", result}});
    metrics_.add("pinetboot_transfer_bytes_total", {{"protocol", proto}},
                 static_cast<double>(r.bytes));
    if (r.result != TransferRecord::Result::Ok && r.result != TransferRecord::Result::SizeQuery) {
        metrics_.add("pinetboot_transfer_errors_total", {{"protocol", proto}, {"reason", result}});
    }
}

void BootMonitor::logEvent(const core::BootEvent& event) {
    // A stable event name first (grep-able, journald-friendly), then the
    // event in the key=value form shared with the other commands (core::describe).
    if (const auto* d = std::get_if<DhcpEvent>(&event)) {
        // Unanswered packets stay at info: a Pi's REQUEST left to the site server is part of
        // its boot story (only Pis produce events, so this is not a flood of strangers).
        spdlog::info("{} if={} {}", dhcpLogName(d->kind), kv(d->interface), core::describe(event));
        return;
    }
    const auto& r = std::get<TransferRecord>(event);
    const auto level =
        r.result == TransferRecord::Result::SizeQuery ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level, "{}_DONE {} size={} ms={:.1f} blksize={}",
                r.protocol == TransferRecord::Protocol::Http ? "HTTP" : "TFTP",
                core::describe(event), r.fileSize,
                std::chrono::duration<double, std::milli>(r.duration).count(), r.blockSize);
}

void BootMonitor::processGuarded(const core::BootEvent& event) {
    // Nothing one event carries may stop the worker: every server's events,
    // the dashboard and the metrics go through this thread (issue #13).
    try {
        process(event);
    } catch (const std::exception& e) {
        metrics_.add("pinetboot_event_errors_total", {});
        spdlog::error("EVENT_ERROR {} skipped: {}", core::describe(event),
                      proto::text::safeText(e.what()));
    } catch (...) {
        metrics_.add("pinetboot_event_errors_total", {});
        spdlog::error("EVENT_ERROR {} skipped: unknown exception", core::describe(event));
    }
}

void BootMonitor::process(const core::BootEvent& event) {
    countEvent(event);
    logEvent(event);
    std::vector<core::boot::Update> ups;
    std::optional<SeenClient> seen;
    std::string brief;
    SeenHook hook;
    EventHook eventHook;
    std::vector<core::boot::LinkFinding> linkFound;
    LinkHook linkHook;
    {
        std::lock_guard lock(stateMutex_);
        linkHook = linkHook_;
        // The tracker is the one memory of which serial goes with which MAC: ask it
        // before the event whether this is news for the registry.
        std::optional<std::string> serial;
        const core::boot::ClientInfo* before = nullptr;
        if (const auto* d = std::get_if<DhcpEvent>(&event)) {
            if (d->serial && !d->serial->empty() && d->kind == DhcpEvent::Kind::Discover) {
                serial = d->serial;
            }
        } else if (const auto& r = std::get<TransferRecord>(event); r.serial) {
            serial = r.serial;
        }
        if (serial) {
            before = tracker_.client(*serial);
        }
        const std::string macBefore = before != nullptr ? before->mac : std::string();
        ups = tracker_.onEvent(event);
        if (const auto* d = std::get_if<DhcpEvent>(&event); d != nullptr && !d->mac.empty()) {
            // Pis only (the event stream's DHCP is theirs): late first DISCOVERs and
            // DISCOVERs our OFFERs never stop point at the switch port (issue #15).
            const auto now = std::chrono::steady_clock::now();
            if (d->kind == DhcpEvent::Kind::Discover && !d->drop) {
                for (auto& f : linkWatch_.onDiscover(d->mac, d->secs, now)) {
                    spdlog::warn("NETWORK_PORT {} fix: {}", f.message, f.fix);
                    linkFound.push_back(std::move(f));
                }
            } else if (d->kind == DhcpEvent::Kind::Offer) {
                linkWatch_.onOfferSent(d->mac, now);
            } else if (d->kind == DhcpEvent::Kind::Request) {
                linkWatch_.onRequest(d->mac, now);
            }
        }
        if (serial) {
            const auto* after = tracker_.client(*serial);
            const bool dhcp = std::holds_alternative<DhcpEvent>(event);
            const bool newBoot = !ups.empty() && ups.front().bootStarted;
            // A transfer tells the registry about a serial it has not seen; DHCP also
            // about a new MAC or a new boot (last_seen).
            if (before == nullptr ||
                (dhcp && (newBoot || (after != nullptr && after->mac != macBefore)))) {
                SeenClient s;
                s.serial = *serial;
                s.fromDhcp = dhcp;
                s.mac = after != nullptr ? after->mac : std::string();
                if (const auto* d = std::get_if<DhcpEvent>(&event)) {
                    // The precise model when option 97's revision code (or an earlier
                    // device tree) told it, else the fourcc as the board sent it.
                    const auto precise =
                        after != nullptr && after->board.source >= core::boot::ModelSource::Dtb
                            ? core::boot::modelCode(after->board.model)
                            : std::string_view();
                    s.model = precise.empty() ? d->model.value_or("") : std::string(precise);
                    if (s.mac.empty()) {  // a drop is not tracked, but the registry may learn it
                        s.mac = proto::netboot::normalizeMac(d->mac).value_or("");
                    }
                }
                for (const auto& k : known_) {
                    s.registered = s.registered || k.serial == s.serial;
                }
                seen = std::move(s);
                hook = seenHook_;
            }
        }
        brief = http::api::eventBrief(event, ups.empty() ? nullptr : &ups.back());
        eventHook = eventHook_;
    }
    if (eventHook) {
        eventHook(event);
    }
    hub_.publish(std::holds_alternative<DhcpEvent>(event) ? "dhcp" : "transfer", brief);
    if (seen && hook) {
        hook(*seen);
    }
    if (linkHook) {
        for (const auto& f : linkFound) {
            linkHook(f);
        }
    }
    handleUpdates(ups);
}

void BootMonitor::handleUpdates(const std::vector<core::boot::Update>& updates) {
    for (const auto& u : updates) {
        if (u.newClient) {
            spdlog::info("CLIENT_SEEN client={}", u.clientKey);
            hub_.publish("client", fmt::format("{{\"client\":\"{}\"}}", u.clientKey));
        }
        if (u.bootStarted) {
            spdlog::info("BOOT_START client={} boot={}", u.clientKey, u.bootId);
            hub_.publish("boot", http::api::bootUpdateJson(u));
        }
        if (u.bootEnded) {
            BootEndHook endHook;
            std::optional<core::boot::BootRecord> ended;
            {
                std::lock_guard lock(stateMutex_);
                if (bootEndHook_) {
                    if (const auto* b = tracker_.boot(u.bootId)) {
                        endHook = bootEndHook_;
                        ended = *b;
                    }
                }
            }
            if (endHook) {
                endHook(*ended);
            }
            const double secs = std::chrono::duration<double>(u.duration).count();
            const std::string outcome = core::boot::toString(u.outcome);
            metrics_.add("pinetboot_boots_total", {{"outcome", outcome}});
            metrics_.observe("pinetboot_boot_duration_seconds", {{"outcome", outcome}}, secs);
            if (u.outcome == BootOutcome::KernelLoaded) {
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
            hub_.publish("boot", http::api::bootUpdateJson(u));
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

void BootMonitor::setScrapeHook(ScrapeHook hook) {
    std::lock_guard lock(stateMutex_);
    scrapeHook_ = std::move(hook);
}

void BootMonitor::setBootEndHook(BootEndHook hook) {
    std::lock_guard lock(stateMutex_);
    bootEndHook_ = std::move(hook);
}

void BootMonitor::setLinkHook(LinkHook hook) {
    std::lock_guard lock(stateMutex_);
    linkHook_ = std::move(hook);
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

void BootMonitor::setStoreHealth(bool up, std::string reason) {
    std::lock_guard lock(stateMutex_);
    storeUp_ = up;
    storeReason_ = std::move(reason);
    metrics_.set("pinetboot_store_up", {}, up ? 1 : 0);
}

void BootMonitor::setEventHook(EventHook hook) {
    std::lock_guard lock(stateMutex_);
    eventHook_ = std::move(hook);
}

void BootMonitor::setClientEepromHook(ClientEepromHook hook) {
    std::lock_guard lock(stateMutex_);
    eepromHook_ = std::move(hook);
}

namespace {
/// Adds "eeprom" (the board's EEPROM rollout state, or null) to a client object.
void addEeprom(nlohmann::json& client, const std::map<std::string, nlohmann::json>& eeprom) {
    if (!client.is_object()) {
        return;
    }
    const auto serial = client.value("serial", nlohmann::json());
    const auto it = serial.is_string() ? eeprom.find(serial.get<std::string>()) : eeprom.end();
    client["eeprom"] = it == eeprom.end() ? nlohmann::json() : it->second;
}
}  // namespace

std::string BootMonitor::clientsJson() {
    ClientEepromHook hook;
    std::string text;
    {
        std::lock_guard lock(stateMutex_);
        text = http::api::clientsJson(tracker_, known_);
        hook = eepromHook_;
    }
    if (!hook) {
        return text;
    }
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.contains("clients") || !j["clients"].is_array()) {
        return text;
    }
    const auto eeprom = hook();
    for (auto& c : j["clients"]) {
        addEeprom(c, eeprom);
    }
    return app::dumpJson(j);
}

std::optional<std::string> BootMonitor::clientJson(const std::string& id) {
    ClientEepromHook hook;
    std::optional<std::string> text;
    {
        std::lock_guard lock(stateMutex_);
        text = http::api::clientJson(tracker_, known_, id);
        hook = eepromHook_;
    }
    if (!hook || !text) {
        return text;
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.contains("client")) {
        return text;
    }
    addEeprom(j["client"], hook());
    return app::dumpJson(j);
}

std::string BootMonitor::bootsJson(std::size_t limit, const std::string& clientId) {
    std::lock_guard lock(stateMutex_);
    return http::api::bootsJson(tracker_, limit, clientId);
}

void BootMonitor::setAdmissionHook(AdmissionHook hook) {
    std::lock_guard lock(stateMutex_);
    admissionHook_ = std::move(hook);
}

std::string BootMonitor::admissionJson() {
    AdmissionHook hook;
    {
        std::lock_guard lock(stateMutex_);
        hook = admissionHook_;
    }
    if (!hook) {
        return WebBackend::admissionJson();
    }
    return http::api::admissionJson(hook());
}

void exportAdmission(core::metrics::Registry& m, const core::boot::AdmissionSnapshot& a) {
    m.set("pinetboot_admission_waiting", {}, static_cast<double>(a.waiting));
    m.set("pinetboot_admission_admitted", {}, static_cast<double>(a.admitted));
    m.set("pinetboot_admission_throughput_bytes", {}, static_cast<double>(a.throughput));
    m.set("pinetboot_admission_committed_bytes", {}, static_cast<double>(a.outstanding));
    m.set("pinetboot_admission_board_ceiling_bytes", {}, static_cast<double>(a.boardCeiling));
    m.set("pinetboot_admission_pipe_full", {}, a.pipeFull ? 1.0 : 0.0);
    m.set("pinetboot_admission_budget_bytes", {}, static_cast<double>(a.budget));
    m.setTotal("pinetboot_admission_admissions_total", {}, static_cast<double>(a.admissions));
    m.setTotal("pinetboot_admission_held_boards_total", {}, static_cast<double>(a.heldBoards));
    m.setTotal("pinetboot_admission_overcommitted_total", {}, static_cast<double>(a.overcommitted));
    m.setTotal("pinetboot_admission_left_total", {{"reason", "completed"}},
               static_cast<double>(a.completed));
    m.setTotal("pinetboot_admission_left_total", {{"reason", "no_show"}},
               static_cast<double>(a.noShows));
    m.setTotal("pinetboot_admission_left_total", {{"reason", "forgotten"}},
               static_cast<double>(a.forgotten));
    m.setTotal("pinetboot_admission_requeued_total", {}, static_cast<double>(a.requeued));
    m.setTotal("pinetboot_admission_queue_full_total", {}, static_cast<double>(a.queueFull));
    m.setHistogramTotals("pinetboot_admission_wait_seconds", {}, a.waitBuckets, a.waitSecondsSum);
}

std::string BootMonitor::metricsText() {
    ScrapeHook hook;
    AdmissionHook admission;
    {
        std::lock_guard lock(stateMutex_);
        hook = scrapeHook_;
        admission = admissionHook_;
        for (const auto& [s, n] : http::api::clientStates(tracker_, known_)) {
            metrics_.set("pinetboot_clients", {{"state", s}}, n);
        }
    }
    if (hook) {
        hook(metrics_);
    }
    if (admission) {
        exportAdmission(metrics_, admission());
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
    if (healthy_ && !storeUp_) {
        // Healthy with a reason: degraded (see setStoreHealth).
        reason = "degraded: the client store cannot be read (" + storeReason_ +
                 "); enrolled boards boot from the registry snapshot in memory, and no lease "
                 "is ACKed that could not be committed";
    }
    return healthy_;
}

}  // namespace pinet::app::serve
