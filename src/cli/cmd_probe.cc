// `pinetboot probe`: a virtual Raspberry Pi bootloader (spec netboot-protocol §12.2) that
// does the board's DHCP and TFTP on an interface and says whether a real board would boot.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/json_text.h"
#include "app/virtual_pi/board_runner.h"
#include "cli/command.h"
#include "io/file.h"
#include "proto/dhcp/dhcp_packet.h"

namespace pinet::cli {
namespace {

struct ProbeOptions {
    std::string interface;
    std::string model = "pi4";
    std::string serial;
    std::string mac;
    std::string bootloader = "latest";
    std::string pxeMatch = "Raspberry Pi Boot";
    int count = 1;
    double dhcpTimeout = 45.0;
    double fileTimeout = 30.0;
    bool timelines = false;
    std::string mode = "tftp";
    std::string httpHost;
    std::string httpPath = "net_install";
    std::string pubkey;
    double httpTimeout = 120.0;
    bool httpFromLease = false;
    int maxAttempts = 1;
    double retryBackoff = 5.0;
    std::string json;
    bool selfUpdate = false;
    std::uint64_t eepromTs = 0;
    std::string eepromConfig;
    std::string eepromStore;
    double flashTime = 3.0;
    int tftpPrefix = 0;
    std::string tftpPrefixStr;
};

/// `--eeprom-store FILE`: each board's EEPROM (ts, config, hash) by serial, so that the
/// boards of the next run power on with what they flashed in this one.
using EepromStore = std::map<std::uint32_t, core::virtual_pi::EepromState>;

Result<EepromStore> readEepromStore(const std::string& path) {
    EepromStore out;
    if (!std::filesystem::exists(path)) {
        return out;  // the first run: every board starts from --eeprom-ts/--eeprom-config
    }
    auto bytes = io::readFile(path);
    if (!bytes) {
        return tl::unexpected(bytes.error());
    }
    auto j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("boards") || !j["boards"].is_object()) {
        return fail(path + ": not an EEPROM store written by probe");
    }
    for (const auto& [serial, b] : j["boards"].items()) {
        char* end = nullptr;
        const unsigned long v = std::strtoul(serial.c_str(), &end, 16);
        if (serial.empty() || serial.size() > 8 || *end != '\0' || !b.is_object() ||
            !b.value("ts", nlohmann::json()).is_number_unsigned()) {
            return fail(path + ": bad entry " + serial);
        }
        core::virtual_pi::EepromState e;
        e.timestamp = b["ts"].get<std::uint64_t>();
        e.config = b.value("config", std::string());
        e.sha256Hex = b.value("sha256", std::string());
        out[static_cast<std::uint32_t>(v)] = std::move(e);
    }
    return out;
}

Result<void> writeEepromStore(const std::string& path, EepromStore store,
                              const app::virtual_pi::RunnerReport& report) {
    for (const auto& b : report.boards) {
        if (b.eeprom) {
            store[static_cast<std::uint32_t>(std::strtoul(b.serial.c_str(), nullptr, 16))] =
                *b.eeprom;
        }
    }
    nlohmann::json boards = nlohmann::json::object();
    for (const auto& [serial, e] : store) {
        boards[fmt::format("{:08x}", serial)] = {
            {"ts", e.timestamp}, {"config", e.config}, {"sha256", e.sha256Hex}};
    }
    return io::writeFileAtomic(path, app::dumpJson(nlohmann::json{{"boards", boards}}, 1) + "\n");
}

// A session id range per board (PiBoard::kSessionsPerBoard = 1000) holds about 50 attempts
// of the ~20 file steps; 20 attempts is far past any boot order a lab would configure.
constexpr int kMaxAttempts = 20;

double secs(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0.0;
    }
    std::sort(v.begin(), v.end());
    // Nearest-rank percentile.
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

void printTimeline(const app::virtual_pi::BoardResult& b) {
    for (const auto& e : b.timeline) {
        std::cout << fmt::format("  {:8.3f}  {}\n", secs(e.at), e.text);
    }
}

/// The boards of one outcome: how many, and their time from power-on to kernel fetched.
struct Group {
    std::size_t count = 0;
    std::vector<double> times;

