#pragma once
// The client changes as whole actions, the one path both `pinetboot client
// add|set|reset|remove` and the web API (POST/PATCH/DELETE /api/v1/clients)
// take: the client_manager step, then the settings it used stored (enrol) and
// `nfs apply` (unless told not to), and an error with a stable code beside the
// message, for the API's {"error":{"code":...}} and HTTP status.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "app/client/client_manager.h"
#include "app/settings.h"
#include "io/registry/registry.h"

namespace pinet::app {

struct ActionError {
    /// Stable, snake_case (docs/api.md lists them): invalid_serial, invalid_mac,
    /// invalid_request, unknown_image, image_in_use, client_exists, duplicate_mac, no_such_client,
    /// private_root (the action would delete or replace a board's own root and was
    /// not told to), nothing_to_reset, failed (the step itself failed: disk, NFS, ...).
    std::string code;
    std::string message;
    /// The HTTP status the API answers with: 400, 404, 409 or 500.
    int status = 500;
};

template <typename T>
using ActionResult = tl::expected<T, ActionError>;

/// Where and with what an action works (the CLI's SettingsSession, serve's config).
struct ActionContext {
    std::filesystem::path stateDir;
    io::Registry& registry;
    ServerSettings settings;
    bool applyNfs = true;  ///< --no-apply: false
};

struct ActionReport {
    io::ClientRecord record;
    std::vector<std::string> messages;  ///< what the step did, one line each
    std::vector<std::string> nfsLines;  ///< what nfs apply did
    std::string exportsText;            ///< backend none: the export lines to install
    /// nfs apply failed, or rows it refused. After enrol/set/reset the CLI fails with
    /// these (the change itself is made); after remove they are warnings.
    std::vector<std::string> nfsErrors;
    std::vector<std::string> nbdLines;   ///< what nbd apply did (an NBD client's export)
    std::vector<std::string> nbdErrors;  ///< nbd apply failed or refused the client's row
    std::vector<std::string> warnings;   ///< remove: the mount unit could not be dropped
    std::string settingsError;           ///< enrol: the settings it used could not be stored
};

ActionResult<ActionReport> enrolClient(ActionContext& ctx, const AddClientRequest& req);
ActionResult<ActionReport> changeClient(ActionContext& ctx, const SetClientRequest& req);
ActionResult<ActionReport> resetClientRoot(ActionContext& ctx, const std::string& serial,
                                           RootCopyProgress progress = {});

/// What to do with a private root (copy, overlay) when its client goes.
enum class RootDisposal {
    Refuse,  ///< the action fails with private_root (the CLI asks first, the API wants a choice)
    Delete,
    Keep,  ///< moved aside to roots/SERIAL.kept-TIME
};
/// Removes the client (client_manager removeClient), its overlay mount unit, then nfs apply.
ActionResult<ActionReport> removeClientFully(ActionContext& ctx, const std::string& serial,
                                             RootDisposal root, std::int64_t now);

/// Removes an imported image that no client uses (`pinetboot image remove`,
/// DELETE /api/v1/images/NAME): unknown_image (404), image_in_use (409, naming the
/// clients), failed (500).
ActionResult<void> removeUnusedImage(const std::filesystem::path& stateDir, io::Registry& reg,
                                     const std::string& name);

}  // namespace pinet::app
