// pinetboot client list|show|add|remove|reset: the client registry and each
// client's boot tree and root file system.

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/client/client_manager.h"
#include "app/json_text.h"
#include "app/nfs/nfs_manager.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"
#include "io/registry/registry.h"
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
    std::shared_ptr<SettingsFlags> settings = std::make_shared<SettingsFlags>();
};

nlohmann::json toJson(const io::ClientRecord& c) {
    return {{"serial", c.serial},
            {"mac", c.mac ? nlohmann::json(*c.mac) : nlohmann::json(nullptr)},
            {"model", c.model},
            {"name", c.name},
            {"image", c.image},
            {"root_mode", c.rootMode},
            {"boot_dir", c.bootDir},
            {"root_export", c.rootExport},
            {"address", c.address},
            {"notes", c.notes},
            {"state", std::string(io::clientStateName(c.state))},
            {"first_seen", c.firstSeen},
            {"last_seen", c.lastSeen}};
}

bool fails(const Error& e) {
    printError(e.message);
    setExitCode(kExitFailure);
    return true;
}

void applyAfterChange(SettingsSession& ss, bool skip) {
    if (skip) {
        return;
    }
    auto rep = app::applyNfs(ss.stateDir, ss.registry, ss.settings);
    if (!rep) {
        printError("nfs apply: " + rep.error().message);
        setExitCode(kExitFailure);
        return;
    }
    for (const auto& l : rep->lines) {
        std::cout << "nfs: " << l << '\n';
    }
    if (!rep->exportsText.empty()) {
        std::cout << rep->exportsText;
    }
    for (const auto& r : rep->refused) {
        printError("nfs apply: " + r);
        setExitCode(kExitFailure);
    }
}

void doList(const ClientOpts& o) {
    auto dir = stateDirWithConfig(o.stateDir, *o.settings);
    if (!dir) {
        return;
    }
    auto reg = io::Registry::open(*dir);
    if (!reg && fails(reg.error())) {
        return;
    }
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

void doShow(const ClientOpts& o) {
    auto dir = stateDirWithConfig(o.stateDir, *o.settings);
    if (!dir) {
        return;
    }
    auto reg = io::Registry::open(*dir);
    if (!reg && fails(reg.error())) {
        return;
    }
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
    if (o.json) {
        std::cout << app::dumpJson(j, 2) << '\n';
        return;
    }
    for (auto& [k, v] : j.items()) {
        std::cout << fmt::format("{:<12} {}\n", k + ":",
                                 v.is_string() ? v.get<std::string>() : app::dumpJson(v));
    }
}

void doAdd(const ClientOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
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
    auto r = app::addClient(ss->stateDir, ss->registry, ss->settings, req);
    if (!r && fails(r.error())) {
        return;
    }
    std::cout << "added client " << r->record.serial << " (" << r->record.name << ")\n";
    for (const auto& m : r->messages) {
        std::cout << "  " << m << '\n';
    }
    applyAfterChange(*ss, o.noApply);
}

void doReset(const ClientOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
    if (!ss) {
        return;
    }
    auto r = app::resetClient(ss->stateDir, ss->registry, ss->settings, o.serial);
    if (!r && fails(r.error())) {
        return;
    }
    std::cout << "reset client " << r->record.serial << '\n';
    for (const auto& m : r->messages) {
        std::cout << "  " << m << '\n';
    }
    applyAfterChange(*ss, o.noApply);
}

void doRemove(const ClientOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
    if (!ss) {
        return;
    }
    auto r = app::removeClient(ss->stateDir, ss->registry, o.serial);
    if (!r && fails(r.error())) {
        return;
    }
    for (const auto& m : *r) {
        std::cout << m << '\n';
    }
    applyAfterChange(*ss, o.noApply);
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
    add->add_option("--serial", o->serial, "Serial number (8 hex digits)")->required();
    add->add_option("--mac", o->mac, "MAC address (adds the TFTP_PREFIX=2 directory)");
    add->add_option("--name", o->name, "Host name (default pi-SERIAL)");
    add->add_option("--image", o->image, "Imported image name")->required();
    add->add_option("--root", o->root, "Root mode: shared, copy or overlay (default copy)")
        ->check(CLI::IsMember({"shared", "copy", "overlay"}));
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

    auto* rm = cmd->add_subcommand("remove", "Remove a client, its boot tree and private root");
    rm->add_option("serial", o->serial, "Serial number")->required();
    rm->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(rm, o->settings);
    rm->add_flag("--no-apply", o->noApply, "Do not run nfs apply afterwards");
    rm->callback([o] { doRemove(*o); });
}

}  // namespace

PINET_COMMAND(70, "client", "Enrol Pis: boot trees, root file systems, registry", setup);

}  // namespace pinet::cli
