#pragma once
// ClientAdmin for `serve`: the web API's writes (POST/PATCH/DELETE
// /api/v1/clients) run app/client/client_actions, exactly what `pinetboot
// client add|set|reset|remove --config FILE` runs, with the settings serve's
// own configuration gives ([nfs] over what the registry stored). One action at a
// time: two writers must not build the same boot tree at once (a second one gets
// 503 busy at once); a CLI command beside it is kept apart by the registry's
// checks as two CLI commands are. After each change @p changed runs (serve re-reads the registry
// at once and tells the dashboards, /api/v1/events).
//
// POST /api/v1/images runs app::importImage (what `pinetboot image import` runs: the
// confined reader of io/sandbox) on a thread of its own, one import at a time, and
// publishes its progress as "image" events; a client change may run beside it (an
// import writes only images/NAME, which no client can name before it exists).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/config/config.h"
#include "app/http/api_write.h"

namespace pinet::app::serve {

class ClientAdmin final : public http::ClientAdmin {
public:
    using ConfigSource = std::function<std::shared_ptr<const config::Config>()>;
    /// @p changed(event, json): after a change that succeeded, the event for the
    /// dashboards ("client" {"serial","change","by"} or "image" {"name","change","by"}).
    using Changed = std::function<void(const std::string&, const std::string&)>;

    ClientAdmin(ConfigSource config, Changed changed);
    /// Waits for a running import (bounded by the reader's own deadline).
    ~ClientAdmin() override;
    ClientAdmin(const ClientAdmin&) = delete;
    ClientAdmin& operator=(const ClientAdmin&) = delete;

    http::ApiReply enrol(const http::EnrolBody& body) override;
    http::ApiReply change(const http::PatchBody& body) override;
    http::ApiReply reset(const std::string& serial, bool applyNfs) override;
    http::ApiReply remove(const std::string& serial, RootDisposal root, bool applyNfs) override;
    http::ApiReply removeImage(const std::string& name) override;
    http::ApiReply importImage(const http::ImportBody& body) override;

private:
    /// The import job the API answers with and its events carry.
    struct ImportJob {
        std::uint64_t id = 0;
        std::string name;
        std::string path;
        std::string phase = "queued";  ///< importImage's stage, then "done" or "failed"
        std::uint64_t done = 0;
        std::uint64_t total = 0;
        std::string error;
        bool running = false;
    };
    std::string jobJson(const ImportJob& j) const;
    void runImport(ImportJob job, std::shared_ptr<const config::Config> cfg);

    /// Opens the registry, resolves the settings and runs @p action under the lock.
    http::ApiReply run(const std::string& what, bool applyNfs,
                       const std::function<http::ApiReply(ActionContext&)>& action);

    ConfigSource config_;
    Changed changed_;
    std::mutex mutex_;
    std::mutex importMutex_;  ///< guards job_ and importThread_
    ImportJob job_;
    std::thread importThread_;
};

}  // namespace pinet::app::serve
