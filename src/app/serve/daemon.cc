#include "app/serve/daemon.h"

#include <arpa/inet.h>

#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/dhcp/dhcp_server.h"
#include "app/doctor/doctor.h"
#include "app/doctor/neighbour_table.h"
#include "app/http/api_token.h"
#include "app/http/http_boot.h"
#include "app/http/web_auth.h"
#include "app/http/web_server.h"
#include "app/image/image_store.h"
#include "app/json_text.h"
#include "app/nbd/boot_view.h"
#include "app/nbd/nbd_manager.h"
#include "app/serve/admission_service.h"
#include "app/serve/client_admin.h"
#include "app/serve/fleet_reader.h"
#include "app/serve/node_service.h"
#include "app/serve/registry_store.h"
#include "app/serve/rollout_service.h"
#include "app/tftp/tftp_server.h"
#include "core/tftp/client_dirs.h"
#include "io/file.h"
#include "io/net/interface.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app::serve {

namespace fs = std::filesystem;

namespace {

/// Boot directories for TFTP prefixes: the registry first (its boot_dir, made
/// relative to the TFTP root), then a folder named by the serial or MAC under
/// the root (what `pinetboot tftp` does). Immutable: the watcher builds a new
/// one and swaps it in, so the packet path never takes a lock.
class RegistryResolver final : public core::tftp::ClientDirectoryResolver {
public:
    RegistryResolver(fs::path root, std::map<std::string, std::string> bySerial,
                     std::map<std::string, std::string> byMac)
        : folders_(root), bySerial_(std::move(bySerial)), byMac_(std::move(byMac)) {}

    std::optional<std::string> directoryForSerial(std::string_view serial) const override {
        if (auto it = bySerial_.find(std::string(serial)); it != bySerial_.end()) {
            return it->second;
        }
        return folders_.directoryForSerial(serial);
    }
    std::optional<std::string> directoryForMac(std::string_view mac) const override {
        if (auto it = byMac_.find(std::string(mac)); it != byMac_.end()) {
            return it->second;
        }
        return folders_.directoryForMac(mac);
    }

private:
    FolderClientResolver folders_;
    std::map<std::string, std::string> bySerial_;
    std::map<std::string, std::string> byMac_;
};

/// DHCP events to the rollouts' identity tables at once, then to the monitor's queue.
class DhcpTap final : public core::BootEventSink {
public:
    DhcpTap(RolloutService* rollouts, BootViewService* bootViews, core::BootEventSink* next)
        : rollouts_(rollouts), bootViews_(bootViews), next_(next) {}
    void onEvent(const core::BootEvent& event) override {
        if (const auto* d = std::get_if<core::DhcpEvent>(&event)) {
            if (rollouts_ != nullptr) {
                rollouts_->noteDhcp(*d);
            }
            if (bootViews_ != nullptr && !d->drop) {
                bootViews_->noteDhcp(d->serial.value_or(""), d->mac);
            }
        }
        next_->onEvent(event);
    }

private:
    RolloutService* rollouts_;
    BootViewService* bootViews_;
    core::BootEventSink* next_;
};

proto::dhcp::Ip4 ip4(const std::string& text, const std::string& what) {
    auto ip = proto::dhcp::parseIp(text);
    if (!ip) {
        throw std::runtime_error(what + ": '" + text + "' is not an IPv4 address");
    }
    return *ip;
}

/// "MAC=IP" or "SERIAL=IP" (8 hex digits), as `serve --reserve` takes them.
core::dhcp::Reservation parseReservation(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        throw std::runtime_error("--reserve " + text + ": expected MAC=IP or SERIAL=IP");
    }
    core::dhcp::Reservation r;
    const std::string key = text.substr(0, eq);
    r.ip = ip4(text.substr(eq + 1), "--reserve " + text);
    if (auto mac = proto::dhcp::parseMac(key)) {
        r.mac = *mac;
    } else if (auto serial = proto::netboot::normalizeSerial(key); serial && key.size() == 8) {
        r.serial = *serial;
    } else {
        throw std::runtime_error("--reserve " + text + ": '" + key +
                                 "' is neither a MAC nor an 8-digit hex serial");
    }
    return r;
}

