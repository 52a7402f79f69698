// pinetboot client list|show|add|set|remove|reset: the client registry and each
// client's boot tree and root file system.

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/client/client_actions.h"
#include "app/client/client_manager.h"
#include "app/http/api_write.h"
#include "app/json_text.h"
#include "app/nbd/nbd_manager.h"
#include "app/nfs/nfs_manager.h"
#include "cli/command.h"
#include "cli/progress.h"
#include "cli/server_settings_flags.h"
#include "io/registry/registry.h"
#include "io/registry/rollout_store.h"
#include "proto/netboot/ids.h"

namespace pinet::cli {

namespace {

struct ClientOpts {
    std::string stateDir;
    std::string serial;
    std::string mac;
    std::string name;
    std::string image;
    std::string root = "copy";
    std::string model;
    std::string address;
    std::string notes;
    bool ssh = false;
    bool json = false;
    bool noApply = false;
    bool yes = false;
    bool keepRoot = false;
    bool resetRoot = false;
    // client set: which options were given (an empty --notes clears them).
    CLI::Option* setName = nullptr;
    CLI::Option* setImage = nullptr;
    CLI::Option* setRoot = nullptr;
    CLI::Option* setNotes = nullptr;
    CLI::Option* setAddress = nullptr;
    CLI::Option* setModel = nullptr;
    std::shared_ptr<SettingsFlags> settings = std::make_shared<SettingsFlags>();
};

/// One JSON shape for a client, here and in the web API's replies.
nlohmann::json toJson(const io::ClientRecord& c) {
    return app::http::clientRecordJson(c);
}

bool fails(const Error& e) {
    printError(e.message);
    setExitCode(kExitFailure);
    return true;
}

/// After a removal, a failed nfs apply is a warning: the client is gone and
/// the command did what it was asked; the export just lingers until the
/// next successful apply.
enum class ApplyFailure { IsError, IsWarning };

void warnApply(const std::string& what) {
    std::cerr << "pinetboot: warning: the client is removed, but nfs apply failed: " << what
              << "\n  fix: make the NFS server work (pinetboot doctor says what is wrong), then "
                 "run pinetboot nfs apply; the removed client's export stays until then\n";
}

/// What nfs apply did after an action (app::ActionReport), as the CLI shows it.
void printApply(const app::ActionReport& rep, ApplyFailure failure = ApplyFailure::IsError) {
    for (const auto& l : rep.nbdLines) {
        std::cout << "nbd: " << l << '\n';
    }
    for (const auto& r : rep.nbdErrors) {
        printError("nbd apply: " + r);
        setExitCode(kExitFailure);
    }
    for (const auto& l : rep.nfsLines) {
        std::cout << "nfs: " << l << '\n';
    }
    if (!rep.exportsText.empty()) {
        std::cout << rep.exportsText;
    }
    for (const auto& r : rep.nfsErrors) {
        if (failure == ApplyFailure::IsWarning) {
            warnApply(r);
            continue;
        }
        printError("nfs apply: " + r);
        setExitCode(kExitFailure);
    }
}

app::ActionContext actionContext(SettingsSession& ss, bool noApply) {
    return app::ActionContext{ss.stateDir, ss.registry, ss.settings, !noApply};
}

void doList(const ClientOpts& o) {
    auto session = openRegistrySession(o.stateDir, *o.settings);
    if (!session) {
        return;
    }
    auto* reg = &session->registry;
    auto all = reg->list();
    if (!all && fails(all.error())) {
        return;
    }
    if (o.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& c : *all) {
            arr.push_back(toJson(c));
        }
        std::cout << app::dumpJson(arr, 2) << '\n';
        return;
    }
    std::cout << fmt::format("{:<9} {:<18} {:<11} {:<16} {:<14} {:<8} {}\n", "SERIAL", "MAC",
                             "STATE", "NAME", "IMAGE", "ROOT", "ADDRESS");
    for (const auto& c : *all) {
        std::cout << fmt::format("{:<9} {:<18} {:<11} {:<16} {:<14} {:<8} {}\n", c.serial,
                                 c.mac.value_or("-"), io::clientStateName(c.state),
                                 c.name.empty() ? "-" : c.name, c.image.empty() ? "-" : c.image,
                                 c.rootMode.empty() ? "-" : c.rootMode,
                                 c.address.empty() ? "-" : c.address);
    }
}

/// The board's row in the newest EEPROM rollout that names it (what serve saw on the
/// wire), or null; nothing is created when the state directory has no rollouts.db.
nlohmann::json eepromJson(const std::string& stateDir, const std::string& serial) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(stateDir) / "rollouts.db", ec)) {
        return nullptr;
    }
    auto store = io::RolloutStore::open(stateDir);
    if (!store) {
        return nullptr;
    }
    auto rows = store->list();
    if (!rows) {
        return nullptr;
    }
    for (auto r = rows->rbegin(); r != rows->rend(); ++r) {
        auto boards = store->boards(r->name);
        if (!boards) {
            continue;
        }
        for (const auto& b : *boards) {
            if (b.serial != serial) {
                continue;
            }
            nlohmann::json j{{"rollout", r->name},
                             {"rollout_state", r->state},
                             {"state", b.phase},
                             {"wave", b.wave + 1},
                             {"offered_ts", b.offeredTs ? nlohmann::json(*b.offeredTs) : nullptr},
                             {"target_ts", r->sigTimestamp},
                             {"sig_fetches", b.sigFetches},
                             {"update_fetches", b.updateFetches},
                             {"detail", b.detail}};
            j["gone_s"] =
                b.fetchedAtMs && b.returnedAtMs
                    ? nlohmann::json(static_cast<double>(*b.returnedAtMs - *b.fetchedAtMs) / 1000.0)
                    : nlohmann::json();
            return j;
        }
    }
    return nullptr;
}

