#include "app/client/client_actions.h"

#include <fmt/format.h>

#include "app/image/image_store.h"
#include "app/nbd/nbd_manager.h"
#include "app/nfs/nfs_manager.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app {

namespace {

ActionError err(std::string code, int status, std::string message) {
    return ActionError{std::move(code), std::move(message), status};
}

bool startsWith(const std::string& s, std::string_view prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

/// The registry row of @p serialIn (normalised), if any; a registry error is nullopt too
/// (the step that follows reports it).
std::optional<io::ClientRecord> rowOf(io::Registry& reg, const std::string& serialIn) {
    auto serial = proto::netboot::normalizeSerial(serialIn);
    if (!serial) {
        return std::nullopt;
    }
    auto found = reg.findBySerial(*serial);
    if (!found || !*found) {
        return std::nullopt;
    }
    return **found;
}

bool enrolled(const std::optional<io::ClientRecord>& r) {
    return r && r->state == io::ClientState::Enrolled;
}

/// The follow-up of a change: an NBD client's export follows it at once (only that
/// board's qemu-nbd restarts; the others keep their connections), and its root is not
/// exported over NFS; every other change runs nfs apply. @p wasNbd: the client had an
/// NBD root before the change (its export must stop). A removed client's export is
/// stopped by the removal itself.
void applyInto(ActionContext& ctx, ActionReport& rep, bool wasNbd = false, bool removal = false) {
    if (!ctx.applyNfs) {
        return;
    }
    const bool isNbd = !removal && isNbdRootMode(rep.record.rootMode);
    if (isNbd || (wasNbd && !removal)) {
        auto n = applyNbd(ctx.stateDir, ctx.registry, ctx.settings, rep.record.serial);
        if (!n) {
            rep.nbdErrors.push_back(n.error().message);
        } else {
            rep.nbdLines = std::move(n->lines);
            for (auto& r : n->refused) {
                rep.nbdErrors.push_back(std::move(r));
            }
        }
        if (isNbd) {
            return;
        }
    }
    auto a = applyNfs(ctx.stateDir, ctx.registry, ctx.settings);
    if (!a) {
        rep.nfsErrors.push_back(a.error().message);
        return;
    }
    rep.nfsLines = std::move(a->lines);
    rep.exportsText = std::move(a->exportsText);
    for (auto& r : a->refused) {
        rep.nfsErrors.push_back(std::move(r));
    }
}

/// Why addClient failed, as a code. Its message lists every problem at once (the
/// CLI shows it as it is); the code names the first of the kinds the API tells apart.
ActionError classifyAdd(ActionContext& ctx, const AddClientRequest& req, std::string message) {
    if (startsWith(message, "client add needs")) {
        if (req.serial.empty() || !proto::netboot::normalizeSerial(req.serial)) {
            return err("invalid_serial", 400, std::move(message));
        }
        if (req.mac && !proto::netboot::normalizeMac(*req.mac)) {
            return err("invalid_mac", 400, std::move(message));
        }
        if (!req.image.empty() && !findImage(ctx.stateDir, req.image)) {
            return err("unknown_image", 400, std::move(message));
        }
        return err("invalid_request", 400, std::move(message));
    }
    if (enrolled(rowOf(ctx.registry, req.serial))) {
        return err("client_exists", 409, std::move(message));
    }
    if (req.mac) {
        if (auto mac = proto::netboot::normalizeMac(*req.mac)) {
            auto other = ctx.registry.findByMac(*mac);
            const auto serial = proto::netboot::normalizeSerial(req.serial);
            if (other && *other && serial && (*other)->serial != *serial) {
                return err("duplicate_mac", 409, std::move(message));
            }
        }
    }
    return err("failed", 500, std::move(message));
}

}  // namespace

ActionResult<ActionReport> enrolClient(ActionContext& ctx, const AddClientRequest& req) {
    auto r = addClient(ctx.stateDir, ctx.registry, ctx.settings, req);
    if (!r) {
        return tl::unexpected(classifyAdd(ctx, req, r.error().message));
    }
    ActionReport rep;
    rep.record = std::move(r->record);
    rep.messages = std::move(r->messages);
    // The settings are stored only once the client is added: a failed add leaves them alone.
    if (auto st = storeSettingsIfChanged(ctx.registry, ctx.settings); !st) {
        rep.settingsError = st.error().message;
    }
    applyInto(ctx, rep);
    return rep;
}

ActionResult<ActionReport> changeClient(ActionContext& ctx, const SetClientRequest& req) {
    const auto before = rowOf(ctx.registry, req.serial);
    auto r = setClient(ctx.stateDir, ctx.registry, ctx.settings, req);
    if (!r) {
        auto message = r.error().message;
        if (!enrolled(before)) {
            return tl::unexpected(err("no_such_client", 404, std::move(message)));
        }
        if (req.image && !findImage(ctx.stateDir, *req.image)) {
            return tl::unexpected(err("unknown_image", 400, std::move(message)));
        }
        const bool privateRoot = before->rootMode != "shared";
        const bool rootChanges = (req.image && *req.image != before->image) ||
                                 (req.rootMode && *req.rootMode != before->rootMode);
        if (startsWith(message, "client set: nothing changed: client") && privateRoot &&
            rootChanges && !req.resetRoot) {
            return tl::unexpected(err("private_root", 409, std::move(message)));
        }
        if (req.resetRoot && !privateRoot && !rootChanges) {
            return tl::unexpected(err("nothing_to_reset", 409, std::move(message)));
        }
        if (startsWith(message, "client set: nothing changed:")) {
            return tl::unexpected(err("invalid_request", 400, std::move(message)));
        }
        return tl::unexpected(err("failed", 500, std::move(message)));
    }
    ActionReport rep;
    rep.record = std::move(r->record);
    rep.messages = std::move(r->messages);
    applyInto(ctx, rep, before && isNbdRootMode(before->rootMode));
    return rep;
}

ActionResult<ActionReport> resetClientRoot(ActionContext& ctx, const std::string& serial,
                                           RootCopyProgress progress) {
    const auto before = rowOf(ctx.registry, serial);
    auto r = resetClient(ctx.stateDir, ctx.registry, ctx.settings, serial, std::move(progress));
    if (!r) {
        if (!enrolled(before)) {
            return tl::unexpected(err("no_such_client", 404, r.error().message));
        }
        if (before->rootMode == "shared") {
            return tl::unexpected(err("nothing_to_reset", 409, r.error().message));
        }
        return tl::unexpected(err("failed", 500, r.error().message));
    }
    ActionReport rep;
    rep.record = std::move(r->record);
    rep.messages = std::move(r->messages);
    applyInto(ctx, rep);
    return rep;
}

ActionResult<ActionReport> removeClientFully(ActionContext& ctx, const std::string& serial,
                                             RootDisposal root, std::int64_t now) {
    auto plan = planRemoval(ctx.stateDir, ctx.registry, serial);
    if (!plan) {
        const bool known = rowOf(ctx.registry, serial).has_value();
        return tl::unexpected(
            err(known ? "failed" : "no_such_client", known ? 500 : 404, plan.error().message));
    }
    // A private root holds what the board wrote (home directories, logs, installed
    // packages): deleting it is asked for, never assumed.
    if (plan->privateRoot && root == RootDisposal::Refuse) {
        return tl::unexpected(err(
            "private_root", 409,
            fmt::format("client {} has a private {} root, {}, with the board's own files: say "
                        "whether to delete it with the client or keep it (moved aside)",
                        plan->record.serial, plan->record.rootMode, plan->privateRoot->string())));
    }
    auto r = removeClient(ctx.stateDir, ctx.registry, serial, root == RootDisposal::Keep, now);
    if (!r) {
        return tl::unexpected(err("failed", 500, r.error().message));
    }
    ActionReport rep;
    rep.record = plan->record;
    rep.messages = std::move(*r);
    // A removed overlay client's mount unit goes now, not at the next apply: at boot
    // systemd would make an empty roots/SERIAL/merged for it.
    if (auto u = dropMountUnit(ctx.stateDir, ctx.settings, plan->record); !u) {
        rep.warnings.push_back(u.error().message);
    } else {
        for (auto& l : *u) {
            rep.messages.push_back(std::move(l));
        }
    }
    applyInto(ctx, rep, isNbdRootMode(plan->record.rootMode), true);
    return rep;
}

ActionResult<void> removeUnusedImage(const std::filesystem::path& stateDir, io::Registry& reg,
                                     const std::string& name) {
    if (!isValidImageName(name) || !findImage(stateDir, name)) {
        return tl::unexpected(err("unknown_image", 404,
                                  fmt::format("no image \"{}\" (pinetboot image list shows them)",
                                              proto::text::safeText(name, 100))));
    }
    auto clients = reg.list();
    if (!clients) {
        return tl::unexpected(err("failed", 500, clients.error().message));
    }
    std::string users;
    for (const auto& c : *clients) {
        if (c.image == name) {
            users += (users.empty() ? "" : ", ") + c.serial;
        }
    }
    // Its clients boot from it and their roots may be built on it (shared, overlay).
    if (!users.empty()) {
        return tl::unexpected(
            err("image_in_use", 409,
                fmt::format("image {} is used by client(s) {}: remove them first", name, users)));
    }
    if (auto r = removeImage(stateDir, name); !r) {
        return tl::unexpected(err("failed", 500, r.error().message));
    }
    return {};
}

}  // namespace pinet::app