std::string ipText(std::uint32_t hostOrder) {
    in_addr a{};
    a.s_addr = htonl(hostOrder);
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    return buf;
}

}  // namespace

ServeDaemon::ServeDaemon(config::Config config, std::unique_ptr<ClientStore> store)
    : config_(std::make_shared<const config::Config>(std::move(config))), store_(std::move(store)) {
    monitor_.setHistoryPerClient(config_->bootHistory);
}

ServeDaemon::~ServeDaemon() {
    stop();
}

std::shared_ptr<const config::Config> ServeDaemon::config() const {
    std::lock_guard lock(configMutex_);
    return config_;
}

void ServeDaemon::start(const std::function<void()>& afterDashboard) {
    const auto cfg = config();
    if (cfg->tftpRoot.empty() || !fs::is_directory(cfg->tftpRoot)) {
        throw std::runtime_error("tftp root '" + cfg->tftpRoot +
                                 "' is not a directory (set [tftp] root or --root)");
    }
    spdlog::set_level(spdlog::level::from_str(cfg->logLevel));
    monitor_.start();
    try {
        // The dashboard first: it shows the other parts coming up.
        if (auto refusal = config::plaintextListenRefusal(
                cfg->httpListen.host, cfg->httpListen.port, !cfg->httpTlsCert.empty(),
                cfg->httpAllowPlaintextRemote)) {
            throw std::runtime_error(*refusal);
        }
        // The API token: made at the first start, never logged (pinetboot token show).
        bool created = false;
        auto token = http::ensureApiToken(cfg->stateDir, &created);
        if (!token) {
            throw std::runtime_error("API token: " + token.error().message);
        }
        if (created) {
            spdlog::info("API_TOKEN_CREATED file={} (pinetboot token show prints it)",
                         (fs::path(cfg->stateDir) / http::kApiTokenFile).string());
        }
        auth_ = std::make_unique<http::WebAuth>(std::move(*token));
        admin_ = std::make_unique<ClientAdmin>(
            [this] { return config(); },
            [this](const std::string& event, const std::string& json) {
                // At once, not at the watcher's next second: the page that made the
                // change sees it in its next read; every dashboard gets the event.
                refreshRegistry(false);
                monitor_.announce(event, json);
            });
        if (cfg->httpTlsCert.empty()) {
            web_ = std::make_unique<http::WebServer>(monitor_, monitor_.hub());
        } else {
            web_ = std::make_unique<http::WebServer>(
                monitor_, monitor_.hub(), http::TlsFiles{cfg->httpTlsCert, cfg->httpTlsKey});
        }
        web_->setAuth(auth_.get(), !config::isLoopbackHost(cfg->httpListen.host));
        web_->setClientAdmin(admin_.get());
        web_->setAllowedHosts(cfg->httpAllowedHosts);
        fleet_ = std::make_unique<ServeFleetReader>([this] { return config(); });
        web_->setFleetReader(fleet_.get());
        {
            NodeServiceConfig nc;
            nc.nodeId =
                sanitizeNodeId(cfg->storeNodeId.empty() ? io::hostName() : cfg->storeNodeId);
            nc.stateDir = cfg->stateDir;
            if (cfg->storeBackend == "postgresql") {
                nc.where = io::StoreLocation{io::StoreLocation::Backend::Postgresql, cfg->storeUrl};
            }
            nc.treeRoot = cfg->tftpRoot;
            nc.treePeriod = std::chrono::seconds(cfg->storeTreeCheckSeconds);
            if (!cfg->interfaces.empty()) {
                if (auto info = io::interfaceInfo(cfg->interfaces[0].name, true)) {
                    nc.address = ipText(info->ip);
                }
            }
            nodes_ = std::make_unique<NodeService>(std::move(nc));
        }
        web_->setNodesReader(nodes_.get());
        web_->start(cfg->httpListen.host, cfg->httpListen.port);
        spdlog::info("HTTP_LISTEN role=dashboard addr={}:{}", cfg->httpListen.host, web_->port());
        if (afterDashboard) {
            afterDashboard();
        }
        // Doctor checks the boot interface: from a thread in this (maybe new) namespace.
        fleet_->startWorker();

        // Boot storm admission (issue #14): one controller for every server.
        core::boot::AdmissionConfig ac;
        ac.enabled = cfg->admissionEnabled;
        // One transfer at a time per booting board: more admitted boards than transfer
        // slots would meet server_full.
        ac.maxAdmitted = cfg->tftpMaxTransfers;
        if (cfg->admissionMaxBoards != 0) {
            ac.maxAdmitted = std::min<std::size_t>(ac.maxAdmitted, cfg->admissionMaxBoards);
        }
        ac.maxThroughput = std::uint64_t{cfg->admissionMaxThroughputMbit} * 1'000'000 / 8;
        admission_ = std::make_unique<AdmissionService>(ac);
        if (const auto plan = bootPlanBytes(cfg->tftpRoot, cfg->tftpDefaultDir); plan > 0) {
            admission_->setInitialPlanBytes(plan);
        }
        const bool anyDhcp =
            std::any_of(cfg->interfaces.begin(), cfg->interfaces.end(),
                        [](const auto& i) { return i.dhcp != config::DhcpMode::Off; });
        admissionNeedsTicks_ = admission_->enabled();

        // TFTP: with one interface and no explicit listen address, bind that
        // interface's address, so TFTP is not offered on every other network.
        TftpServerConfig tc;
        tc.listen = cfg->tftpListen.text();
        if (cfg->tftpListen.host == "0.0.0.0" && cfg->interfaces.size() == 1) {
            if (auto info = io::interfaceInfo(cfg->interfaces[0].name, true)) {
                tc.listen = fmt::format("{}:{}", ipText(info->ip), cfg->tftpListen.port);
            }
        }
        tc.root = cfg->tftpRoot;
        tc.defaultDir = cfg->tftpDefaultDir;
        tc.transfer.maxBlockSize = cfg->tftpMaxBlksize;
        tc.transfer.maxWindowSize = cfg->tftpMaxWindowsize;
        tc.transfer.defaultTimeout = std::chrono::milliseconds(cfg->tftpTimeoutMs);
        tc.transfer.minAdaptiveTimeout = std::chrono::milliseconds(cfg->tftpMinTimeoutMs);
        tc.replyPorts = cfg->tftpReplyPorts;
        tc.io = cfg->tftpIo;
        tc.transfer.maxRetries = static_cast<int>(cfg->tftpRetries);
        tc.maxTransfers = cfg->tftpMaxTransfers;
        // EEPROM rollouts (state/rollouts.db): the rollout's files in front of the tree.
        rollouts_ = RolloutService::open(cfg->stateDir);
        tc.overlay = rollouts_.get();
        if (admission_->enabled()) {
            tc.admission = admission_.get();
            tc.admitAtFirstRequest = !anyDhcp;  // no DHCP here: TFTP is the gate
        }
        auto tftp = TftpServer::create(tc);
        if (!tftp) {
            throw std::runtime_error(tftp.error().message);
        }
        tftp_ = std::move(*tftp);
        tftp_->setEventSink(&monitor_);
        // Boards of in-place images with a disk of their own: their boot files follow
        // what they write in their boot partition (app/nbd/boot_view.h).
        bootViews_ = std::make_unique<BootViewService>(cfg->stateDir, [this] { reinstallViews(); });
        refreshRegistry(true);
        tftp_->start();
        spdlog::info("TFTP_LISTEN addr={} root={}", tftp_->listenAddress(), cfg->tftpRoot);

        if (!cfg->httpBootListen.empty()) {
            httpBoot_ = std::make_unique<http::HttpBootServer>(
                [this] {
                    const auto c = config();
                    return c->httpBootRoot.empty() ? c->tftpRoot : c->httpBootRoot;
                },
                &monitor_);
            if (admission_->enabled()) {
                // HTTP boot's bytes count towards the throughput and each board's plan,
                // as TFTP's do (Pi 5 boards in mode 7 pass the same DHCP gate).
                httpBoot_->setProgressHook(
                    [a = admission_.get()](std::uint32_t address, std::uint64_t bytes) {
                        a->onDelivered(address, bytes, core::boot::SteadyClock::now());
                    });
            }
            if (rollouts_) {
                httpBoot_->setOverlay(
                    [r = rollouts_.get()](std::string_view serial, std::string_view name) {
                        return r->httpDir(serial, name);
                    });
            }
            httpBoot_->start(cfg->httpBootListen.host, cfg->httpBootListen.port);
            spdlog::info("HTTP_LISTEN role=boot addr={}:{}", cfg->httpBootListen.host,
                         httpBoot_->port());
        }

        // The node list before the DHCP servers: their first packet sees this node's buckets.
        nodes_->start();
        for (const auto& iface : cfg->interfaces) {
            if (iface.dhcp == config::DhcpMode::Off) {
                spdlog::info("DHCP_OFF if={}", iface.name);
                continue;
            }
            DhcpServerConfig dc;
            dc.interface = iface.name;
            dc.admission = admission_->enabled() ? admission_.get() : nullptr;
            dc.mode = iface.dhcp == config::DhcpMode::Full ? core::dhcp::Mode::Full
                                                           : core::dhcp::Mode::Proxy;
            if (!iface.rangeFirst.empty()) {
                dc.rangeFirst = ip4(iface.rangeFirst, iface.name + " range");
                dc.rangeLast = ip4(iface.rangeLast, iface.name + " range");
                if (auto w = neighbourTableWarning(dc.rangeLast - dc.rangeFirst + 1, iface.name)) {
                    spdlog::warn("{}", *w);
                }
            }
            dc.leaseTime = std::chrono::seconds(iface.leaseTime);
            if (dc.mode == core::dhcp::Mode::Full) {
                if (cfg->storeBackend == "postgresql" && iface.leaseDb.empty()) {
                    dc.leaseStoreUrl = cfg->storeUrl;  // --lease-db still picks a file
                } else if (!iface.leaseDb.empty()) {
                    dc.leaseDb = iface.leaseDb;
                } else {
                    fs::create_directories(cfg->stateDir);
                    dc.leaseDb =
                        (fs::path(cfg->stateDir) / ("dhcp-leases-" + iface.name + ".sqlite"))
                            .string();
                }
            }
            for (const auto& r : iface.reservations) {
                dc.reservations.push_back(parseReservation(r));
            }
            for (const auto& r : iface.relays) {
                dc.relays.push_back(ip4(r, iface.name + " relays"));
            }
            if (!iface.tftpAddress.empty()) {
                dc.tftpIp = ip4(iface.tftpAddress, iface.name + " tftp_address");
            }
            dc.pxeMenuText = cfg->pxeMenuText;
            dc.pxeBootfile = cfg->pxeBootfile;
            if (!iface.router.empty()) {
                dc.routers.push_back(ip4(iface.router, iface.name + " router"));
            }
            for (const auto& d : iface.dns) {
                dc.dnsServers.push_back(ip4(d, iface.name + " dns"));
            }
            dc.domainName = iface.domain;
            dc.loadShare = nodes_.get();
            if (!dhcpSink_) {
                dhcpSink_ = std::make_unique<DhcpTap>(rollouts_.get(), bootViews_.get(), &monitor_);
            }
            auto server = std::make_unique<DhcpServer>(dc, dhcpSink_.get());
            server->start();
            spdlog::info("DHCP_LISTEN if={} mode={}", iface.name, config::toString(iface.dhcp));
            dhcp_.push_back(std::move(server));
        }
    } catch (...) {
        stop();
        throw;
    }

    // Counters the servers keep themselves, read at scrape time (metrics declared in BootMonitor).
    monitor_.setScrapeHook([this](core::metrics::Registry& m) {
        if (rollouts_) {
            rollouts_->exportMetrics(m);
        }
        for (const auto& d : dhcp_) {
            const auto c = d->counters();
            exportDhcpCounters(m, d->interfaceName(), c.dhcp, c.sendErrors);
            m.setTotal("pinetboot_dhcp_acks_withheld_total", {{"interface", d->interfaceName()}},
                       static_cast<double>(c.acksWithheld));
            m.setTotal("pinetboot_dhcp_lease_conflicts_total", {{"interface", d->interfaceName()}},
                       static_cast<double>(c.dhcp.leaseConflicts));
        }
        if (tftp_) {
            const auto c = tftp_->counters();
            m.set("pinetboot_transfers_in_flight", {{"protocol", "tftp"}},
                  static_cast<double>(c.transfersActive));
            for (std::size_t i = 0; i < c.refused.size(); ++i) {
                if (c.refused[i] != 0) {
                    m.setTotal("pinetboot_tftp_refused_total",
                               {{"reason", toString(static_cast<TftpRefusal>(i))}},
                               static_cast<double>(c.refused[i]));
                }
            }
            m.setTotal("pinetboot_tftp_retransmits_total", {}, static_cast<double>(c.retransmits));
            m.setTotal("pinetboot_tftp_unanswered_evicted_total", {},
                       static_cast<double>(c.unansweredEvicted));
            m.setTotal("pinetboot_internal_errors_total", {{"server", "tftp"}},
                       static_cast<double>(c.internalErrors));
        }
        std::uint64_t dhcpErrors = 0;
        for (const auto& d : dhcp_) {
            dhcpErrors += d->counters().internalErrors;
        }
        m.setTotal("pinetboot_internal_errors_total", {{"server", "dhcp"}},
                   static_cast<double>(dhcpErrors));
        if (httpBoot_) {
            m.set("pinetboot_transfers_in_flight", {{"protocol", "http"}},
                  static_cast<double>(httpBoot_->inFlight()));
            const auto h = httpBoot_->counters();
            m.setTotal("pinetboot_http_boot_refused_total", {{"reason", "per_address_cap"}},
                       static_cast<double>(h.refusedOverCap));
            m.setTotal("pinetboot_http_boot_refused_total", {{"reason", "header_timeout"}},
                       static_cast<double>(h.headerTimeouts));
            m.setTotal("pinetboot_http_boot_refused_total", {{"reason", "connection_cap"}},
                       static_cast<double>(h.refusedTotalCap));
            m.setTotal("pinetboot_http_boot_refused_total", {{"reason", "bad_request"}},
                       static_cast<double>(h.badRequests));
            m.setTotal("pinetboot_http_boot_refused_total", {{"reason", "stalled"}},
                       static_cast<double>(h.stalled));
            m.setTotal("pinetboot_internal_errors_total", {{"server", "http_boot"}},
                       static_cast<double>(h.internalErrors));
            m.set("pinetboot_http_boot_connections", {}, static_cast<double>(h.connections));
        }
        if (nodes_) {
            nodes_->exportMetrics(m);
        }
    });
    monitor_.setBootEndHook([this](const core::boot::BootRecord& b) {
        // Every node's dashboard shows the boots of every node (issue #19).
        io::BootRow row;
        row.serial = b.serial;
        row.mac = b.mac;
        row.ip = b.ip;
        row.model = b.model;
        row.file = b.kernelFile;
        row.outcome = core::boot::toString(b.outcome);
        row.failure = b.failure;
        auto ms = [](core::WallTime t) {
            return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
                .count();
        };
        row.startedMs = ms(b.start);
        row.endedMs = ms(b.end.value_or(b.last));
        nodes_->recordBoot(std::move(row));
    });
    monitor_.setAdmissionHook([this] { return admission_->snapshot(); });
    if (rollouts_) {
        monitor_.setEventHook([r = rollouts_.get()](const core::BootEvent& e) { r->onEvent(e); });
        monitor_.setClientEepromHook([r = rollouts_.get()] { return r->clientsEeprom(); });
        rollouts_->poll(std::chrono::system_clock::now());
    }
    // Switch-port findings, for `doctor` (another process): the last 32, one line each,
    // in <state>/network-findings.txt (app/doctor reads it).
    monitor_.setLinkHook([dir = cfg->stateDir, lines = std::make_shared<std::deque<std::string>>()](
                             const core::boot::LinkFinding& f) {
        constexpr std::size_t kKeep = 32;  // a page of doctor output
        lines->push_back(f.message);
        while (lines->size() > kKeep) {
            lines->pop_front();
        }
        std::string text;
        for (const auto& l : *lines) {
            text += l + "\n";
        }
        if (auto w = io::writeFileAtomic(fs::path(dir) / kNetworkFindingsFile, text); !w) {
            spdlog::warn("NETWORK_PORT cannot record the finding: {}", w.error().message);
        }
    });
    // The gate is shared: the monitor copies its hook for each call.
    monitor_.setSeenHook([this, gate = std::make_shared<DiscoveryGate>()](const SeenClient& seen) {
        // Only a Pi's DHCP, once a minute per board (DiscoveryGate): a TFTP path with
        // an invented serial must not add a row (and a registry re-list) per request.
        // The hook runs on the monitor's one worker thread, the gate's only user.
        if (!gate->admit(seen, std::chrono::steady_clock::now())) {
            return;
        }
        if (!seen.registered) {
            spdlog::info("CLIENT_DISCOVERED serial={} mac={} model={}", seen.serial,
                         seen.mac.empty() ? "-" : seen.mac, seen.model.empty() ? "-" : seen.model);
        }
        std::lock_guard lock(storeMutex_);
        if (store_) {
            store_->recordSeen(seen.serial, seen.mac, seen.model);
        }
    });
    {
        std::lock_guard lock(watchMutex_);
        stopping_ = false;
    }
    watcher_ = std::thread([this] { watchRegistry(); });
    started_ = true;
    spdlog::info("SERVE_READY interfaces={} dashboard={}://{}:{}/", cfg->interfaces.size(),
                 cfg->httpTlsCert.empty() ? "http" : "https", cfg->httpListen.host, web_->port());
}

