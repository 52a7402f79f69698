#pragma once
// BootMonitor: the one consumer of the daemon's BootEvent stream. DHCP, TFTP and
// HTTP boot report into it (onEvent only queues, so packet threads never wait);
// its worker thread fans each event out to
//   - the BootTracker (boot records, failure reasons, bounded history),
//   - the metrics registry (Prometheus /metrics),
//   - the log (stable event names: DHCP_OFFER, TFTP_DONE, BOOT_DONE, ...),
//   - the EventHub (server-sent events for the dashboard),
//   - the client registry hook (an unknown Pi is recorded as discovered).
// It also implements the web server's backend (JSON API, metrics, health).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/http/event_hub.h"
#include "app/http/web_server.h"
#include "core/boot/boot_tracker.h"
#include "core/boot_events.h"
#include "core/metrics/metrics.h"

namespace pinet::app::daemon {

/// A client as the registry knows it (a copy; the registry lives in SQLite).
struct KnownClient {
    std::string serial;
    std::string mac;
    std::string model;
    std::string name;
    std::string bootDir;
    std::string rootExport;
    std::string notes;
    bool discovered = false;  ///< seen on the wire, not enrolled by a user
    std::int64_t firstSeen = 0;
    std::int64_t lastSeen = 0;
};

class BootMonitor final : public core::BootEventSink, public http::WebBackend {
public:
    /// Gauges read at scrape time (transfers in flight, ...): name -> labels -> value.
    using GaugeProbe = std::function<void(core::metrics::Registry&)>;
    /// Called on the worker thread for a Pi seen on the wire (serial, mac, model).
    using SeenHook = std::function<void(const std::string& serial, const std::string& mac,
                                        const std::string& model)>;

    explicit BootMonitor(core::boot::TrackerOptions options = {});
    ~BootMonitor() override;

    void start();
    /// Processes what is queued, then stops the worker.
    void stop();

    // BootEventSink: queue and return.
    void onEvent(const core::BootEvent& event) override;

    /// Replaces the registry snapshot shown by the API (after a registry change).
    void setKnownClients(std::vector<KnownClient> clients);
    void setGaugeProbe(GaugeProbe probe);
    void setSeenHook(SeenHook hook);
    void setHistoryPerClient(std::size_t n);
    /// Publishes a "reload" event to dashboards and logs it.
    void announce(const std::string& event, const std::string& json);
    void setHealth(bool ok, std::string reason);

    http::EventHub& hub() { return hub_; }
    core::metrics::Registry& metrics() { return metrics_; }

    /// Waits until every event queued so far has been processed (tests, drain).
    void flush();

    // WebBackend
    std::string clientsJson() override;
    std::optional<std::string> clientJson(const std::string& id) override;
    std::string bootsJson(std::size_t limit, const std::string& clientId) override;
    std::string metricsText() override;
    bool healthy(std::string& reason) override;

    std::uint64_t eventsDropped() const;

private:
    void run();
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

    std::mutex stateMutex_;  ///< guards tracker_, known_, seenSerials_
    core::boot::BootTracker tracker_;
    std::vector<KnownClient> known_;
    std::map<std::string, std::string> seenSerials_;  ///< serial -> mac already reported
    GaugeProbe gaugeProbe_;
    SeenHook seenHook_;
    bool healthy_ = true;
    std::string healthReason_;

    core::metrics::Registry metrics_;
    http::EventHub hub_;
};

}  // namespace pinet::app::daemon