void doShow(const ClientOpts& o) {
    auto session = openRegistrySession(o.stateDir, *o.settings);
    if (!session) {
        return;
    }
    const std::string* dir = &session->stateDir;
    auto* reg = &session->registry;
    std::string key = o.serial;
    Result<std::optional<io::ClientRecord>> found = std::optional<io::ClientRecord>{};
    if (auto mac = proto::netboot::normalizeMac(key)) {
        found = reg->findByMac(*mac);
    } else {
        found = reg->findBySerial(proto::netboot::normalizeSerial(key).value_or(key));
    }
    if (!found && fails(found.error())) {
        return;
    }
    if (!*found) {
        fails(Error{fmt::format("no client {}", key)});
        return;
    }
    auto j = toJson(**found);
    j["eeprom"] = eepromJson(*dir, (*found)->serial);
    if (o.json) {
        std::cout << app::dumpJson(j, 2) << '\n';
        return;
    }
    // For a person: no JSON spellings (null, 0 for "never"); --json keeps them.
    const auto& c = **found;
    auto when = [](std::int64_t t) {
        if (t == 0) {
            return std::string("never seen");
        }
        std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        ::localtime_r(&tt, &tm);
        return fmt::format("{:%Y-%m-%d %H:%M:%S}", tm);
    };
    for (auto& [k, v] : j.items()) {
        std::string text = v.is_string() ? v.get<std::string>() : app::dumpJson(v);
        if (v.is_null() || (v.is_string() && text.empty())) {
            // No MAC until the board's first DHCP packet is seen (or --mac given).
            text = k == "mac" ? "unknown" : "-";
        }
        if (k == "eeprom" && v.is_object()) {
            text = fmt::format(
                "rollout {} ({}): {}, wave {}, ts {} offered, pieeprom.upd fetched {}x{}{}",
                v["rollout"].get<std::string>(), v["rollout_state"].get<std::string>(),
                v["state"].get<std::string>(), v["wave"].get<std::int64_t>(),
                v["offered_ts"].is_null() ? std::string("no") : app::dumpJson(v["offered_ts"]),
                v["update_fetches"].get<std::int64_t>(),
                v["gone_s"].is_null() ? std::string()
                                      : fmt::format(", gone {:.1f} s", v["gone_s"].get<double>()),
                v["detail"].get<std::string>().empty() ? std::string()
                                                       : "; " + v["detail"].get<std::string>());
        }
        if (k == "first_seen") {
            text = when(c.firstSeen);
        } else if (k == "last_seen") {
            text = when(c.lastSeen);
        }
        std::cout << fmt::format("{:<12} {}\n", k + ":", text);
    }
}

/// A private root's copy drawn on @p bar (a bar on a terminal, a plain line every 5 s
/// otherwise).
app::RootCopyProgress copyProgress(ProgressBar& bar) {
    return [&bar](std::uint64_t done, std::uint64_t total) {
        bar.update("root copy", done, total);
    };
}

/// Ends @p bar: at 100 % if the operation worked (the last file's update may have been
/// drawn before, and the image's recorded size is not exact), as it was if not.
template <typename R>
void endProgress(ProgressBar& bar, const R& result) {
    if (result) {
        bar.complete();
    }
    bar.finish();
}

