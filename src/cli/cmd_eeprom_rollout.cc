// pinetboot eeprom rollout ...: a bootloader update offered by `serve` to chosen boards
// through their own self-update, in waves (docs/architecture.md, "Bootloader rollouts").
// This side builds the files and queues commands; serve applies them and reports back.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "app/eeprom/rollout_build.h"
#include "app/json_text.h"
#include "app/store.h"
#include "cli/command.h"
#include "cli/eeprom_extensions.h"
#include "cli/guarded.h"
#include "cli/server_settings_flags.h"
#include "core/eeprom/rollout.h"
#include "io/crypto.h"
#include "io/file.h"
#include "io/registry/registry.h"
#include "io/registry/rollout_store.h"
#include "proto/netboot/ids.h"

namespace pinet::cli {
namespace {

namespace ae = pinet::app::eeprom;
namespace ce = pinet::core::eeprom;

struct Common {
    std::string stateDir;
    std::shared_ptr<SettingsFlags> settings = std::make_shared<SettingsFlags>();
};

/// @p configFlag: `create` uses --config for the bootconf.txt (as `eeprom apply`), so it
/// takes the state directory from --state-dir / $PINETBOOT_STATE_DIR only.
void addCommon(CLI::App* cmd, const std::shared_ptr<Common>& c, bool configFlag = true) {
    cmd->add_option("--state-dir", c->stateDir, "State directory");
    if (configFlag) {
        addConfigFlag(cmd, c->settings);
    }
}

std::string stateDirOf(const Common& c) {
    auto dir = stateDirWithConfig(c.stateDir, *c.settings);
    if (!dir) {
        throw Failure{"no state directory"};
    }
    return *dir;
}

io::RolloutRow mustFind(io::RolloutStore& store, const std::string& name) {
    auto row = must(store.find(name));
    if (!row) {
        throw Failure{fmt::format("no rollout {}", name)};
    }
    return *row;
}

/// Running, paused, stopped, or asked to start and not yet taken up by serve.
bool active(const io::RolloutRow& r) {
    const bool pendingStart = r.command == "start" && r.commandSeq > r.appliedSeq;
    return pendingStart || r.state == "running" || r.state == "paused" || r.state == "stopped";
}

// ---------------------------------------------------------------- create

void setupCreate(CLI::App& rollout) {
    auto* cmd = rollout.add_subcommand("create", "Build pieeprom.upd + pieeprom.sig for a rollout");
    struct Opts {
        std::string name, image, config, key, timestamp;
        std::vector<std::string> settings;
        bool force = false;
        long returnTimeout = ce::kDefaultReturnTimeout.count();
    };
    auto o = std::make_shared<Opts>();
    auto c = std::make_shared<Common>();
    cmd->add_option("NAME", o->name, "Rollout name")->required();
    cmd->add_option("--image", o->image, "Source EEPROM image (pieeprom-*.bin)")->required();
    cmd->add_option("--set", o->settings, "KEY=VALUE in the config ([all]); repeatable");
    cmd->add_option("--config", o->config, "New bootconf.txt (before --set)");
    cmd->add_option("--key", o->key, "RSA-2048 private key (PEM): sign pieeprom.sig (rsa2048)");
    cmd->add_option("--timestamp", o->timestamp,
                    "Update timestamp of the image and ts: of the .sig (default "
                    "$SOURCE_DATE_EPOCH, else now)");
    cmd->add_option("--return-timeout", o->returnTimeout,
                    "Per-board deadline in seconds (default 600): a board of an open wave that "
                    "took part and then goes silent for this long (after pieeprom.sig, after "
                    "pieeprom.upd, after coming back) is lost and stops the rollout; one never "
                    "seen for this long is reported not reached and does not hold its wave");
    cmd->add_flag("--force", o->force,
                  "Build despite lint errors or a BOOT_ORDER without network boot");
    addCommon(cmd, c, false);
    cmd->callback([o, c] {
        guarded([&] {
            if (!io::RolloutStore::validName(o->name)) {
                throw Failure{
                    fmt::format("rollout name '{}': use 1-64 of A-Z a-z 0-9 . _ - (no "
                                "leading .)",
                                o->name)};
            }
            // A day is past any boot; below a minute only a virtual board (probe) is quick
            // enough: a real flash and reset take tens of seconds.
            if (o->returnTimeout < 1 || o->returnTimeout > 86400) {
                throw Failure{"--return-timeout must be 1..86400 seconds"};
            }
            if (o->returnTimeout < 60) {
                std::cerr << fmt::format(
                    "warning: --return-timeout {} s is shorter than a real board's flash and "
                    "reboot (tens of seconds): boards may be called lost that are not\n",
                    o->returnTimeout);
            }
            ae::RolloutInputs in;
            in.image = ae::NamedBytes{o->image, must(io::readFile(o->image))};
            if (!o->config.empty()) {
                in.config = ae::NamedBytes{o->config, must(io::readFile(o->config))};
            }
            in.settings = o->settings;
            if (!o->timestamp.empty()) {
                in.timestamp = must(ae::parseTimestamp(o->timestamp));
            } else {
                const auto ts = must(ae::defaultTimestamp());
                if (ts > 0xffffffffu) {
                    throw Failure{"the timestamp does not fit the image's 32-bit field"};
                }
                in.timestamp = static_cast<std::uint32_t>(ts);
            }
            std::optional<io::RsaKey> key;
            if (!o->key.empty()) {
                key = must(io::RsaKey::loadPemFile(o->key));
                if (!key->hasPrivate()) {
                    throw Failure{fmt::format("{}: not a private key", o->key)};
                }
                in.signingKey = &*key;
            }
            in.force = o->force;
            auto files = must(ae::buildRolloutFiles(in));
            for (const auto& d : files.diagnostics) {
                std::cerr << fmt::format(
                    "{}:{}: {}: {}\n", o->config.empty() ? o->image : o->config, d.line,
                    d.severity == proto::eeprom::Severity::Error ? "error" : "warning", d.message);
            }
            for (const auto& w : files.warnings) {
                std::cerr << "warning: " << w << '\n';
            }
            if (files.soc == 2711) {
                // rpi-eeprom-update -h (CM4): self-update "must first be enabled by removing
                // ENABLE_SELF_UPDATE=0 from the EEPROM config via usbboot".
                std::cerr << "note: a BCM2711 update (Pi 4, Pi 400, CM4). CM4 boards ship with "
                             "ENABLE_SELF_UPDATE=0 and bootloaders before 2021 have no "
                             "self-update: such boards ask for no pieeprom.sig (flash them "
                             "over USB first, pinetboot flash); the rollout reports them not "
                             "reached\n";
            }
            auto store = must(io::RolloutStore::open(stateDirOf(*c)));
            io::RolloutRow row;
            row.name = o->name;
            row.sigTimestamp = in.timestamp;
            row.updateSha256 = io::sha256Hex(files.update);
            row.signedUpdate = in.signingKey != nullptr;
            row.config = files.config;
            row.image = o->image;
            row.returnTimeout = o->returnTimeout;
            row.soc = files.soc;
            must(store.create(row, files.update, files.sig));
            std::cout << fmt::format(
                "rollout {}: BCM{} pieeprom.upd ({} bytes, sha256 {}), pieeprom.sig ts {}{} "
                "in {}\n",
                o->name, files.soc, files.update.size(), row.updateSha256, in.timestamp,
                row.signedUpdate ? " (signed)" : "", store.filesDir(o->name).string());
        });
    });
}

// ---------------------------------------------------------------- start

std::string normalModel(std::string m) {
    std::transform(m.begin(), m.end(), m.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (m.rfind("rpi", 0) == 0) {
        m = "pi" + m.substr(3);  // option 97 says "RPi4"/"RPi5"
    }
    return m;
}

/// The SoC of a (normalised) model: 2711 for the Pi 4 family, 2712 for the Pi 5 family,
/// 0 when the model is not known (a board the registry has no model for).
unsigned socOfModel(const std::string& model) {
    for (const char* m : {"pi4", "pi400", "cm4", "cm4s"}) {
        if (model == m) {
            return 2711;
        }
    }
    for (const char* m : {"pi5", "pi500", "cm5"}) {
        if (model == m) {
            return 2712;
        }
    }
    return 0;
}

const char* modelsOfSoc(std::int64_t soc) {
    return soc == 2712 ? "pi5, pi500, cm5" : "pi4, pi400, cm4";
}

void setupStart(CLI::App& rollout) {
    auto* cmd = rollout.add_subcommand("start", "Offer a rollout's update to boards, in waves");
    struct Opts {
        std::string name, model, wave = "10%";
        std::vector<std::string> clients;
        bool all = false;
    };
    auto o = std::make_shared<Opts>();
    auto c = std::make_shared<Common>();
    cmd->add_option("NAME", o->name, "Rollout name")->required();
    auto* cl = cmd->add_option("--clients", o->clients, "Board serials, in wave order");
    auto* md =
        cmd->add_option("--model", o->model, "Every registry client of a model (pi4, pi5, cm4)");
    auto* al = cmd->add_flag("--all", o->all, "Every registry client");
    cl->excludes(md)->excludes(al);
    md->excludes(al);
    cmd->add_option("--wave", o->wave, "Boards per wave as a share of all, e.g. 25% (default 10%)");
    addCommon(cmd, c);
    cmd->callback([o, c] {
        guarded([&] {
            std::string w = o->wave;
            if (!w.empty() && w.back() == '%') {
                w.pop_back();
            }
            char* end = nullptr;
            const long pct = std::strtol(w.c_str(), &end, 10);
            if (w.empty() || *end != '\0' || pct < 1 || pct > 100) {
                throw Failure{"--wave " + o->wave + ": expected 1%..100%"};
            }
            const std::string dir = stateDirOf(*c);
            auto store = must(io::RolloutStore::open(dir));
            auto row = mustFind(store, o->name);
            if (row.state != "created" || row.commandSeq > 0) {
                throw Failure{
                    fmt::format("rollout {} was started before (state {})", o->name, row.state)};
            }
            for (const auto& other : must(store.list())) {
                if (other.name != o->name && active(other)) {
                    throw Failure{fmt::format(
                        "rollout {} is {}: abort it first (one rollout at a time, so that "
                        "a board is offered one update)",
                        other.name, other.state)};
                }
            }
            std::vector<std::string> serials;
            std::string target;
            // The rollout's SoC (0: a rollout created before it was recorded): only boards
            // of that SoC are picked; a .sig's target-soc guards the rest on the board.
            const std::int64_t soc = row.soc;
            std::size_t otherSoc = 0, unknownModel = 0;
            if (!o->clients.empty()) {
                std::map<std::string, std::string> models;  // what the registry knows
                if (soc != 0) {
                    // Listed boards need no registry: without one, nothing is known about
                    // their models and the .sig's target-soc line is the guard.
                    const auto where = app::storeLocation(app::config::Config{}, storeUrlFromEnv());
                    if (auto reg = where ? io::Registry::open(dir, *where)
                                         : Result<io::Registry>(tl::unexpected(where.error()))) {
                        if (auto recs = reg->list()) {
                            for (const auto& rec : *recs) {
                                models[rec.serial] = normalModel(rec.model);
                            }
                        }
                    }
                }
                std::vector<std::string> wrong;
                for (const auto& s : o->clients) {
                    auto n = proto::netboot::normalizeSerial(s);
                    if (!n) {
                        throw Failure{fmt::format("--clients {}: not a serial (8 hex digits)", s)};
                    }
                    if (std::find(serials.begin(), serials.end(), *n) != serials.end()) {
                        continue;
                    }
                    const auto it = models.find(*n);
                    const unsigned boardSoc = it == models.end() ? 0 : socOfModel(it->second);
                    if (soc != 0 && boardSoc != 0 && boardSoc != soc) {
                        wrong.push_back(fmt::format("{} ({})", *n, it->second));
                    }
                    serials.push_back(*n);
                }
                if (!wrong.empty()) {
                    throw Failure{fmt::format(
                        "rollout {} is a BCM{} update ({}); these boards are not: {}. Leave "
                        "them out, or create a rollout from a BCM{} image for them",
                        o->name, soc, modelsOfSoc(soc), fmt::join(wrong, ", "),
                        soc == 2712 ? 2711 : 2712)};
                }
                target = fmt::format("{} listed boards", serials.size());
            } else if (!o->model.empty() || o->all) {
                const std::string want = normalModel(o->model);
                if (!o->model.empty() && soc != 0 && socOfModel(want) != 0 &&
                    socOfModel(want) != soc) {
                    throw Failure{fmt::format(
                        "rollout {} is a BCM{} update ({}): --model {} boards are BCM{}", o->name,
                        soc, modelsOfSoc(soc), want, socOfModel(want))};
                }
                // `start` has no --config: the store is SQLite, or $PINETBOOT_STORE_URL.
                auto reg = must(io::Registry::open(
                    dir, must(app::storeLocation(app::config::Config{}, storeUrlFromEnv()))));
                for (const auto& rec : must(reg.list())) {
                    const std::string model = normalModel(rec.model);
                    if (!o->all && model != want) {
                        continue;
                    }
                    if (soc != 0 && socOfModel(model) != soc) {
                        ++(socOfModel(model) == 0 ? unknownModel : otherSoc);
                        continue;
                    }
                    serials.push_back(rec.serial);
                }
                target = o->all ? fmt::format("every BCM{} registry client", soc) : "model " + want;
                if (soc == 0 && o->all) {
                    target = "every registry client";
                }
            } else {
                throw Failure{"start: give --clients SERIAL..., --model MODEL or --all"};
            }
            if (otherSoc + unknownModel > 0) {
                std::cerr << fmt::format(
                    "note: left out {} board{} of the other SoC and {} of unknown model (the "
                    "update is for BCM{}: {}); --clients names boards explicitly\n",
                    otherSoc, otherSoc == 1 ? "" : "s", unknownModel, soc, modelsOfSoc(soc));
            }
            if (serials.empty()) {
                throw Failure{"start: no boards match"};
            }
            std::vector<io::RolloutBoardRow> boards;
            for (std::size_t i = 0; i < serials.size(); ++i) {
                io::RolloutBoardRow b;
                b.serial = serials[i];
                b.wave = ce::waveOf(i, serials.size(), static_cast<int>(pct));
                boards.push_back(std::move(b));
            }
            must(store.requestStart(o->name, boards, pct, target));
            std::cout << fmt::format(
                "rollout {}: start queued for {} boards ({}) in {} waves of {}%; serve offers "
                "the update from its next registry poll\n",
                o->name, serials.size(), target,
                ce::waveCount(serials.size(), static_cast<int>(pct)), pct);
        });
    });
}

// ---------------------------------------------------------------- pause / resume / abort

void setupCommand(CLI::App& rollout, const char* name, const char* help) {
    auto* cmd = rollout.add_subcommand(name, help);
    auto n = std::make_shared<std::string>();
    auto c = std::make_shared<Common>();
    cmd->add_option("NAME", *n, "Rollout name")->required();
    addCommon(cmd, c);
    const std::string command = name;
    cmd->callback([n, c, command] {
        guarded([&] {
            auto store = must(io::RolloutStore::open(stateDirOf(*c)));
            auto row = mustFind(store, *n);
            if (row.commandSeq == 0) {
                throw Failure{fmt::format("rollout {} was never started", *n)};
            }
            if (row.state == "aborted" || row.state == "done") {
                throw Failure{fmt::format("rollout {} is {}", *n, row.state)};
            }
            must(store.requestCommand(*n, command));
            std::cout << fmt::format("rollout {}: {} queued (serve applies it within a second)\n",
                                     *n, command);
        });
    });
}

// ---------------------------------------------------------------- status / list

nlohmann::json rowJson(const io::RolloutRow& r, const std::vector<io::RolloutBoardRow>* boards) {
    const bool pending = r.commandSeq > r.appliedSeq;
    nlohmann::json j{{"name", r.name},
                     {"state", r.state},
                     {"pending_command", pending ? nlohmann::json(r.command) : nlohmann::json()},
                     {"wave", r.wave + 1},
                     {"wave_percent", r.wavePercent},
                     {"sig_ts", r.sigTimestamp},
                     {"update_sha256", r.updateSha256},
                     {"signed", r.signedUpdate},
                     {"target", r.target},
                     {"reason", r.reason},
                     {"return_timeout_s", r.returnTimeout},
                     {"soc", r.soc != 0 ? nlohmann::json(r.soc) : nlohmann::json()},
                     {"created", r.created},
                     {"updated", r.updated}};
    if (boards != nullptr) {
        nlohmann::json arr = nlohmann::json::array();
        std::map<std::string, int> counts;
        std::int64_t waves = 0;
        for (const auto& b : *boards) {
            ++counts[b.phase];
            waves = std::max(waves, b.wave + 1);
            nlohmann::json bj{
                {"serial", b.serial},
                {"wave", b.wave + 1},
                {"phase", b.phase},
                {"offered_ts", b.offeredTs ? nlohmann::json(*b.offeredTs) : nlohmann::json()},
                {"sig_fetches", b.sigFetches},
                {"update_fetches", b.updateFetches},
                {"detail", b.detail}};
            if (b.fetchedAtMs && b.returnedAtMs) {
                bj["gone_s"] = static_cast<double>(*b.returnedAtMs - *b.fetchedAtMs) / 1000.0;
            } else {
                bj["gone_s"] = nullptr;
            }
            arr.push_back(std::move(bj));
        }
        j["waves"] = waves;
        j["counts"] = counts;
        j["boards"] = std::move(arr);
    }
    return j;
}

void setupStatus(CLI::App& rollout) {
    auto* cmd = rollout.add_subcommand("status", "A rollout's state and every board's");
    auto n = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto c = std::make_shared<Common>();
    cmd->add_option("NAME", *n, "Rollout name")->required();
    cmd->add_flag("--json", *json, "JSON output");
    addCommon(cmd, c);
    cmd->callback([n, json, c] {
        guarded([&] {
            auto store = must(io::RolloutStore::open(stateDirOf(*c)));
            auto row = mustFind(store, *n);
            auto boards = must(store.boards(*n));
            auto j = rowJson(row, &boards);
            if (*json) {
                std::cout << app::dumpJson(j, 2) << '\n';
                return;
            }
            std::cout << fmt::format(
                "rollout {}: {}{}, wave {} of {} ({}% a wave), ts {}{}{}, return timeout {} s\n",
                row.name, row.state,
                j["pending_command"].is_null() ? "" : " (" + row.command + " queued for serve)",
                row.wave + 1, j["waves"].get<std::int64_t>(), row.wavePercent, row.sigTimestamp,
                row.signedUpdate ? ", signed" : "",
                row.soc != 0 ? fmt::format(", BCM{}", row.soc) : "", row.returnTimeout);
            if (!row.reason.empty()) {
                std::cout << "  " << row.reason << '\n';
            }
            std::string counts;
            for (const auto& [phase, k] : j["counts"].items()) {
                counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", k.get<int>(), phase);
            }
            std::cout << "  boards: " << counts << '\n';
            std::cout << fmt::format("  {:<9} {:>4} {:<11} {:>4} {:>4} {:>7}  {}\n", "SERIAL",
                                     "WAVE", "PHASE", "SIG", "UPD", "GONE", "DETAIL");
            for (const auto& b : j["boards"]) {
                std::cout << fmt::format(
                    "  {:<9} {:>4} {:<11} {:>4} {:>4} {:>7}  {}\n", b["serial"].get<std::string>(),
                    b["wave"].get<int>(), b["phase"].get<std::string>(),
                    b["sig_fetches"].get<int>(), b["update_fetches"].get<int>(),
                    b["gone_s"].is_null() ? "-" : fmt::format("{:.1f}s", b["gone_s"].get<double>()),
                    b["detail"].get<std::string>());
            }
        });
    });
}

void setupList(CLI::App& rollout) {
    auto* cmd = rollout.add_subcommand("list", "Every rollout and its state");
    auto json = std::make_shared<bool>(false);
    auto c = std::make_shared<Common>();
    cmd->add_flag("--json", *json, "JSON output");
    addCommon(cmd, c);
    cmd->callback([json, c] {
        guarded([&] {
            auto store = must(io::RolloutStore::open(stateDirOf(*c)));
            auto rows = must(store.list());
            if (*json) {
                nlohmann::json arr = nlohmann::json::array();
                for (const auto& r : rows) {
                    arr.push_back(rowJson(r, nullptr));
                }
                std::cout << app::dumpJson(arr, 2) << '\n';
                return;
            }
            std::cout << fmt::format("{:<20} {:<9} {:>4} {:>11} {:<6} {}\n", "NAME", "STATE",
                                     "WAVE", "TS", "SIGNED", "TARGET");
            for (const auto& r : rows) {
                std::cout << fmt::format("{:<20} {:<9} {:>4} {:>11} {:<6} {}\n", r.name, r.state,
                                         r.wave + 1, r.sigTimestamp, r.signedUpdate ? "yes" : "no",
                                         r.target.empty() ? "-" : r.target);
            }
        });
    });
}

void setupRollout(CLI::App& eeprom) {
    auto* rollout = eeprom.add_subcommand("rollout", kRolloutSummary);
    rollout->require_subcommand(1);
    setupCreate(*rollout);
    setupStart(*rollout);
    setupCommand(*rollout, "pause",
                 "Offer nothing more until resume (boards in flight are followed)");
    setupCommand(*rollout, "resume", "Resume a paused or automatically stopped rollout");
    setupCommand(*rollout, "abort", "End a rollout: nothing more is offered");
    setupStatus(*rollout);
    setupList(*rollout);
}

const EepromExtensionRegistrar kRegistrar(&setupRollout);

}  // namespace
}  // namespace pinet::cli