    void add(const app::virtual_pi::BoardResult& b) {
        ++count;
        if (b.kernelTime) {
            times.push_back(secs(*b.kernelTime));
        }
    }
    [[nodiscard]] double max() const {
        return times.empty() ? 0.0 : *std::max_element(times.begin(), times.end());
    }
    [[nodiscard]] std::string text(std::size_t total) const {
        if (count == 0) {
            return fmt::format("0/{}", total);
        }
        return fmt::format("{}/{} (p50 {:.3f} s p99 {:.3f} s max {:.3f} s)", count, total,
                           percentile(times, 50), percentile(times, 99), max());
    }
    [[nodiscard]] nlohmann::json json() const {
        return {{"count", count},
                {"p50_s", percentile(times, 50)},
                {"p99_s", percentile(times, 99)},
                {"max_s", max()}};
    }
};

/// Booted on the first power-on / after retries / not at all (time to booted = kernel
/// fetched, counted from the power-on, back-offs included).
struct Outcomes {
    Group firstTry;
    Group afterRetries;
    std::size_t never = 0;
    std::map<int, std::size_t> attempts;  ///< attempts used -> boards

    explicit Outcomes(const std::vector<app::virtual_pi::BoardResult>& boards) {
        for (const auto& b : boards) {
            ++attempts[b.attempts];
            if (!b.booted) {
                ++never;
            } else if (b.attempts == 1) {
                firstTry.add(b);
            } else {
                afterRetries.add(b);
            }
        }
    }
};

nlohmann::json reportJson(const ProbeOptions& o, const app::virtual_pi::RunnerReport& report,
                          const Outcomes& out, const std::vector<double>& dhcp,
                          const std::vector<double>& kernel) {
    nlohmann::json perBoard = nlohmann::json::array();
    auto optSecs = [](const auto& d) {
        return d ? nlohmann::json(secs(*d)) : nlohmann::json();
    };
    for (const auto& b : report.boards) {
        perBoard.push_back({{"serial", b.serial},
                            {"mac", b.mac},
                            {"ip", b.ip},
                            {"booted", b.booted},
                            {"attempts", b.attempts},
                            {"bytes", b.bytes},
                            {"time_to_booted_s", optSecs(b.kernelTime)},
                            {"booted_attempt_start_s", optSecs(b.bootedAttemptStart)},
                            {"dhcp_s", optSecs(b.dhcpTime)},
                            {"verdict", b.verdict},
                            {"attempt_failures", b.attemptFailures}});
        if (b.eeprom) {
            perBoard.back()["eeprom"] = {{"ts", b.eeprom->timestamp},
                                         {"config", b.eeprom->config},
                                         {"flashes", b.flashes},
                                         {"refused", b.refusedUpdates}};
        }
    }
    nlohmann::json attempts = nlohmann::json::object();
    for (const auto& [n, c] : out.attempts) {
        attempts[std::to_string(n)] = c;
    }
    const std::size_t booted = out.firstTry.count + out.afterRetries.count;
    return {{"model", o.model},
            {"mode", o.mode},
            {"boards", report.boards.size()},
            {"max_attempts", o.maxAttempts},
            {"wall_s", secs(report.wall)},
            {"booted", booted},
            {"first_try", out.firstTry.json()},
            {"after_retries", out.afterRetries.json()},
            {"never", {{"count", out.never}}},
            {"attempts", attempts},
            {"dhcp", {{"p50_s", percentile(dhcp, 50)}, {"p99_s", percentile(dhcp, 99)}}},
            {"kernel",
             {{"p50_s", percentile(kernel, 50)},
              {"p99_s", percentile(kernel, 99)},
              {"max_s", kernel.empty() ? 0.0 : *std::max_element(kernel.begin(), kernel.end())}}},
            {"per_board", perBoard}};
}

int runProbe(const ProbeOptions& o) {
    app::virtual_pi::RunnerConfig pc;
    pc.interface = o.interface;
    auto model = core::virtual_pi::parseModel(o.model);
    if (!model) {
        printError("--model " + o.model + ": expected cm4, pi4 or pi5");
        return kExitUsage;
    }
    auto bl = core::virtual_pi::parseBootloader(o.bootloader);
    if (!bl) {
        printError("--bootloader " + o.bootloader + ": expected 2020, 2022 or latest");
        return kExitUsage;
    }
    if (o.count < 1 || o.count > 4096) {
        // 4096: one event loop for all boards; far above any lab (and past 1024 boards the
        // server's kernel needs a bigger ARP table: net.ipv4.neigh.default.gc_thresh3).
        printError("--count must be 1..4096");
        return kExitUsage;
    }
    pc.count = o.count;
    if (o.maxAttempts < 1 || o.maxAttempts > kMaxAttempts) {
        printError(fmt::format("--max-attempts must be 1..{}", kMaxAttempts));
        return kExitUsage;
    }
    if (o.retryBackoff < 0 || o.retryBackoff > 600) {
        printError("--retry-backoff must be 0..600 seconds");
        return kExitUsage;
    }
    pc.board.maxAttempts = o.maxAttempts;
    pc.board.retryBackoff = std::chrono::milliseconds(static_cast<long>(o.retryBackoff * 1000));
    if (o.mode == "http" || o.mode == "7") {
        pc.board.method = core::virtual_pi::BootMethod::Http;
        // HTTP_HOST[:HTTP_PORT]; the probe does no DNS, so an IPv4 literal (spec §5
        // recommends one for the same reason on the board).
        std::string host = o.httpHost;
        std::uint16_t port = 80;
        if (const auto colon = host.find(':'); colon != std::string::npos) {
            char* end = nullptr;
            const unsigned long p = std::strtoul(host.c_str() + colon + 1, &end, 10);
            if (*end != '\0' || p == 0 || p > 65535) {
                printError("--http-host " + o.httpHost + ": bad port");
                return kExitUsage;
            }
            port = static_cast<std::uint16_t>(p);
            host.resize(colon);
        }
        auto ip = proto::dhcp::parseIp(host);
        if (!ip) {
            printError(o.httpHost.empty()
                           ? "--mode http needs --http-host ADDR[:PORT]"
                           : "--http-host " + o.httpHost +
                                 ": expected an IPv4 address (the probe does no DNS)");
            return kExitUsage;
        }
        pc.board.httpHost = *ip;
        pc.board.httpPort = port;
        pc.board.httpPath = o.httpPath;
        pc.board.httpTimeout = std::chrono::milliseconds(static_cast<long>(o.httpTimeout * 1000));
        pc.pubkey = o.pubkey;
        pc.httpFromLease = o.httpFromLease;
    } else if (o.mode != "tftp" && o.mode != "2") {
        printError("--mode " + o.mode + ": expected tftp (BOOT_ORDER 2) or http (BOOT_ORDER 7)");
        return kExitUsage;
    } else if (!o.httpHost.empty() || (!o.pubkey.empty() && !o.selfUpdate) || o.httpFromLease) {
        printError(
            "--http-host and --http-from-lease need --mode http, --pubkey --mode http or "
            "--self-update");
        return kExitUsage;
    } else {
        pc.pubkey = o.pubkey;
    }
    EepromStore store;
    if (o.selfUpdate) {
        if (o.flashTime < 0 || o.flashTime > 600) {
            printError("--flash-time must be 0..600 seconds");
            return kExitUsage;
        }
        core::virtual_pi::SelfUpdateConfig su;
        su.eeprom.timestamp = o.eepromTs;
        if (!o.eepromConfig.empty()) {
            auto conf = io::readFile(o.eepromConfig);
            if (!conf) {
                printError(conf.error().message);
                return kExitUsage;
            }
            su.eeprom.config.assign(conf->begin(), conf->end());
        } else {
            // A board that netboots runs a BOOT_ORDER with network boot in it.
            su.eeprom.config = "[all]\nBOOT_ORDER=0xf21\n";
        }
        su.flashTime = std::chrono::milliseconds(static_cast<long>(o.flashTime * 1000));
        pc.board.selfUpdate = std::move(su);
        if (!o.eepromStore.empty()) {
            auto st = readEepromStore(o.eepromStore);
            if (!st) {
                printError(st.error().message);
                return kExitUsage;
            }
            store = std::move(*st);
            pc.eepromBySerial = store;
        }
    } else if (o.eepromTs != 0 || !o.eepromConfig.empty() || !o.eepromStore.empty()) {
        printError("--eeprom-ts, --eeprom-config and --eeprom-store need --self-update");
        return kExitUsage;
    }
    if (o.tftpPrefix < 0 || o.tftpPrefix > 2) {
        printError("--tftp-prefix must be 0 (serial), 1 (--tftp-prefix-str) or 2 (MAC)");
        return kExitUsage;
    }
    // TFTP_PREFIX_STR: max 32 characters (bootloader documentation).
    if (o.tftpPrefixStr.size() > 32 || (!o.tftpPrefixStr.empty() && o.tftpPrefix != 1)) {
        printError("--tftp-prefix-str takes at most 32 characters, with --tftp-prefix 1");
        return kExitUsage;
    }
    pc.board.tftpPrefix = o.tftpPrefix;
    pc.board.tftpPrefixStr = o.tftpPrefixStr;
    pc.board.model = *model;
    pc.board.bootloader = *bl;
    pc.board.pxeMatch = o.pxeMatch;
    pc.board.dhcpTimeout = std::chrono::milliseconds(static_cast<long>(o.dhcpTimeout * 1000));
    pc.board.tftpFileTimeout = std::chrono::milliseconds(static_cast<long>(o.fileTimeout * 1000));
    std::random_device rd;
    if (o.serial.empty()) {
        pc.board.serial = static_cast<std::uint32_t>(rd());
    } else {
        char* end = nullptr;
        const unsigned long v = std::strtoul(o.serial.c_str(), &end, 16);
        if (o.serial.size() > 8 || *end != '\0') {
            printError("--serial " + o.serial + ": expected up to 8 hex digits");
            return kExitUsage;
        }
        pc.board.serial = static_cast<std::uint32_t>(v);
    }
    if (o.mac.empty()) {
        // dc:a6:32 (Pi 4 / CM4) or 2c:cf:67 (Pi 5), spec §2.1; random low bytes.
        pc.board.mac = *model == core::virtual_pi::Model::Pi5
                           ? std::array<std::uint8_t, 6>{0x2c, 0xcf, 0x67, 0, 0, 0}
                           : std::array<std::uint8_t, 6>{0xdc, 0xa6, 0x32, 0, 0, 0};
        const auto r = rd();
        pc.board.mac[3] = static_cast<std::uint8_t>(r >> 16);
        pc.board.mac[4] = static_cast<std::uint8_t>(r >> 8);
        pc.board.mac[5] = static_cast<std::uint8_t>(r);
    } else if (auto m = proto::dhcp::parseMac(o.mac)) {
        pc.board.mac = *m;
    } else {
        printError("--mac " + o.mac + ": expected six hex bytes like dc:a6:32:01:02:03");
        return kExitUsage;
    }

    auto reportOr = app::virtual_pi::runBoards(pc);
    if (!reportOr) {
        printError(reportOr.error().message);
        return kExitFailure;
    }
    const auto& report = *reportOr;
    const Outcomes outcomes(report.boards);
    std::size_t ok = 0;
    std::vector<double> kernel;
    std::vector<double> dhcp;
    for (const auto& b : report.boards) {
        if (b.booted) {
            ++ok;
        }
        if (b.kernelTime) {
            kernel.push_back(secs(*b.kernelTime));
        }
        if (b.dhcpTime) {
            dhcp.push_back(secs(*b.dhcpTime));
        }
    }
    if (report.boards.size() == 1) {
        const auto& b = report.boards.front();
        std::cout << fmt::format("probe: {} serial {} mac {}\n", o.model, b.serial, b.mac);
        printTimeline(b);
        std::cout << "verdict: " << b.verdict << '\n';
    } else {
        std::size_t shown = 0;
        for (const auto& b : report.boards) {
            if (o.timelines || (!b.booted && shown < 3)) {
                std::cout << fmt::format("board {} ({}{}{}), {} attempt{}:\n", b.serial, b.mac,
                                         b.ip.empty() ? "" : " ", b.ip, b.attempts,
                                         b.attempts == 1 ? "" : "s");
                printTimeline(b);
                ++shown;
            }
        }
        std::cout << fmt::format(
            "storm: {}/{} boards booted in {:.3f} s; DHCP p50 {:.3f} s p99 {:.3f} s; "
            "kernel p50 {:.3f} s p99 {:.3f} s max {:.3f} s\n",
            ok, report.boards.size(), secs(report.wall), percentile(dhcp, 50), percentile(dhcp, 99),
            percentile(kernel, 50), percentile(kernel, 99),
            kernel.empty() ? 0.0 : *std::max_element(kernel.begin(), kernel.end()));
        // Who booted on the first power-on, who needed the boot order's restarts, who never
        // did (time to booted from the power-on, back-offs included).
        const std::size_t n = report.boards.size();
        std::cout << fmt::format(
            "storm outcome: first try {}; after retries {}; never booted {}/{}; max attempts {}\n",
            outcomes.firstTry.text(n), outcomes.afterRetries.text(n), outcomes.never, n,
            o.maxAttempts);
        for (const auto& b : report.boards) {
            if (!b.booted) {
                std::cout << fmt::format("verdict {}: {}\n", b.serial, b.verdict);
            }
        }
        std::cout << fmt::format(
            "verdict: {}\n", ok == report.boards.size()
                                 ? "every board boots"
                                 : fmt::format("{} boards do not boot", report.boards.size() - ok));
    }
    if (o.selfUpdate) {
        std::size_t flashed = 0;
        std::size_t refused = 0;
        for (const auto& b : report.boards) {
            flashed += b.flashes > 0 ? 1 : 0;
            refused += b.refusedUpdates.empty() ? 0 : 1;
        }
        std::cout << fmt::format("self-update: {} boards flashed, {} refused an update\n", flashed,
                                 refused);
        if (!o.eepromStore.empty()) {
            if (auto w = writeEepromStore(o.eepromStore, std::move(store), report); !w) {
                printError(w.error().message);
                return kExitFailure;
            }
        }
    }
    if (!o.json.empty()) {
        // Written last, so that a reader of the file sees a finished run or none.
        const std::string text = app::dumpJson(reportJson(o, report, outcomes, dhcp, kernel), 1);
        std::ofstream f(o.json, std::ios::trunc);
        f << text << '\n';
        f.close();
        if (!f) {
            printError("--json " + o.json + ": cannot write the report");
            return kExitFailure;
        }
    }
    return ok == report.boards.size() ? kExitOk : kExitFailure;
}

void setupProbe(CLI::App* cmd) {
    auto o = std::make_shared<ProbeOptions>();
    cmd->add_option("--interface,-i", o->interface, "Interface to probe on")->required();
    cmd->add_option("--model", o->model, "cm4, pi4 or pi5 (default pi4)");
    cmd->add_option("--serial", o->serial, "Board serial, 8 hex digits (default random)");
    cmd->add_option("--mac", o->mac, "Board MAC (default a Raspberry Pi OUI + random)");
    cmd->add_option("--bootloader", o->bootloader,
                    "2020 (blksize 1024), 2022 (1468) or latest (1468, block rollover)");
    cmd->add_option("--count", o->count, "Boot N boards at once (distinct serials and MACs)");
    cmd->add_option("--pxe-match", o->pxeMatch, "PXE_OPTION43 menu string to match");
    cmd->add_option("--dhcp-timeout", o->dhcpTimeout, "DHCP_TIMEOUT in seconds (default 45)");
    cmd->add_option("--file-timeout", o->fileTimeout, "TFTP_FILE_TIMEOUT in seconds (default 30)");
    cmd->add_flag("--timelines", o->timelines, "Print every board's timeline with --count");
    cmd->add_option("--mode", o->mode,
                    "tftp (BOOT_ORDER 2, default) or http (BOOT_ORDER 7: boot.sig + boot.img)");
    cmd->add_option("--http-host", o->httpHost,
                    "HTTP_HOST[:HTTP_PORT] as an IPv4 address (--mode http)");
    cmd->add_option("--http-path", o->httpPath, "HTTP_PATH (default net_install)");
    cmd->add_option("--pubkey", o->pubkey,
                    "PEM public key the board holds: boot.sig must carry a valid rsa2048 line");
    cmd->add_option("--http-timeout", o->httpTimeout, "Per HTTP request, seconds (default 120)");
    cmd->add_flag("--http-from-lease", o->httpFromLease,
                  "HTTP from each board's leased address, not the interface's (the leases must "
                  "be local here: in a namespace, ip route add local POOL dev IF)");
    cmd->add_option("--max-attempts", o->maxAttempts,
                    "Attempts per board, the first power-on included: a failed network boot "
                    "restarts the boot order (BOOT_ORDER 0xf.., NET_BOOT_MAX_RETRIES); "
                    "default 1");
    cmd->add_option("--retry-backoff", o->retryBackoff,
                    "Seconds before the next attempt after a failure (default 5, the "
                    "bootloader's wait after a TFTP failure)");
    cmd->add_flag("--self-update", o->selfUpdate,
                  "Self-update as the bootloader (ENABLE_SELF_UPDATE=1): a pieeprom.sig newer "
                  "than --eeprom-ts fetches pieeprom.upd, checks it (sha256; rsa2048 with "
                  "--pubkey), flashes it and reboots");
    cmd->add_option("--eeprom-ts", o->eepromTs,
                    "The update timestamp of the board's EEPROM (--self-update; default 0)");
    cmd->add_option("--eeprom-config", o->eepromConfig,
                    "The board's bootconf.txt (--self-update; default BOOT_ORDER=0xf21)");
    cmd->add_option("--eeprom-store", o->eepromStore,
                    "JSON file of each board's EEPROM by serial, read at start and written at "
                    "the end, so a later run powers the boards on with what they flashed");
    cmd->add_option("--flash-time", o->flashTime,
                    "Seconds from a flashed self-update to the board's next DHCP (default 3)");
    cmd->add_option("--tftp-prefix", o->tftpPrefix,
                    "TFTP_PREFIX: 0 serial/ (default), 1 --tftp-prefix-str, 2 MAC "
                    "(dc-a6-32-01-36-c2/)");
    cmd->add_option("--tftp-prefix-str", o->tftpPrefixStr,
                    "TFTP_PREFIX_STR for --tftp-prefix 1, e.g. tftp_test/ (give the '/' "
                    "yourself; empty = the TFTP root)");
    cmd->add_option("--json", o->json,
                    "Also write the report as JSON to FILE: outcome counts and times, and per "
                    "board its attempts, times and verdict");
    cmd->callback([o] { setExitCode(runProbe(*o)); });
}

}  // namespace

PINET_COMMAND(45, "probe", "Virtual Pi bootloader: DHCP + TFTP like a real board, with a verdict",
              setupProbe);

}  // namespace pinet::cli
