#pragma once
// The write side of /api/v1 (docs/api.md): the request bodies, parsed into the
// same requests the CLI builds (app::AddClientRequest, app::SetClientRequest),
// the error body {"error":{"code":"...","message":"..."}}, and the interface
// the web server calls (serve implements it in app/serve/client_admin.*, which
// runs app/client/client_actions: one path for the CLI and the API).

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "app/client/client_actions.h"

namespace pinet::app::http {

/// A JSON body over 16 KiB is refused (413): the largest real one, a PATCH with
/// 4096 bytes of notes (the registry's limit), is a quarter of that.
inline constexpr std::size_t kMaxWriteBody = 16 * 1024;

/// {"error":{"code":CODE,"message":MESSAGE}}, one line.
std::string errorJson(std::string_view code, std::string_view message);

/// What a handler answers: a status and a JSON body.
struct ApiReply {
    int status = 200;
    std::string body;
};

inline ApiReply errorReply(int status, std::string_view code, std::string_view message) {
    return ApiReply{status, errorJson(code, message)};
}

/// A parsed body, or the reply that refuses it (400 invalid_json / invalid_request).
template <typename T>
struct Parsed {
    std::optional<T> value;
    ApiReply refusal;
};

struct EnrolBody {
    AddClientRequest request;
    bool applyNfs = true;
};
/// POST /api/v1/clients: {"serial" (required), "mac", "name", "image", "root_mode",
/// "model", "address", "notes", "ssh", "apply_nfs"}; unknown fields are refused.
Parsed<EnrolBody> parseEnrolBody(std::string_view body);

struct PatchBody {
    SetClientRequest request;
    bool applyNfs = true;
};
/// PATCH /api/v1/clients/SERIAL: {"name", "notes", "image", "root_mode", "model",
/// "address", "reset_root", "apply_nfs"}; `{}` writes the boot tree again, as
/// `client set SERIAL` alone does.
Parsed<PatchBody> parsePatchBody(std::string_view serial, std::string_view body);

/// POST /api/v1/clients/SERIAL/reset: an empty body or {"apply_nfs"}.
Parsed<bool> parseResetBody(std::string_view body);

/// POST /api/v1/images: {"path" (required: absolute, a regular file or a block device on
/// the server), "name" (required)}; unknown fields are refused. Checks only the shape:
/// the path itself and the name are checked by ClientAdmin::importImage.
struct ImportBody {
    std::string path;
    std::string name;
};
Parsed<ImportBody> parseImportBody(std::string_view body);

/// The client as `pinetboot client show --json` prints it.
nlohmann::json clientRecordJson(const io::ClientRecord& c);

/// The reply for a finished action: 200 (201 for @p created), {"client":{...},
/// "messages":[...],"nfs":{"lines":[...],"exports":"...","errors":[...]}}; an error's
/// own status and code otherwise.
ApiReply actionReply(const ActionResult<ActionReport>& r, bool created = false);

/// The web server's writer (one per serve). Thread-safe; each call is one action.
class ClientAdmin {
public:
    virtual ~ClientAdmin() = default;
    virtual ApiReply enrol(const EnrolBody& body) = 0;
    virtual ApiReply change(const PatchBody& body) = 0;
    virtual ApiReply reset(const std::string& serial, bool applyNfs) = 0;
    virtual ApiReply remove(const std::string& serial, RootDisposal root, bool applyNfs) = 0;
    /// DELETE /api/v1/images/NAME (refused while clients use it).
    virtual ApiReply removeImage(const std::string& name) = 0;
    /// POST /api/v1/images: starts an import in the background, 202 with the job;
    /// progress as "image" events. A server without an importer says so.
    virtual ApiReply importImage(const ImportBody& body) {
        (void)body;
        return errorReply(503, "not_available", "this server imports no images");
    }
};

}  // namespace pinet::app::http
