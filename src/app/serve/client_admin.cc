#include "app/serve/client_admin.h"
#include "app/store.h"

#include <chrono>
#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/image/image_store.h"
#include "app/json_text.h"
#include "io/registry/registry.h"
#include "proto/text/safe_text.h"

namespace pinet::app::serve {

ClientAdmin::ClientAdmin(ConfigSource config, Changed changed)
    : config_(std::move(config)), changed_(std::move(changed)) {}

ClientAdmin::~ClientAdmin() {
    std::thread t;
    {
        std::lock_guard lock(importMutex_);
        t = std::move(importThread_);
    }
    if (t.joinable()) {
        t.join();
    }
}

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

std::string ClientAdmin::jobJson(const ImportJob& j) const {
    nlohmann::json o{{"id", j.id},          {"name", j.name}, {"path", j.path},
                     {"phase", j.phase},    {"done", j.done}, {"total", j.total},
                     {"running", j.running}};
    if (!j.error.empty()) {
        o["error"] = j.error;
    }
    return dumpJson(o);
}

http::ApiReply ClientAdmin::importImage(const http::ImportBody& body) {
    namespace fs = std::filesystem;
    const auto cfg = config_();
    // The path comes from a signed-in admin, still: checked before anything runs,
    // every problem at once. Symlinks are followed (/dev/disk/by-id/... names a
    // disk); what they lead to must be a regular file or a block device, the two
    // inputs the reader takes (no FIFO that blocks it, no directory, no /dev/zero).
    std::vector<std::string> problems;
    const fs::path path(body.path);
    std::error_code ec;
    if (!path.is_absolute()) {
        problems.push_back("\"path\" must be absolute (it is a file on the server: " +
                           proto::text::safeText(body.path, 200) + ")");
    } else {
        const auto st = fs::status(path, ec);
        if (ec || st.type() == fs::file_type::not_found) {
            problems.push_back("no such file on the server: " +
                               proto::text::safeText(body.path, 200));
        } else if (st.type() != fs::file_type::regular && st.type() != fs::file_type::block) {
            problems.push_back(proto::text::safeText(body.path, 200) +
                               " is not a regular file or a block device");
        }
    }
    if (!isValidImageName(body.name)) {
        problems.push_back(
            "\"name\" must be 1-64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (got " +
            proto::text::safeText(body.name, 80) + ")");
    }
    if (!problems.empty()) {
        std::string msg;
        for (const auto& p : problems) {
            msg += (msg.empty() ? "" : "; ") + p;
        }
        return http::errorReply(400, "invalid_request", msg);
    }
    if (findImage(cfg->stateDir, body.name)) {
        return http::errorReply(409, "image_exists",
                                "image \"" + body.name +
                                    "\" already exists (DELETE /api/v1/images/" + body.name +
                                    " first, or pick another name)");
    }
    std::lock_guard lock(importMutex_);
    // One at a time: an import reads and writes gigabytes; two would halve each
    // other's speed and both hold the disk.
    if (job_.running) {
        return http::errorReply(409, "import_running",
                                "image \"" + job_.name + "\" is being imported (" + job_.phase +
                                    "); try again when its \"image\" event says done");
    }
    if (importThread_.joinable()) {
        importThread_.join();  // the last one ended: its thread only has to be reaped
    }
    ImportJob job;
    job.id = job_.id + 1;
    job.name = body.name;
    job.path = path.string();
    job.running = true;
    job_ = job;
    importThread_ = std::thread([this, job, cfg] { runImport(job, cfg); });
    spdlog::info("API_IMAGE_IMPORT name={} path={} status=202", job.name,
                 proto::text::safeText(job.path, 200));
    return http::ApiReply{202,
                          dumpJson(nlohmann::json{{"job", nlohmann::json::parse(jobJson(job))}})};
}

void ClientAdmin::runImport(ImportJob job, std::shared_ptr<const config::Config> cfg) {
    using Clock = std::chrono::steady_clock;
    auto lastSent = Clock::now() - std::chrono::seconds(1);
    std::string lastPhase;
    auto publish = [&](const ImportJob& j) {
        {
            std::lock_guard lock(importMutex_);
            job_ = j;
        }
        if (changed_) {
            nlohmann::json e{{"name", j.name},   {"phase", j.phase}, {"done", j.done},
                             {"total", j.total}, {"id", j.id},       {"by", "api"}};
            if (!j.error.empty()) {
                e["error"] = j.error;
            }
            if (!j.running) {
                e["change"] = j.phase == "done" ? "imported" : "import_failed";
            }
            changed_("image", dumpJson(e));
        }
    };
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto r = app::importImage(
        cfg->stateDir, job.path, job.name, now,
        [&](const std::string& stage, std::uint64_t done, std::uint64_t total) {
            job.phase = stage;
            job.done = done;
            job.total = total;
            // At most ~5 events a second (and every new stage): the reader reports
            // every block, and each event goes to every dashboard's bounded queue.
            const auto t = Clock::now();
            if (stage != lastPhase || t - lastSent >= std::chrono::milliseconds(200)) {
                lastPhase = stage;
                lastSent = t;
                publish(job);
            }
        });
    job.running = false;
    if (r) {
        job.phase = "done";
        job.done = job.total;
    } else {
        job.phase = "failed";
        job.error = r.error().message;
    }
    spdlog::info("API_IMAGE_IMPORT name={} result={}", job.name, job.phase);
    publish(job);
}

}  // namespace pinet::app::serve