void doAdd(const ClientOpts& o) {
    // The settings flags are stored only once the client is added: a run that
    // fails (say, for a missing --image) leaves the stored settings alone.
    auto ss = openSettingsSession(o.stateDir, *o.settings, app::StoreSettings::Never);
    if (!ss) {
        return;
    }
    app::AddClientRequest req;
    req.serial = o.serial;
    if (!o.mac.empty()) {
        req.mac = o.mac;
    }
    req.name = o.name;
    req.image = o.image;
    req.rootMode = o.root;
    req.model = o.model;
    req.address = o.address;
    req.notes = o.notes;
    req.enableSsh = o.ssh;
    auto ctx = actionContext(*ss, o.noApply);
    ProgressBar bar;
    req.progress = copyProgress(bar);
    auto r = app::enrolClient(ctx, req);
    endProgress(bar, r);
    if (!r && fails(Error{r.error().message})) {
        return;
    }
    if (!r->settingsError.empty()) {
        printError("the client was added, but its settings were not stored: " + r->settingsError);
        setExitCode(kExitFailure);
    }
    std::cout << "added client " << r->record.serial << " (" << r->record.name << ")\n";
    for (const auto& m : r->messages) {
        std::cout << "  " << m << '\n';
    }
    printApply(*r);
}

void doReset(const ClientOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
    if (!ss) {
        return;
    }
    auto ctx = actionContext(*ss, o.noApply);
    ProgressBar bar;
    auto r = app::resetClientRoot(ctx, o.serial, copyProgress(bar));
    endProgress(bar, r);
    if (!r && fails(Error{r.error().message})) {
        return;
    }
    std::cout << "reset client " << r->record.serial << '\n';
    for (const auto& m : r->messages) {
        std::cout << "  " << m << '\n';
    }
    printApply(*r);
}

/// Asks on the terminal; false for anything but y/yes (or end of input).
bool confirm(const std::string& question) {
    std::cerr << question << " [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        return false;
    }
    return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