std::shared_ptr<const InPlaceViews> ServeDaemon::inPlaceViews(
    const std::string& stateDir, const std::map<std::string, InPlaceClient>& imageOf) {
    // Called with refreshMutex_ held (refreshRegistry, reinstallViews), off the packet
    // path: image.json and the maps are read here, once per change, never per request.
    auto views = std::make_shared<InPlaceViews>();
    std::map<std::string, std::shared_ptr<const InPlaceView>> opened;
    // A view opened before and still current, else opened now (null if it cannot be).
    auto viewOf = [&](const std::string& key, const ImageInfo& info) {
        if (auto it = opened.find(key); it != opened.end()) {
            return it->second;
        }
        std::shared_ptr<const InPlaceView> view;
        if (auto old = inPlaceOpen_.find(key);
            old != inPlaceOpen_.end() && old->second->current(info)) {
            view = old->second;
        } else if (auto v = InPlaceView::open(info)) {
            view = *v;
            spdlog::info("IN_PLACE_IMAGE image={} source={}", info.name, info.source);
        } else {
            // Its clients get "file not found" for the image's files, and the log says
            // why (the file changed or is gone since `image add`).
            spdlog::warn("IN_PLACE_IMAGE_UNAVAILABLE image={} reason={}", info.name,
                         proto::text::safeText(v.error().message, 300));
        }
        opened.emplace(key, view);
        return view;
    };
    std::map<std::string, std::optional<ImageInfo>> images;
    for (const auto& [dir, client] : imageOf) {
        auto img = images.find(client.image);
        if (img == images.end()) {
            auto info = findImage(stateDir, client.image);
            img = images
                      .emplace(client.image,
                               info && info->inPlace ? std::optional(*info) : std::nullopt)
                      .first;
        }
        if (!img->second) {
            continue;  // imported: its files are in the client's folder
        }
        std::shared_ptr<const InPlaceView> view;
        // A board that wrote in its own boot partition boots from that (app/nbd/boot_view).
        if (isNbdRootMode(client.rootMode)) {
            if (auto own = bootViewInfo(stateDir, client.serial)) {
                view = viewOf("client " + client.serial, *own);
            }
        }
        if (!view) {
            view = viewOf("image " + client.image, *img->second);
        }
        if (view) {
            views->emplace(dir, view);
        }
    }
    for (auto it = opened.begin(); it != opened.end();) {
        it = it->second ? std::next(it) : opened.erase(it);
    }
    inPlaceOpen_ = std::move(opened);
    return views;
}

