#pragma once
// ServeDaemon: everything `pinetboot serve` runs in one process.
//
//   per [[interface]]: a DhcpServer (proxy or full; none for dhcp = "off")
//   one TftpServer (tftp.listen), directories from the client registry
//   one HttpBootServer (http.boot_listen; off when empty)
//   one WebServer (http.listen): dashboard, JSON API, SSE, /metrics, /healthz
//   one BootMonitor: every DHCP packet and finished transfer flows into it
//   a registry watcher: polls the registry's change counter every second, so
//     `pinetboot client add/remove` takes effect without a restart, and re-reads
//     the API token (<state>/api-token), so `pinetboot token rotate` does too
//   the web API's writes (ClientAdmin: the CLI's client actions), behind WebAuth
//   a node thread (NodeService): this node's heartbeat in the store, which DHCP
//     buckets it answers among the nodes sharing the store, the boots of every node
//
// Reload (SIGHUP) swaps in a new shared_ptr<const Config>: reloadable keys take
// effect, restart-only keys are reported and kept; no server is restarted, so
// transfers in flight continue. Stop drains: DHCP stops first (no new boots),
// then TFTP and HTTP boot finish what is running (bounded), then the rest.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/config/config.h"
#include "app/serve/boot_monitor.h"
#include "app/serve/boot_view_service.h"
#include "app/serve/client_store.h"
#include "app/tftp/in_place_source.h"

namespace pinet::app {
class AdmissionService;
class DhcpServer;
class TftpServer;
namespace http {
class WebServer;
class HttpBootServer;
class WebAuth;
}  // namespace http
}  // namespace pinet::app

namespace pinet::app::serve {

class RolloutService;
class NodeService;
class ServeFleetReader;
class ClientAdmin;

class ServeDaemon {
public:
    /// @p store may be null (no registry: per-client folders under the root only).
    ServeDaemon(config::Config config, std::unique_ptr<ClientStore> store);
    ~ServeDaemon();
    ServeDaemon(const ServeDaemon&) = delete;
    ServeDaemon& operator=(const ServeDaemon&) = delete;

    /// Starts every part. @throw std::runtime_error naming what failed (nothing
    /// is left running then). @p afterDashboard runs right after the dashboard
    /// socket is bound and before anything else opens a socket (serve --netns
    /// switches network namespace there, so the dashboard stays in the first one).
    void start(const std::function<void()>& afterDashboard = {});
    /// Applies a new configuration (SIGHUP).
    void reload(config::Config config);
    /// Re-reads the registry now (also part of reload).
    void refreshRegistry(bool force);
    /// Drains and stops everything.
    void stop();

    std::shared_ptr<const config::Config> config() const;
    std::uint16_t httpPort() const;
    std::uint16_t httpBootPort() const;
    std::string tftpAddress() const;
    BootMonitor& monitor() { return monitor_; }

private:
    void watchRegistry();
    void installResolver(const std::vector<KnownClient>& clients);
    /// A client whose boot files may come out of an in-place image.
    struct InPlaceClient {
        std::string serial;
        std::string image;
        std::string rootMode;
    };
    /// The in-place views of @p imageOf's clients (by boot dir), opened or reused: the
    /// board's own boot view if it has one (app/nbd/boot_view.h), else its image's.
    std::shared_ptr<const InPlaceViews> inPlaceViews(
        const std::string& stateDir, const std::map<std::string, InPlaceClient>& imageOf);
    /// installResolver again with the clients last read (a board's boot view changed).
    void reinstallViews();

    mutable std::mutex configMutex_;
    std::shared_ptr<const config::Config> config_;
    std::unique_ptr<ClientStore> store_;
    std::mutex storeMutex_;  ///< the store is used from the watcher and the monitor
    /// One refreshRegistry at a time (the watcher, reload and API writes call it): two
    /// interleaved ones could install an older list after a newer one.
    std::mutex refreshMutex_;
    /// In-place images opened for serving, by name, reused while unchanged (guarded by
    /// refreshMutex_: only installResolver touches it).
    std::map<std::string, std::shared_ptr<const InPlaceView>> inPlaceOpen_;
    std::vector<KnownClient> lastClients_;  ///< guarded by refreshMutex_

    BootMonitor monitor_;
    /// Before the servers that hold a pointer to it, so it outlives them.
    /// EEPROM rollouts: the TFTP overlay and the wire tracking; outlives tftp_.
    std::unique_ptr<RolloutService> rollouts_;
    /// The DHCP servers' sink: hands each DHCP event to the rollouts first, on the DHCP
    /// thread (a board's address is bound before its first TFTP request, which the
    /// monitor's queue would not guarantee), then to the monitor. Outlives dhcp_.
    std::unique_ptr<core::BootEventSink> dhcpSink_;
    std::unique_ptr<AdmissionService> admission_;
    /// The DHCP responders tick the admission controller only while they hold boards,
    /// and with `dhcp = off` nobody does: the registry watcher ticks it once a second
    /// so that expiry and the storm-over notice happen on a quiet server too.
    bool admissionNeedsTicks_ = false;
    /// Several nodes (issue #19): heartbeats, the DHCP bucket map, boots of every node.
    /// Before dhcp_ and web_, which hold pointers to it.
    std::unique_ptr<NodeService> nodes_;
    std::vector<std::unique_ptr<DhcpServer>> dhcp_;
    std::unique_ptr<TftpServer> tftp_;
    /// Declared after the TFTP server it feeds views to, so it stops first.
    std::unique_ptr<BootViewService> bootViews_;
    std::unique_ptr<http::HttpBootServer> httpBoot_;
    /// Images and doctor for the web API; declared before web_, so it outlives it.
    std::unique_ptr<ServeFleetReader> fleet_;
    /// The API token's sessions and the API's writes: before web_, which uses them.
    std::unique_ptr<http::WebAuth> auth_;
    std::unique_ptr<ClientAdmin> admin_;
    std::unique_ptr<http::WebServer> web_;

    bool storeDown_ = false;  ///< the watcher could not read the store (watcher thread only)
    std::thread watcher_;
    std::mutex watchMutex_;
    std::condition_variable watchCv_;
    bool stopping_ = false;
    std::int64_t seenVersion_ = -1;
    bool started_ = false;
};

}  // namespace pinet::app::serve
