#pragma once
// BootMonitor: the one consumer of the daemon's BootEvent stream. DHCP, TFTP and
// HTTP boot report into it (onEvent only queues, so packet threads never wait);
// its worker thread fans each event out to
//   - the BootTracker (boot records, failure reasons, bounded history),
//   - the metrics registry (Prometheus /metrics; every metric is declared here),
//   - the log (stable event names: DHCP_OFFER, TFTP_DONE, BOOT_DONE, ...),
//   - the EventHub (server-sent events for the dashboard),
//   - the client registry hook (a Pi seen on the wire is recorded as discovered).
// It is the web server's backend under a lock; the JSON itself is built by
// app/http/api_json.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <map>

#include <nlohmann/json.hpp>

#include "app/http/event_hub.h"
#include "app/http/web_server.h"
#include "app/serve/client_store.h"
#include "core/boot/admission.h"
#include "core/boot/boot_tracker.h"
#include "core/boot/link_watch.h"
#include "core/boot_events.h"
#include "core/dhcp/dhcp_responder.h"
#include "core/metrics/metrics.h"

namespace pinet::app::serve {

/// A Pi seen on the wire, for the registry (serial, and its MAC when known).
struct SeenClient {
    std::string serial;
    std::string mac;
    std::string model;
    bool registered = false;  ///< already in the registry snapshot (setKnownClients)
    bool fromDhcp = false;    ///< seen in the board's DHCP (else a transfer named it)
};

class BootMonitor final : public core::BootEventSink, public http::WebBackend {
public:
    /// Runs at scrape time to export what other parts count themselves
    /// (transfers in flight, TFTP refusals, DHCP counters).
    using ScrapeHook = std::function<void(core::metrics::Registry&)>;
    /// Called on the worker thread when a Pi is first seen, its MAC changes or it boots again.
    using SeenHook = std::function<void(const SeenClient&)>;
    /// The admission controller's state, for the API and /metrics.
    using AdmissionHook = std::function<core::boot::AdmissionSnapshot()>;
    /// Every event, on the worker thread, after the tracker (EEPROM rollouts).
    using EventHook = std::function<void(const core::BootEvent&)>;
    /// serial -> the "eeprom" object added to that client in /api/v1/clients.
    using ClientEepromHook = std::function<std::map<std::string, nlohmann::json>()>;

    explicit BootMonitor(core::boot::TrackerOptions options = {});
    ~BootMonitor() override;

    void start();
    /// Processes what is queued, then stops the worker.
    void stop();

    // BootEventSink: queue and return.
    void onEvent(const core::BootEvent& event) override;

    /// Replaces the registry snapshot shown by the API (after a registry change).
    void setKnownClients(std::vector<KnownClient> clients);
    void setScrapeHook(ScrapeHook hook);
    void setSeenHook(SeenHook hook);
    /// Called (on the worker thread) with each LinkWatch finding: serve records them for doctor.
    using LinkHook = std::function<void(const core::boot::LinkFinding&)>;
    void setLinkHook(LinkHook hook);
    void setAdmissionHook(AdmissionHook hook);
    void setEventHook(EventHook hook);
    void setClientEepromHook(ClientEepromHook hook);
    /// Called with every boot that ended (kernel loaded or failed), on the monitor's thread.
    using BootEndHook = std::function<void(const core::boot::BootRecord&)>;
    void setBootEndHook(BootEndHook hook);
    void setHistoryPerClient(std::size_t n);
    /// Publishes a "reload" event to dashboards and logs it.
    void announce(const std::string& event, const std::string& json);
    void setHealth(bool ok, std::string reason);
    /// The client store (registry) could not be read (@p up false, with why) or can
    /// again. Down is "degraded", not unhealthy: enrolled boards keep booting from the
    /// snapshot in memory, so /healthz stays 200 and says so (issue #19).
    void setStoreHealth(bool up, std::string reason);

    http::EventHub& hub() { return hub_; }
    core::metrics::Registry& metrics() { return metrics_; }

    /// Waits until every event queued so far has been processed (tests, drain).
    void flush();

    // WebBackend
    std::string clientsJson() override;
    std::optional<std::string> clientJson(const std::string& id) override;
    std::string bootsJson(std::size_t limit, const std::string& clientId) override;
    std::string metricsText() override;
    std::string admissionJson() override;
    bool healthy(std::string& reason) override;

    std::uint64_t eventsDropped() const;

private:
    void run();
    /// process(), with any exception logged, counted and the event skipped.
    void processGuarded(const core::BootEvent& event);
    void process(const core::BootEvent& event);
    void handleUpdates(const std::vector<core::boot::Update>& updates);
    void logEvent(const core::BootEvent& event);
    void countEvent(const core::BootEvent& event);

    /// Bounded so a flood of packets cannot grow memory while the worker is
    /// busy; 65536 events is far beyond any real boot LAN burst.
    static constexpr std::size_t kQueueLimit = 65536;

    mutable std::mutex queueMutex_;
    std::condition_variable queueCv_;
    std::condition_variable idleCv_;
    std::deque<core::BootEvent> queue_;
    std::uint64_t enqueued_ = 0;
    std::uint64_t processed_ = 0;
    std::uint64_t dropped_ = 0;
    bool stopping_ = false;
    std::thread worker_;

    std::mutex stateMutex_;  ///< guards tracker_, known_ and the hooks
    /// The one place a client's serial <-> MAC pairing is remembered on the
    /// monitor side (bounded by TrackerOptions::maxClients).
    core::boot::BootTracker tracker_;
    /// Spanning-tree / DHCP-filtering signs in the boards' DHCP (under stateMutex_).
    core::boot::LinkWatch linkWatch_;
    std::vector<KnownClient> known_;
    ScrapeHook scrapeHook_;
    SeenHook seenHook_;
    LinkHook linkHook_;
    AdmissionHook admissionHook_;
    EventHook eventHook_;
    ClientEepromHook eepromHook_;
    BootEndHook bootEndHook_;
    bool healthy_ = true;
    std::string healthReason_;
    bool storeUp_ = true;
    std::string storeReason_;

    core::metrics::Registry metrics_;
    http::EventHub hub_;
};

/// Exports one DHCP server's counters (absolute totals, at scrape time):
/// pinetboot_dhcp_received_total / _sent_total {interface, type} and
/// pinetboot_dhcp_dropped_total {interface, reason} (core::dhcp::toString(Drop)).
/// Every drop, of any client, is counted here; pinetboot_dhcp_packets_total
/// counts only the Pis' packets, from the event stream.
void exportDhcpCounters(core::metrics::Registry& metrics, const std::string& interface,
                        const core::dhcp::DhcpCounters& counters, std::uint64_t sendErrors);
/// Exports the admission controller's state: pinetboot_admission_* (queue length,
/// admitted boards, throughput, the wait histogram, ...).
void exportAdmission(core::metrics::Registry& metrics, const core::boot::AdmissionSnapshot& a);

}  // namespace pinet::app::serve