void doRemove(const ClientOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
    if (!ss) {
        return;
    }
    auto plan = app::planRemoval(ss->stateDir, ss->registry, o.serial);
    if (!plan && fails(plan.error())) {
        return;
    }
    // A private root holds what the board wrote (home directories, logs,
    // installed packages): deleting it is asked for, never assumed.
    if (plan->privateRoot && !o.keepRoot && !o.yes) {
        const std::string what =
            fmt::format("client {} has a private {} root, {}, with the board's own files",
                        plan->record.serial, plan->record.rootMode, plan->privateRoot->string());
        if (::isatty(STDIN_FILENO) != 1) {
            printError(what +
                       ": pass --yes to delete it with the client, or --keep-root to keep it "
                       "(stdin is not a terminal, so nobody can be asked)");
            setExitCode(kExitUsage);
            return;
        }
        if (!confirm(what + ". Delete it?")) {
            std::cerr << "nothing removed (--keep-root removes the client and keeps its root)\n";
            setExitCode(kExitFailure);
            return;
        }
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    // Asked above (or --yes/--keep-root): the action itself refuses nothing more.
    auto ctx = actionContext(*ss, o.noApply);
    auto r = app::removeClientFully(
        ctx, o.serial, o.keepRoot ? app::RootDisposal::Keep : app::RootDisposal::Delete, now);
    if (!r && fails(Error{r.error().message})) {
        return;
    }
    for (const auto& m : r->messages) {
        std::cout << m << '\n';
    }
    for (const auto& w : r->warnings) {
        std::cerr << "pinetboot: warning: " << w
                  << "\n  fix: pinetboot nfs apply removes mount units of removed clients\n";
    }
    printApply(*r, ApplyFailure::IsWarning);
}

void doSet(const ClientOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
    if (!ss) {
        return;
    }
    app::SetClientRequest req;
    req.serial = o.serial;
    auto given = [](CLI::Option* opt, const std::string& v) {
        return opt != nullptr && opt->count() > 0 ? std::optional<std::string>(v) : std::nullopt;
    };
    req.name = given(o.setName, o.name);
    req.image = given(o.setImage, o.image);
    req.rootMode = given(o.setRoot, o.root);
    req.notes = given(o.setNotes, o.notes);
    req.address = given(o.setAddress, o.address);
    req.model = given(o.setModel, o.model);
    req.resetRoot = o.resetRoot;
    auto ctx = actionContext(*ss, o.noApply);
    ProgressBar bar;
    req.progress = copyProgress(bar);
    auto r = app::changeClient(ctx, req);
    endProgress(bar, r);
    if (!r && fails(Error{r.error().message})) {
        return;
    }
    std::cout << "changed client " << r->record.serial << " (" << r->record.name << ")\n";
    for (const auto& m : r->messages) {
        std::cout << "  " << m << '\n';
    }
    printApply(*r);
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<ClientOpts>();
    cmd->require_subcommand(1);

    auto* ls = cmd->add_subcommand("list", "List enrolled and discovered clients");
    ls->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(ls, o->settings);
    ls->add_flag("--json", o->json, "JSON output");
    ls->callback([o] { doList(*o); });

    auto* show = cmd->add_subcommand("show", "Show one client (by serial or MAC)");
    show->add_option("client", o->serial, "Serial or MAC")->required();
    show->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(show, o->settings);
    show->add_flag("--json", o->json, "JSON output");
    show->callback([o] { doShow(*o); });

    auto* add = cmd->add_subcommand("add", "Enrol a Pi: boot tree, root and NFS export");
    // --serial and --image are required, but checked by addClient, which
    // reports every missing input in one run (CLI11 stops at the first).
    add->add_option("--serial", o->serial, "Serial number (8 hex digits; required)");
    add->add_option("--mac", o->mac, "MAC address (adds the TFTP_PREFIX=2 directory)");
    add->add_option("--name", o->name, "Host name (default pi-SERIAL)");
    add->add_option("--image", o->image, "Imported image name (required)");
    add->add_option("--root", o->root,
                    "Root mode: shared, copy, overlay (NFS), nbd or nbd-image (block device over "
                    "NBD) (default copy)")
        ->check(CLI::IsMember({"shared", "copy", "overlay", "nbd", "nbd-image"}));
    add->add_option("--model", o->model, "pi4, cm4, pi400, pi5 or cm5 (doctor checks its files)")
        ->check(CLI::IsMember({"pi4", "cm4", "pi400", "pi5", "cm5"}));
    add->add_option("--address", o->address, "Client IPv4 address (or subnet) the exports allow");
    add->add_option("--notes", o->notes, "Free text");
    add->add_flag("--ssh", o->ssh, "Enable the ssh server in the client's root");
    add->add_flag("--no-apply", o->noApply, "Do not run nfs apply afterwards");
    add->add_option("--state-dir", o->stateDir, "State directory");
    addSettingsFlags(add, o->settings);
    add->callback([o] { doAdd(*o); });

    auto* reset = cmd->add_subcommand("reset", "Return a private root to the image's state");
    reset->add_option("serial", o->serial, "Serial number")->required();
    reset->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(reset, o->settings);
    reset->add_flag("--no-apply", o->noApply, "Do not run nfs apply afterwards");
    reset->callback([o] { doReset(*o); });

    auto* set = cmd->add_subcommand(
        "set",
        "Change a client (name, image, root mode, notes, address, model) and write its boot tree "
        "again from the current settings; its root is kept unless --reset-root");
    set->add_option("serial", o->serial, "Serial number")->required();
    o->setName = set->add_option("--name", o->name, "Host name (written into a private root)");
    o->setImage =
        set->add_option("--image", o->image, "Imported image (a private root needs --reset-root)");
    o->setRoot =
        set->add_option("--root", o->root,
                        "Root mode: shared, copy, overlay, nbd or nbd-image (from a private "
                        "root: --reset-root)")
            ->check(CLI::IsMember({"shared", "copy", "overlay", "nbd", "nbd-image"}));
    o->setNotes = set->add_option("--notes", o->notes, "Free text (\"\" clears it)");
    o->setAddress = set->add_option("--address", o->address,
                                    "Client IPv4 address (or subnet) the exports allow");
    o->setModel = set->add_option("--model", o->model, "pi4, cm4, pi400, pi5 or cm5")
                      ->check(CLI::IsMember({"pi4", "cm4", "pi400", "pi5", "cm5"}));
    set->add_flag(
        "--reset-root", o->resetRoot,
        "Replace a private root with a fresh one from the image (deletes the board's "
        "files in it); needed to change the image or root mode of a copy or overlay root");
    set->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(set, o->settings);
    set->add_flag("--no-apply", o->noApply, "Do not run nfs apply afterwards");
    set->callback([o] { doSet(*o); });

    auto* rm = cmd->add_subcommand(
        "remove", "Remove a client, its boot tree and (asked first) its private root");
    rm->add_option("serial", o->serial, "Serial number")->required();
    rm->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(rm, o->settings);
    rm->add_flag("-y,--yes", o->yes,
                 "Delete a private root without asking (needed when stdin is not a terminal)");
    rm->add_flag("--keep-root", o->keepRoot,
                 "Keep a private root, moved aside to roots/SERIAL.kept-TIME");
    rm->add_flag("--no-apply", o->noApply, "Do not run nfs apply afterwards");
    rm->callback([o] { doRemove(*o); });
}

}  // namespace

PINET_COMMAND(70, "client", "Enrol Pis: boot trees, root file systems, registry", setup);

}  // namespace pinet::cli