void ServeDaemon::installResolver(const std::vector<KnownClient>& clients) {
    const auto cfg = config();
    const fs::path root = fs::weakly_canonical(cfg->tftpRoot);
    std::map<std::string, std::string> bySerial;
    std::map<std::string, std::string> byMac;
    std::map<std::string, InPlaceClient> imageOf;  ///< by boot dir
    for (const auto& c : clients) {
        if (c.bootDir.empty()) {
            continue;
        }
        // The registry stores absolute boot directories; TFTP wants them
        // relative to its root (it never serves outside it).
        fs::path dir = c.bootDir;
        std::string rel;
        if (dir.is_absolute()) {
            const auto r = fs::weakly_canonical(dir).lexically_relative(root);
            if (r.empty() || *r.begin() == "..") {
                spdlog::warn("REGISTRY_BOOT_DIR_OUTSIDE_ROOT serial={} boot_dir={} root={}",
                             c.serial, c.bootDir, root.string());
                continue;
            }
            rel = r.string();
        } else {
            rel = dir.lexically_normal().string();
        }
        if (!c.serial.empty()) {
            bySerial[c.serial] = rel;
        }
        if (auto mac = proto::netboot::normalizeMac(c.mac)) {
            byMac[proto::netboot::macPrefixDir(*mac)] = rel;
        }
        if (!c.image.empty() && !c.discovered) {
            imageOf[rel] = {c.serial, c.image, c.rootMode};
        }
    }
    if (tftp_) {
        tftp_->setInPlaceViews(inPlaceViews(cfg->stateDir, imageOf));
    }
    if (tftp_) {
        tftp_->setResolver(std::make_shared<RegistryResolver>(cfg->tftpRoot, std::move(bySerial),
                                                              std::move(byMac)));
    }
}

