// pinetboot store copy-from-sqlite: a SQLite registry copied into PostgreSQL (read from a
// snapshot, never changed), into a database with no clients or settings yet.
// pinetboot store migrate: creates or upgrades the registry's schema in the store
// pinetboot.toml's [store] names (or $PINETBOOT_STORE_URL), as `serve` does at start.
// Safe to run twice, and from two machines at once against one PostgreSQL database
// (io/registry/schema.h: an advisory lock there, BEGIN IMMEDIATE in SQLite).

#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/json_text.h"
#include "app/store.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"
#include "io/registry/registry.h"

namespace pinet::cli {

namespace {

struct StoreOpts {
    std::string stateDir;
    bool json = false;
    std::shared_ptr<SettingsFlags> flags = std::make_shared<SettingsFlags>();
};

void doMigrate(const StoreOpts& o) {
    auto session = openRegistrySession(o.stateDir, *o.flags);
    if (!session) {
        return;
    }
    const auto& m = session->registry.migration();
    const auto store = session->registry.describe();
    if (o.json) {
        std::cout << app::dumpJson({{"store", store},
                                    {"from", m.before},
                                    {"to", m.after},
                                    {"latest", io::schema::latestVersion()}},
                                   2)
                  << '\n';
        return;
    }
    std::cout << "store: " << store << '\n';
    if (m.before == m.after) {
        std::cout << fmt::format("schema: version {}, current (nothing to do)\n", m.after);
    } else {
        std::cout << fmt::format("schema: version {} -> {} ({} migration{} applied)\n", m.before,
                                 m.after, m.after - m.before, m.after - m.before == 1 ? "" : "s");
    }
}

struct CopyOpts {
    std::string stateDir;
    std::string from;
    bool json = false;
    std::shared_ptr<SettingsFlags> flags = std::make_shared<SettingsFlags>();
};

void doCopy(const CopyOpts& o) {
    // The target: the store --config / PINETBOOT_STORE_URL names (migrated as any command
    // that opens it); the source: a state directory's registry.db.
    auto session = openRegistrySession(o.stateDir, *o.flags);
    if (!session) {
        return;
    }
    const std::filesystem::path from = o.from.empty() ? session->stateDir : o.from;
    auto r = app::copySqliteRegistry(from, session->registry);
    if (!r) {
        printError(r.error().message);
        setExitCode(kExitFailure);
        return;
    }
    if (o.json) {
        std::cout << app::dumpJson({{"from", r->from},
                                    {"to", r->to},
                                    {"enrolled", r->enrolled},
                                    {"discovered", r->discovered},
                                    {"settings", r->settings}},
                                   2)
                  << '\n';
        return;
    }
    std::cout << fmt::format(
        "copied {} enrolled client(s), {} discovered board(s) and {} setting(s)\n  from {}\n  "
        "to   {}\nthe SQLite registry is unchanged; serve with this --config uses the copy "
        "(leases are not copied: boards renew or rebind)\n",
        r->enrolled, r->discovered, r->settings, r->from, r->to);
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<StoreOpts>();
    cmd->require_subcommand(1);
    auto* migrate = cmd->add_subcommand(
        "migrate",
        "Create or upgrade the registry schema ([store] in --config, or PINETBOOT_STORE_URL); "
        "serve does the same at start");
    migrate->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(migrate, o->flags);
    migrate->add_flag("--json", o->json, "JSON output");
    migrate->callback([o] { doMigrate(*o); });

    auto c = std::make_shared<CopyOpts>();
    auto* copy = cmd->add_subcommand(
        "copy-from-sqlite",
        "Copy a SQLite registry (clients, settings) into the PostgreSQL store of --config or "
        "PINETBOOT_STORE_URL, which must hold none yet; the SQLite file is only read");
    copy->add_option("--state-dir", c->stateDir, "State directory (the files beside the store)");
    copy->add_option("--from", c->from,
                     "State directory whose registry.db is copied (default: --state-dir's)");
    addConfigFlag(copy, c->flags);
    copy->add_flag("--json", c->json, "JSON output");
    copy->callback([c] { doCopy(*c); });
}

}  // namespace

PINET_COMMAND(73, "store",
              "The registry's store (SQLite or PostgreSQL): schema migrations, copying a SQLite "
              "registry into PostgreSQL",
              setup);

}  // namespace pinet::cli
