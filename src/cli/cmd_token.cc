// pinetboot token show|rotate: the dashboard/API token (<state>/api-token,
// mode 0600; docs/api.md). `serve` makes it at its first start; `show` prints it
// for `Authorization: Bearer` and the browser's sign-in; `rotate` replaces it,
// and a running serve takes the new one within a second (every browser signed
// in with the old one is signed out).

#include <iostream>

#include "app/http/api_token.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"

namespace pinet::cli {

namespace {

struct TokenOpts {
    std::string stateDir;
    std::shared_ptr<SettingsFlags> flags = std::make_shared<SettingsFlags>();
};

void doShow(const TokenOpts& o) {
    auto dir = stateDirWithConfig(o.stateDir, *o.flags);
    if (!dir) {
        return;
    }
    auto t = app::http::readApiToken(*dir);
    if (!t) {
        printError(t.error().message);
        setExitCode(kExitFailure);
        return;
    }
    if (!*t) {
        printError("no API token in " + *dir +
                   " yet: pinetboot serve makes one at its first start, or pinetboot token "
                   "rotate --state-dir " +
                   *dir + " makes one now");
        setExitCode(kExitFailure);
        return;
    }
    std::cout << **t << '\n';
}

void doRotate(const TokenOpts& o) {
    auto dir = stateDirWithConfig(o.stateDir, *o.flags);
    if (!dir) {
        return;
    }
    auto t = app::http::rotateApiToken(*dir);
    if (!t) {
        printError(t.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << *t << '\n';
    std::cerr << "pinetboot: the old token no longer works; a running serve takes the new one "
                 "within a second and signs every browser out\n";
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<TokenOpts>();
    cmd->require_subcommand(1);
    auto* show = cmd->add_subcommand("show",
                                     "Print the API token (for Authorization: Bearer "
                                     "and the dashboard's sign-in)");
    show->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(show, o->flags);
    show->callback([o] { doShow(*o); });
    auto* rotate = cmd->add_subcommand(
        "rotate", "Replace the API token with a new one (the old one stops working)");
    rotate->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(rotate, o->flags);
    rotate->callback([o] { doRotate(*o); });
}

}  // namespace

PINET_COMMAND(73, "token", "Show or rotate the dashboard/API token", setup);

}  // namespace pinet::cli