void ServeDaemon::reinstallViews() {
    std::lock_guard refreshing(refreshMutex_);
    installResolver(lastClients_);
}

void ServeDaemon::refreshRegistry(bool force) {
    std::lock_guard refreshing(refreshMutex_);
    std::vector<KnownClient> clients;
    std::int64_t version = 0;
    {
        std::lock_guard lock(storeMutex_);
        if (store_) {
            version = store_->version();
            {
                std::lock_guard wl(watchMutex_);
                if (!force && version == seenVersion_) {
                    return;
                }
            }
            clients = store_->list();
        } else if (!force) {
            return;  // no registry: nothing can change
        }
    }
    {
        std::lock_guard wl(watchMutex_);
        seenVersion_ = version;
    }
    installResolver(clients);
    if (bootViews_) {
        bootViews_->setClients(clients);
    }
    lastClients_ = clients;
    if (rollouts_) {
        rollouts_->setKnownClients(clients);  // MAC-prefixed requests -> serial
    }
    const auto n = clients.size();
    monitor_.setKnownClients(std::move(clients));
    spdlog::info("REGISTRY_LOADED clients={} version={}", n, version);
}

void ServeDaemon::watchRegistry() {
    std::unique_lock lock(watchMutex_);
    while (!stopping_) {
        // 1 s: `client add` shows up within a second; a version read is one
        // cheap SQLite statement.
        watchCv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        if (stopping_) {
            break;
        }
        lock.unlock();
        if (admissionNeedsTicks_) {
            // Once a second is enough here: a waiting board is let in by the DHCP
            // responder's own 25 ms ticks while it holds boards, or (TFTP as the gate)
            // at its next RRQ, since request() re-checks capacity; this tick only
            // runs expiry and the quiet-period notice ("storm over").
            admission_->tick(core::boot::SteadyClock::now());
        }
        try {
            refreshRegistry(false);
            if (storeDown_) {
                storeDown_ = false;
                spdlog::info("STORE_UP the client store can be read again");
                monitor_.setStoreHealth(true, {});
            }
        } catch (const std::exception& e) {
            // One line when it goes down (not one a second): boards keep booting from
            // the snapshot of the last successful read.
            if (!storeDown_) {
                storeDown_ = true;
                spdlog::warn(
                    "STORE_DOWN error=\"{}\" (enrolled boards boot from the registry "
                    "snapshot in memory)",
                    e.what());
            }
            monitor_.setStoreHealth(false, e.what());
        }
        if (auth_) {
            // `pinetboot token rotate` (another process) takes effect within a second:
            // the old token and every session it opened stop working.
            if (auto t = http::readApiToken(config()->stateDir); t && *t) {
                auth_->setToken(std::move(**t));
            }
        }
        if (rollouts_) {
            rollouts_->poll(std::chrono::system_clock::now());
        }
        lock.lock();
    }
}

