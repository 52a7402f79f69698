#include "app/serve/fleet_reader.h"
#include "app/store.h"

#include <ctime>
#include <future>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/doctor/doctor.h"
#include "app/doctor/neighbour_table.h"
#include "app/doctor/trees.h"
#include "app/image/image_report.h"
#include "app/json_text.h"
#include "app/settings.h"
#include "io/registry/registry.h"

namespace pinet::app::serve {

namespace {

http::ApiError registryError(const std::string& message) {
    return {503, "registry_unavailable", "cannot read the client registry: " + message};
}

std::string nowIso() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

http::ApiResult<std::string> ServeFleetReader::imagesJson() {
    const auto cfg = config_();
    auto reg = openServerRegistry(*cfg);
    if (!reg) {
        return tl::unexpected(registryError(reg.error().message));
    }
    auto clients = reg->list();
    if (!clients) {
        return tl::unexpected(registryError(clients.error().message));
    }
    auto reports = imageReports(cfg->stateDir, *clients);
    if (!reports) {
        return tl::unexpected(http::ApiError{500, "images_unreadable", reports.error().message});
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : *reports) {
        list.push_back(imageReportJson(r));
    }
    return dumpJson(nlohmann::json{{"images", std::move(list)}});
}

ServeFleetReader::~ServeFleetReader() {
    {
        std::lock_guard lock(workerMutex_);
        stopping_ = true;
    }
    workerCv_.notify_all();
    if (worker_.joinable()) {
        worker_.join();
    }
}

void ServeFleetReader::startWorker() {
    if (workerStarted_.load(std::memory_order_acquire)) {
        return;
    }
    worker_ = std::thread([this] {
        std::unique_lock lock(workerMutex_);
        while (true) {
            workerCv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) {
                return;  // stopping, nothing left to answer
            }
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            lock.lock();
        }
    });
    workerStarted_.store(true, std::memory_order_release);
}

http::ApiResult<std::string> ServeFleetReader::onWorker(
    std::function<http::ApiResult<std::string>()> job) {
    if (!workerStarted_.load(std::memory_order_acquire)) {
        return job();
    }
    auto task =
        std::make_shared<std::packaged_task<http::ApiResult<std::string>()>>(std::move(job));
    auto result = task->get_future();
    {
        std::lock_guard lock(workerMutex_);
        if (stopping_) {
            return tl::unexpected(http::ApiError{503, "stopping", "serve is stopping"});
        }
        jobs_.emplace_back([task] { (*task)(); });
    }
    workerCv_.notify_one();
    return result.get();
}

http::ApiResult<std::string> ServeFleetReader::doctorJson() {
    std::lock_guard lock(doctorMutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!doctorCache_.empty() && now - doctorAt_ < kCacheFor) {
        return doctorCache_;
    }
    auto r = onWorker([this] { return runDoctorNow(); });
    if (r) {
        doctorCache_ = *r;
        doctorAt_ = now;
    }
    return r;
}

http::ApiResult<std::string> ServeFleetReader::runDoctorNow() {
    const auto cfg = config_();
    auto reg = openServerRegistry(*cfg);
    if (!reg) {
        return tl::unexpected(registryError(reg.error().message));
    }
    // The config file over the stored settings, never stored (doctor changes nothing).
    auto settings = resolveSettings(*reg, settingsFromConfig(*cfg), {}, StoreSettings::Never);
    if (!settings) {
        return tl::unexpected(http::ApiError{500, "settings_invalid",
                                             settings.error().message +
                                                 " (pinetboot settings show; "
                                                 "pinetboot settings set ... fixes it)"});
    }
    DoctorOptions opts;
    opts.dhcpProbe = false;  // see fleet_reader.h: broadcasts, 5 s, needs root
    opts.expectedBoards = dhcpPoolSize(*cfg);
    if (auto where = storeLocation(*cfg, std::nullopt)) {
        setTreeOptions(opts, *cfg, *where);
    }
    const auto findings = runDoctor(cfg->stateDir, *reg, *settings, opts);
    nlohmann::json list = nlohmann::json::array();
    int problems = 0;
    for (const auto& f : findings) {
        problems += f.severity == Severity::Fail ? 1 : 0;
        list.push_back(findingJson(f));
    }
    nlohmann::json skipped = nlohmann::json::array();
    skipped.push_back({{"check", "dhcp"},
                       {"reason",
                        "the DHCP probe broadcasts a DISCOVER on the boot network, waits 5 s and "
                        "needs UDP port 68 as root: run `pinetboot doctor` on the server for it"}});
    return dumpJson(nlohmann::json{{"findings", std::move(list)},
                                   {"problems", problems},
                                   {"generated_at", nowIso()},
                                   {"skipped", std::move(skipped)}});
}

}  // namespace pinet::app::serve
