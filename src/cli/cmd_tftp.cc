// pinetboot tftp: the TFTP server alone, serving a folder. Per-client boot
// directories are the folders under --root named by serial ("d9780558") or
// MAC ("dc-a6-32-01-36-c2").

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/image/image_store.h"
#include "app/tftp/in_place_source.h"
#include "app/tftp/tftp_server.h"
#include "cli/command.h"

namespace pinet::cli {
namespace {

// Defaults are the engine's, the same as serve's (core::tftp::EngineConfig).
const core::tftp::EngineConfig kDefaults{};

struct TftpOptions {
    std::string root;
    std::string listen = "0.0.0.0:69";
    std::string defaultDir;
    std::uint32_t maxPerSource = kDefaults.source.maxConcurrent;
    double ratePerSource = kDefaults.source.requestsPerSecond;
    std::uint32_t maxBlockSize = kDefaults.transfer.maxBlockSize;
    std::uint32_t maxWindowSize = kDefaults.transfer.maxWindowSize;
    std::uint32_t timeoutMs = static_cast<std::uint32_t>(kDefaults.transfer.defaultTimeout.count());
    std::uint32_t minTimeoutMs =
        static_cast<std::uint32_t>(kDefaults.transfer.minAdaptiveTimeout.count());
    std::uint32_t retries = static_cast<std::uint32_t>(kDefaults.transfer.maxRetries);
    std::size_t maxTransfers = kDefaults.maxTransfers;
    std::size_t replySockets = kDefaults.replySockets;
    std::string replyPorts = "per-transfer";
    std::string io = "auto";
    std::uint32_t testDropEvery = 0;
    std::uint32_t coalesceUs = 0;      // off: see TftpServerConfig::coalesce
    std::vector<std::string> inPlace;  ///< DIR=IMAGE: DIR's files from an in-place image
    std::string stateDir;
};

/// --in-place DIR=IMAGE: files under DIR/ that the folder does not have come from the
/// boot partition of the in-place image IMAGE, as serve gives them to its clients. All
/// problems are reported at once; the server does not start with any of them.
std::shared_ptr<const app::InPlaceViews> openInPlace(const TftpOptions& o) {
    auto views = std::make_shared<app::InPlaceViews>();
    std::vector<std::string> problems;
    const std::string dir = o.inPlace.empty() ? std::string() : stateDir(o.stateDir);
    for (const auto& spec : o.inPlace) {
        const auto eq = spec.find('=');
        const std::string sub = eq == std::string::npos ? std::string() : spec.substr(0, eq);
        const std::string name = eq == std::string::npos ? std::string() : spec.substr(eq + 1);
        if (sub.empty() || name.empty() || sub.front() == '/' ||
            sub.find("..") != std::string::npos || sub.back() == '/') {
            problems.push_back(fmt::format(
                "--in-place {}: give DIR=IMAGE, DIR relative to --root (e.g. --in-place os=os)",
                spec));
            continue;
        }
        auto info = app::findImage(dir, name);
        if (!info) {
            problems.push_back(fmt::format("--in-place {}: {}", spec, info.error().message));
            continue;
        }
        if (!info->inPlace) {
            problems.push_back(fmt::format(
                "--in-place {}: image {} was imported, not added in place: serve its folder "
                "{}/images/{}/boot with --root instead",
                spec, name, dir, name));
            continue;
        }
        auto view = app::InPlaceView::open(*info);
        if (!view) {
            problems.push_back(fmt::format("--in-place {}: {}", spec, view.error().message));
            continue;
        }
        (*views)[sub] = std::move(*view);
    }
    if (!problems.empty()) {
        std::string all;
        for (const auto& p : problems) {
            all += (all.empty() ? "" : "\n") + p;
        }
        throw std::runtime_error(all);
    }
    return views;
}

class LogSink final : public core::BootEventSink {
public:
    void onEvent(const core::BootEvent& event) override {
        const auto* rec = std::get_if<core::TransferRecord>(&event);
        if (rec == nullptr) {
            return;
        }
        auto level = rec->result == core::TransferRecord::Result::Ok ||
                             rec->result == core::TransferRecord::Result::NotFound
                         ? spdlog::level::info
                     : rec->result == core::TransferRecord::Result::SizeQuery ? spdlog::level::debug
                                                                              : spdlog::level::warn;
        double secs = static_cast<double>(rec->duration.count()) / 1e6;
        spdlog::log(level, "tftp: {} {} {} {}/{} bytes blksize {} window {} {:.3f} s{}{}",
                    rec->clientAddr, rec->requestedPath, core::toString(rec->result), rec->bytes,
                    rec->fileSize, rec->blockSize, rec->windowSize, secs,
                    rec->detail.empty() ? "" : ": ", rec->detail);
    }
};

void runTftp(const TftpOptions& o) {
    app::TftpServerConfig cfg;
    cfg.listen = o.listen;
    cfg.root = o.root;
    cfg.defaultDir = o.defaultDir;
    cfg.source.maxConcurrent = o.maxPerSource;
    cfg.source.requestsPerSecond = o.ratePerSource;
    cfg.source.burst = std::max(o.ratePerSource * 2, 1.0);
    cfg.transfer.maxBlockSize = o.maxBlockSize;
    cfg.transfer.maxWindowSize = o.maxWindowSize;
    cfg.transfer.defaultTimeout = std::chrono::milliseconds(o.timeoutMs);
    cfg.transfer.minAdaptiveTimeout = std::chrono::milliseconds(o.minTimeoutMs);
    cfg.transfer.maxRetries = static_cast<int>(o.retries);
    cfg.maxTransfers = o.maxTransfers;
    cfg.replySockets = o.replySockets;
    cfg.replyPorts =
        o.replyPorts == "pool" ? core::tftp::ReplyPorts::Pool : core::tftp::ReplyPorts::PerTransfer;
    cfg.io = o.io == "uring"   ? io::LoopChoice::Uring
             : o.io == "epoll" ? io::LoopChoice::Epoll
                               : io::LoopChoice::Auto;
    cfg.testDropEvery = o.testDropEvery;
    cfg.coalesce = std::chrono::microseconds(o.coalesceUs);

    // Block the stop signals before the loop thread exists, so that it
    // inherits the mask and sigwait() below receives them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    std::shared_ptr<const app::InPlaceViews> views;
    try {
        views = openInPlace(o);
    } catch (const std::exception& e) {
        printError(e.what());
        setExitCode(kExitFailure);
        return;
    }
    auto server = app::TftpServer::create(cfg);
    if (!server) {
        printError(server.error().message);
        setExitCode(kExitFailure);
        return;
    }
    LogSink sink;
    (*server)->setEventSink(&sink);
    (*server)->setResolver(std::make_shared<app::FolderClientResolver>(o.root));
    if (!views->empty()) {
        (*server)->setInPlaceViews(views);
    }
    (*server)->start();
    // Tests start the server on port 0 and read the port from this line.
    std::cout << "listening on " << (*server)->listenAddress() << std::endl;

    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("tftp: signal {}, finishing running transfers", sig);
    (*server)->stop(std::chrono::seconds(5));
    auto c = (*server)->counters();
    std::string refused;
    for (std::size_t i = 0; i < c.refused.size(); ++i) {
        if (c.refused[i] != 0) {
            refused +=
                fmt::format(" {}={}", core::tftp::toString(static_cast<core::tftp::TftpRefusal>(i)),
                            c.refused[i]);
        }
    }
    spdlog::info(
        "tftp: {} transfers, {} ok, {} probes, {} timeouts, {} packets out "
        "({} in GSO groups), {} retransmitted, {} coalescing pauses; refused:{}",
        c.transfersStarted, c.finishedCount(core::TransferRecord::Result::Ok),
        c.finishedCount(core::TransferRecord::Result::SizeQuery),
        c.finishedCount(core::TransferRecord::Result::Timeout), c.packetsOut, c.packetsOutSegmented,
        c.retransmits, c.coalescePauses, refused.empty() ? " none" : refused);
    setExitCode(kExitOk);
}

void setup(CLI::App* cmd) {
    auto opts = std::make_shared<TftpOptions>();
    cmd->add_option("--root", opts->root, "Folder to serve; per-client folders beneath it")
        ->required()
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--listen", opts->listen, "ADDR:PORT to listen on (port 0: any free port)")
        ->capture_default_str();
    cmd->add_option("--default-dir", opts->defaultDir,
                    "Folder under --root that answers for unknown serial/MAC prefixes");
    cmd->add_option("--max-per-source", opts->maxPerSource,
                    "Concurrent transfers per source address")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1000000u));
    cmd->add_option("--rate-per-source", opts->ratePerSource,
                    "New requests per second per source address (burst: twice this)")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 1e9));
    cmd->add_option("--max-blksize", opts->maxBlockSize, "Largest blksize granted (RFC 2348)")
        ->capture_default_str()
        ->check(CLI::Range(8u, 65464u));
    cmd->add_option("--max-windowsize", opts->maxWindowSize,
                    "Largest windowsize granted (RFC 7440)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 65535u));
    cmd->add_option("--min-timeout-ms", opts->minTimeoutMs,
                    "Floor of the adaptive retransmit timeout once a client answers "
                    "(RFC 1123 4.2.3.2; = --timeout-ms turns adaptation off)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 255000u));
    cmd->add_option("--timeout-ms", opts->timeoutMs,
                    "Retransmit timeout when the client sends no timeout option")
        ->capture_default_str()
        ->check(CLI::Range(10u, 255000u));
    cmd->add_option("--retries", opts->retries,
                    "Retransmissions of a window before a silent client is given up")
        ->capture_default_str()
        ->check(CLI::Range(1u, 20u));
    cmd->add_option("--max-transfers", opts->maxTransfers, "Concurrent transfers in total")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
    cmd->add_option("--reply-ports", opts->replyPorts,
                    "per-transfer: a socket per transfer on a random port (a blind attacker "
                    "cannot steer transfers); pool: --reply-sockets sockets for the daemon's "
                    "life (fewer syscalls, known ports)")
        ->capture_default_str()
        ->check(CLI::IsMember({"per-transfer", "pool"}));
    cmd->add_option("--io", opts->io,
                    "Kernel interface of the sockets: auto (io_uring where the kernel allows "
                    "it, else epoll), uring (or fail), epoll")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "uring", "epoll"}));
    cmd->add_option("--reply-sockets", opts->replySockets,
                    "With --reply-ports pool: reply sockets shared by transfers")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    cmd->add_option("--coalesce-us", opts->coalesceUs,
                    "Under load, pause this long between loop turns to batch datagrams: less CPU, "
                    "slower lockstep clients (0: off)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 10000u));
    // Test hook, hidden from --help: drop every Nth outgoing datagram.
    cmd->add_option("--in-place", opts->inPlace,
                    "DIR=IMAGE: files under DIR/ come from in-place image IMAGE's boot "
                    "partition (the folder's own files first); repeatable");
    cmd->add_option("--state-dir", opts->stateDir, "State directory (for --in-place)");
    cmd->add_option("--test-drop-every", opts->testDropEvery)->group("");
    cmd->callback([opts] { runTftp(*opts); });
}

PINET_COMMAND(20, "tftp", "Run the TFTP server alone (read-only, per-client trees)", setup);

}  // namespace
}  // namespace pinet::cli
