#include "app/serve/client_admin.h"
#include "app/store.h"

#include <chrono>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/json_text.h"
#include "io/registry/registry.h"

namespace pinet::app::serve {

ClientAdmin::ClientAdmin(ConfigSource config, Changed changed)
    : config_(std::move(config)), changed_(std::move(changed)) {}

http::ApiReply ClientAdmin::run(const std::string& what, bool applyNfs,
                                const std::function<http::ApiReply(ActionContext&)>& action) {
    const auto cfg = config_();
    // One at a time, and a second writer is told so at once rather than queued: an
    // enrol may copy a whole root for minutes, and writers waiting here would hold
    // the web server's worker threads that the dashboards' reads need.
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
        return http::errorReply(503, "busy",
                                "another client change is running (a copy root takes a while "
                                "to build); try again when it is done");
    }
    auto reg = openServerRegistry(*cfg);
    if (!reg) {
        return http::errorReply(500, "failed", reg.error().message);
    }
    // As `client add --config FILE` resolves them: the file over the stored settings;
    // stored only by an enrol that succeeded (client_actions).
    auto settings = resolveSettings(*reg, settingsFromConfig(*cfg), {}, StoreSettings::Never);
    if (!settings) {
        return http::errorReply(500, "failed",
                                "the server settings are not usable: " + settings.error().message);
    }
    ActionContext ctx{cfg->stateDir, *reg, *settings, applyNfs};
    auto reply = action(ctx);
    spdlog::info("API_CLIENT_{} status={}", what, reply.status);
    return reply;
}

namespace {
std::string event(const std::string& key, const std::string& value, const std::string& change) {
    return dumpJson(nlohmann::json{{key, value}, {"change", change}, {"by", "api"}});
}

std::string serialOf(const http::ApiReply& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("client") && j["client"].contains("serial")) {
        return j["client"]["serial"].get<std::string>();
    }
    return {};
}
}  // namespace

http::ApiReply ClientAdmin::enrol(const http::EnrolBody& body) {
    auto reply = run("ENROL", body.applyNfs, [&](ActionContext& ctx) {
        return http::actionReply(enrolClient(ctx, body.request), true);
    });
    if (reply.status < 300 && changed_) {
        changed_("client", event("serial", serialOf(reply), "enrolled"));
    }
    return reply;
}

http::ApiReply ClientAdmin::change(const http::PatchBody& body) {
    auto reply = run("CHANGE", body.applyNfs, [&](ActionContext& ctx) {
        return http::actionReply(changeClient(ctx, body.request));
    });
    if (reply.status < 300 && changed_) {
        changed_("client", event("serial", serialOf(reply), "changed"));
    }
    return reply;
}

http::ApiReply ClientAdmin::reset(const std::string& serial, bool applyNfs) {
    auto reply = run("RESET", applyNfs, [&](ActionContext& ctx) {
        return http::actionReply(resetClientRoot(ctx, serial));
    });
    if (reply.status < 300 && changed_) {
        changed_("client", event("serial", serialOf(reply), "reset"));
    }
    return reply;
}

http::ApiReply ClientAdmin::remove(const std::string& serial, RootDisposal root, bool applyNfs) {
    auto reply = run("REMOVE", applyNfs, [&](ActionContext& ctx) {
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        return http::actionReply(removeClientFully(ctx, serial, root, now));
    });
    if (reply.status < 300 && changed_) {
        changed_("client", event("serial", serialOf(reply), "removed"));
    }
    return reply;
}

http::ApiReply ClientAdmin::removeImage(const std::string& name) {
    auto reply = run("IMAGE_REMOVE", false, [&](ActionContext& ctx) {
        auto r = removeUnusedImage(ctx.stateDir, ctx.registry, name);
        if (!r) {
            return http::errorReply(r.error().status, r.error().code, r.error().message);
        }
        return http::ApiReply{200, dumpJson(nlohmann::json{{"removed", name}})};
    });
    if (reply.status < 300 && changed_) {
        changed_("image", event("name", name, "removed"));
    }
    return reply;
}

}  // namespace pinet::app::serve
