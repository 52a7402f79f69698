#pragma once
// serve's FleetReader (GET /api/v1/images, /api/v1/doctor): the same app code as
// `pinetboot image list` (app/image/image_report) and `pinetboot doctor`
// (app/doctor), over the state directory of the running configuration.
//
// Doctor from the web is cheap and read-only: settings are resolved with
// StoreSettings::Never (the config file over the stored ones, as `doctor --config`),
// and the DHCP probe is not run (it broadcasts a DISCOVER on the boot LAN, waits
// 5 s, and needs UDP 68 on the boot interface, i.e. root; `pinetboot doctor` on the
// server runs it). What was left out is listed in the answer's "skipped". A run is
// shared for kCacheFor so that a page reloaded in a loop costs one run.
//
// Doctor looks at the boot interface, so it must run in serve's network namespace.
// With `serve --netns` the web server's threads stay in the first one (the dashboard
// is bound there before setns), so doctor runs on a worker thread of its own, started
// by the daemon after the switch (startWorker).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/config/config.h"
#include "app/http/fleet_reader.h"

namespace pinet::app::serve {

class ServeFleetReader final : public http::FleetReader {
public:
    using ConfigSource = std::function<std::shared_ptr<const config::Config>()>;
    /// A doctor run takes ~10 ms to 2 s (the NFS NULL call's timeout): one per 5 s at
    /// most, whoever asks.
    static constexpr std::chrono::seconds kCacheFor{5};

    explicit ServeFleetReader(ConfigSource config) : config_(std::move(config)) {}
    ~ServeFleetReader() override;
    ServeFleetReader(const ServeFleetReader&) = delete;
    ServeFleetReader& operator=(const ServeFleetReader&) = delete;

    /// Doctor runs from now on on a thread started here, in the calling thread's network
    /// namespace; without it, on the requesting thread.
    void startWorker();

    http::ApiResult<std::string> imagesJson() override;
    http::ApiResult<std::string> doctorJson() override;

private:
    http::ApiResult<std::string> runDoctorNow();
    /// Runs @p job on the worker (if started) and waits for it.
    http::ApiResult<std::string> onWorker(std::function<http::ApiResult<std::string>()> job);

    ConfigSource config_;
    std::mutex workerMutex_;
    std::condition_variable workerCv_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread worker_;
    /// Set once worker_ runs: the web server's threads read it while the daemon starts
    /// the worker (the dashboard is up first), so not worker_.joinable().
    std::atomic<bool> workerStarted_{false};
    std::mutex doctorMutex_;  ///< one doctor run at a time; guards the cache
    std::chrono::steady_clock::time_point doctorAt_{};
    std::string doctorCache_;
};

}  // namespace pinet::app::serve