void ServeDaemon::reload(config::Config next) {
    const auto running = config();
    const auto changes = config::restartOnlyChanges(*running, next);
    if (!changes.empty()) {
        std::string list;
        for (const auto& c : changes) {
            list += (list.empty() ? "" : ",") + c;
        }
        spdlog::warn("CONFIG_RESTART_NEEDED keys={} (running values kept until restart)", list);
    }
    // Restart-only keys keep their running values, so config() reports what the
    // engines use; the key table says which keys those are.
    config::Config merged = config::keepRestartOnly(*running, std::move(next));
    {
        std::lock_guard lock(configMutex_);
        config_ = std::make_shared<const config::Config>(std::move(merged));
    }
    const auto now = config();
    spdlog::set_level(spdlog::level::from_str(now->logLevel));
    monitor_.setHistoryPerClient(now->bootHistory);
    try {
        refreshRegistry(true);
    } catch (const std::exception& e) {
        // The store is down: keep the snapshot; the watcher reports it (STORE_DOWN).
        spdlog::warn("REGISTRY_READ_FAILED at reload error=\"{}\"", e.what());
    }
    spdlog::info("CONFIG_RELOADED file={} restart_needed={}",
                 now->sourcePath.empty() ? "-" : now->sourcePath, changes.size());
    monitor_.announce("reload", fmt::format("{{\"restart_needed\":{}}}", changes.size()));
}

