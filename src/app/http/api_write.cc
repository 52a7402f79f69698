#include "app/http/api_write.h"

#include <set>

#include <fmt/format.h>

#include "app/json_text.h"
#include "proto/text/safe_text.h"

namespace pinet::app::http {

using json = nlohmann::json;

namespace {

/// The body as a JSON object, or the refusal.
std::optional<json> objectOf(std::string_view body, ApiReply& refusal) {
    if (body.size() > kMaxWriteBody) {
        refusal = errorReply(413, "body_too_large",
                             fmt::format("the body is {} bytes; at most {} are accepted",
                                         body.size(), kMaxWriteBody));
        return std::nullopt;
    }
    json j = json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded()) {
        refusal = errorReply(400, "invalid_json", "the body is not JSON");
        return std::nullopt;
    }
    if (!j.is_object()) {
        refusal = errorReply(400, "invalid_json", "the body must be a JSON object");
        return std::nullopt;
    }
    return j;
}

/// Refuses fields the endpoint does not know (a typo must not be a silent no-op)
/// and fields of the wrong type; every problem at once.
bool checkFields(const json& j, const std::set<std::string>& strings,
                 const std::set<std::string>& bools, ApiReply& refusal) {
    std::vector<std::string> problems;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const auto shown = proto::text::safeText(it.key(), 64);
        if (strings.count(it.key()) != 0) {
            if (!it->is_string()) {
                problems.push_back(fmt::format("\"{}\" must be a string", shown));
            }
        } else if (bools.count(it.key()) != 0) {
            if (!it->is_boolean()) {
                problems.push_back(fmt::format("\"{}\" must be true or false", shown));
            }
        } else {
            std::string known;
            for (const auto* set : {&strings, &bools}) {
                for (const auto& k : *set) {
                    known += (known.empty() ? "" : ", ") + k;
                }
            }
            problems.push_back(fmt::format("unknown field \"{}\" (known: {})", shown, known));
        }
    }
    if (problems.empty()) {
        return true;
    }
    std::string msg = "the body has " + std::to_string(problems.size()) +
                      (problems.size() == 1 ? " problem: " : " problems: ");
    for (std::size_t i = 0; i < problems.size(); ++i) {
        msg += (i == 0 ? "" : "; ") + problems[i];
    }
    refusal = errorReply(400, "invalid_request", msg);
    return false;
}

std::optional<std::string> str(const json& j, const char* key) {
    if (auto it = j.find(key); it != j.end()) {
        return it->get<std::string>();
    }
    return std::nullopt;
}

bool flag(const json& j, const char* key, bool def) {
    if (auto it = j.find(key); it != j.end()) {
        return it->get<bool>();
    }
    return def;
}

}  // namespace

std::string errorJson(std::string_view code, std::string_view message) {
    return dumpJson(
        json{{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}});
}

Parsed<EnrolBody> parseEnrolBody(std::string_view body) {
    Parsed<EnrolBody> out;
    auto j = objectOf(body, out.refusal);
    if (!j || !checkFields(
                  *j, {"serial", "mac", "name", "image", "root_mode", "model", "address", "notes"},
                  {"ssh", "apply_nfs"}, out.refusal)) {
        return out;
    }
    EnrolBody b;
    auto& r = b.request;
    r.serial = str(*j, "serial").value_or("");
    r.mac = str(*j, "mac");
    if (r.mac && r.mac->empty()) {
        r.mac.reset();  // "" = not known, as an absent field
    }
    r.name = str(*j, "name").value_or("");
    r.image = str(*j, "image").value_or("");
    r.rootMode = str(*j, "root_mode").value_or("copy");
    r.model = str(*j, "model").value_or("");
    r.address = str(*j, "address").value_or("");
    r.notes = str(*j, "notes").value_or("");
    r.enableSsh = flag(*j, "ssh", false);
    b.applyNfs = flag(*j, "apply_nfs", true);
    out.value = std::move(b);
    return out;
}

Parsed<ImportBody> parseImportBody(std::string_view body) {
    Parsed<ImportBody> out;
    auto j = objectOf(body, out.refusal);
    if (!j || !checkFields(*j, {"path", "name"}, {}, out.refusal)) {
        return out;
    }
    ImportBody b;
    b.path = str(*j, "path").value_or("");
    b.name = str(*j, "name").value_or("");
    std::vector<std::string> missing;
    if (b.path.empty()) {
        missing.emplace_back("\"path\" (the image file on the server, an absolute path)");
    }
    if (b.name.empty()) {
        missing.emplace_back("\"name\" (the name the image gets)");
    }
    if (!missing.empty()) {
        std::string msg = "the body needs ";
        for (std::size_t i = 0; i < missing.size(); ++i) {
            msg += (i == 0 ? "" : " and ") + missing[i];
        }
        out.refusal = errorReply(400, "invalid_request", msg);
        return out;
    }
    out.value = std::move(b);
    return out;
}

Parsed<PatchBody> parsePatchBody(std::string_view serial, std::string_view body) {
    Parsed<PatchBody> out;
    auto j = objectOf(body, out.refusal);
    if (!j || !checkFields(*j, {"name", "notes", "image", "root_mode", "model", "address"},
                           {"reset_root", "apply_nfs"}, out.refusal)) {
        return out;
    }
    PatchBody b;
    auto& r = b.request;
    r.serial = std::string(serial);
    r.name = str(*j, "name");
    r.notes = str(*j, "notes");
    r.image = str(*j, "image");
    r.rootMode = str(*j, "root_mode");
    r.model = str(*j, "model");
    r.address = str(*j, "address");
    r.resetRoot = flag(*j, "reset_root", false);
    b.applyNfs = flag(*j, "apply_nfs", true);
    out.value = std::move(b);
    return out;
}

Parsed<bool> parseResetBody(std::string_view body) {
    Parsed<bool> out;
    if (body.empty()) {
        out.value = true;
        return out;
    }
    auto j = objectOf(body, out.refusal);
    if (!j || !checkFields(*j, {}, {"apply_nfs"}, out.refusal)) {
        return out;
    }
    out.value = flag(*j, "apply_nfs", true);
    return out;
}

json clientRecordJson(const io::ClientRecord& c) {
    return {{"serial", c.serial},
            {"mac", c.mac ? json(*c.mac) : json(nullptr)},
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

ApiReply actionReply(const ActionResult<ActionReport>& r, bool created) {
    if (!r) {
        return errorReply(r.error().status, r.error().code, r.error().message);
    }
    json nfs{{"lines", r->nfsLines}, {"exports", r->exportsText}, {"errors", r->nfsErrors}};
    json j{{"client", clientRecordJson(r->record)},
           {"messages", r->messages},
           {"warnings", r->warnings},
           {"nfs", nfs}};
    if (!r->nbdLines.empty() || !r->nbdErrors.empty()) {
        j["nbd"] = json{{"lines", r->nbdLines}, {"errors", r->nbdErrors}};
    }
    if (!r->settingsError.empty()) {
        j["warnings"].push_back("the settings were not stored: " + r->settingsError);
    }
    return ApiReply{created ? 201 : 200, dumpJson(j)};
}

}  // namespace pinet::app::http
