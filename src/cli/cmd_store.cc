// pinetboot store migrate: creates or upgrades the registry's schema in the store
// pinetboot.toml's [store] names (or $PINETBOOT_STORE_URL), as `serve` does at start.
// Safe to run twice, and from two machines at once against one PostgreSQL database
// (io/registry/schema.h: an advisory lock there, BEGIN IMMEDIATE in SQLite).

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/json_text.h"
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
}

}  // namespace

PINET_COMMAND(73, "store", "The registry's store (SQLite or PostgreSQL): schema migrations", setup);

}  // namespace pinet::cli