void ServeDaemon::stop() {
    {
        std::lock_guard lock(watchMutex_);
        stopping_ = true;
    }
    watchCv_.notify_all();
    if (watcher_.joinable()) {
        watcher_.join();
    }
    if (bootViews_) {
        bootViews_->stop();
    }
    const bool wasStarted = started_;
    started_ = false;
    if (wasStarted) {
        spdlog::info("SERVE_STOPPING draining transfers");
    }
    // No new boots first, then let running transfers finish.
    std::string counters;
    for (auto& d : dhcp_) {
        d->stop();
        counters += formatCounters(d->counters());
    }
    if (tftp_) {
        // The Pi gives a file 30 s (spec 4.1), but a stopping service should not
        // hang for that long: 5 s finishes any file of a normal boot on a LAN.
        tftp_->stop(std::chrono::seconds(5));
    }
    if (httpBoot_) {
        httpBoot_->stop();
    }
    monitor_.flush();
    if (web_) {
        web_->stop();
    }
    dhcp_.clear();  // after the dashboard: a scrape reads the (stopped) servers' counters
    if (nodes_) {
        nodes_->stop();  // after DHCP: no responder asks it any more; its last boots flushed
    }
    monitor_.stop();
    if (tftp_ && wasStarted) {
        const auto c = tftp_->counters();
        // The same "name value" lines as the first `serve` printed (scripts read them).
        std::cerr << counters << "tftp_transfers_started " << c.transfersStarted << '\n'
                  << "tftp_transfers_ok " << c.finishedCount(core::TransferRecord::Result::Ok)
                  << '\n';
        spdlog::info("SERVE_STOPPED tftp_transfers={} tftp_ok={} tftp_active={}",
                     c.transfersStarted, c.finishedCount(core::TransferRecord::Result::Ok),
                     c.transfersActive);
    }
    tftp_.reset();
    httpBoot_.reset();
}

std::uint16_t ServeDaemon::httpPort() const {
    return web_ ? web_->port() : 0;
}
std::uint16_t ServeDaemon::httpBootPort() const {
    return httpBoot_ ? httpBoot_->port() : 0;
}
std::string ServeDaemon::tftpAddress() const {
    return tftp_ ? tftp_->listenAddress() : "";
}

}  // namespace pinet::app::serve
