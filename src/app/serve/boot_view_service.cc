#include "app/serve/boot_view_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "app/bootimg/boot_image.h"
#include "app/image/image_store.h"
#include "app/nbd/boot_view.h"
#include "app/nbd/nbd_manager.h"
#include "io/file.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app::serve {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

BootViewService::BootViewService(fs::path stateDir, std::function<void()> onChange)
    : stateDir_(std::move(stateDir)), onChange_(std::move(onChange)) {
    thread_ = std::thread([this] { run(); });
}

BootViewService::~BootViewService() {
    stop();
}

void BootViewService::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void BootViewService::setClients(const std::vector<KnownClient>& clients) {
    std::lock_guard lock(mutex_);
    std::map<std::string, Watched> next;
    for (const auto& c : clients) {
        // Paths come from the serial (never from the row's boot_dir): a normalised one only.
        if (c.discovered || !isNbdRootMode(c.rootMode) ||
            proto::netboot::normalizeSerial(c.serial) != c.serial) {
            continue;
        }
        Watched w;
        if (auto it = watched_.find(c.serial); it != watched_.end() &&
                                               it->second.image == c.image &&
                                               it->second.rootMode == c.rootMode) {
            w = it->second;  // keeps what was seen of its disk
        }
        w.serial = c.serial;
        w.mac = c.mac;
        w.image = c.image;
        w.rootMode = c.rootMode;
        next.emplace(c.serial, std::move(w));
    }
    watched_ = std::move(next);
}

void BootViewService::noteDhcp(const std::string& serial, const std::string& mac) {
    // On the DHCP thread: a map lookup and a flag, nothing more.
    bool kicked = false;
    {
        std::lock_guard lock(mutex_);
        auto it = watched_.find(serial);
        if (it == watched_.end() && !mac.empty()) {
            it = std::find_if(watched_.begin(), watched_.end(),
                              [&](const auto& kv) { return kv.second.mac == mac; });
        }
        if (it != watched_.end()) {
            it->second.kick = kicked = true;
        }
    }
    if (kicked) {
        cv_.notify_all();
    }
}

void BootViewService::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        cv_.wait_for(lock, kPoll, [&] {
            return stopping_ || std::any_of(watched_.begin(), watched_.end(),
                                            [](const auto& kv) { return kv.second.kick; });
        });
        if (stopping_) {
            break;
        }
        auto boards = watched_;  // looked at without the lock: a refresh takes seconds
        for (auto& kv : watched_) {
            kv.second.kick = false;  // taken; DHCP seen from here on kicks again
        }
        lock.unlock();
        bool changed = false;
        std::vector<std::string> logs;                             ///< said once installed
        std::vector<std::pair<std::string, std::string>> rebuild;  ///< serial, image
        const auto now = Clock::now();
        std::map<std::string, ImageInfo> images;
        for (auto& [serial, w] : boards) {
            const auto disk = NbdPaths{stateDir_}.disk(serial, w.rootMode);
            auto id = io::fileIdentity(disk);
            const std::int64_t mtime = id ? id->mtimeNs : -1;
            if (mtime != w.mtime) {
                w.mtime = mtime;
                w.changed = now;
                w.pending = true;
            }
            if (!w.hasView) {
                w.hasView = bootViewInfo(stateDir_, serial).has_value();
            }
            if (mtime < 0) {
                // No disk (reset, or not applied yet): the board boots from the image.
                if (*w.hasView && !bootViewInfo(stateDir_, serial)) {
                    w.hasView = false;
                    changed = true;
                    logs.push_back(
                        fmt::format("BOOT_VIEW serial={} source=image its disk is gone", serial));
                    rebuild.emplace_back(serial, w.image);
                }
                continue;
            }
            if (!w.pending || (!w.kick && now - w.changed < kQuiet)) {
                continue;
            }
            w.pending = false;
            auto img = images.find(w.image);
            if (img == images.end()) {
                auto found = findImage(stateDir_, w.image);
                if (!found) {
                    continue;
                }
                img = images.emplace(w.image, std::move(*found)).first;
            }
            if (!img->second.inPlace) {
                continue;  // an imported image: its boot files are folders, not a disk
            }
            const bool had = *w.hasView || bootViewInfo(stateDir_, serial).has_value();
            auto r = refreshBootView(stateDir_, img->second, serial, w.rootMode);
            if (!r) {
                // The board keeps the view it had; looked at again after its next change.
                spdlog::warn("BOOT_VIEW_FAILED serial={} reason={}", serial,
                             proto::text::safeText(r.error().message, 400));
                continue;
            }
            const bool refreshed = r->outcome == BootViewRefresh::Outcome::Refreshed;
            w.hasView = refreshed;
            if (refreshed || had) {
                changed = true;
                logs.push_back(fmt::format("BOOT_VIEW serial={} source={} {}", serial,
                                           refreshed ? "disk" : "image",
                                           proto::text::safeText(r->message, 300)));
                rebuild.emplace_back(serial, w.image);
            }
        }
        lock.lock();
        for (auto& [serial, w] : boards) {
            if (auto it = watched_.find(serial); it != watched_.end()) {
                it->second.mtime = w.mtime;  // its kick stays: set by DHCP meanwhile
                it->second.changed = w.changed;
                it->second.pending = w.pending;
                it->second.hasView = w.hasView;
            }
        }
        if (changed) {
            // TFTP first (the board's next request gets its new files), then the log line
            // that says so, then the boot.img builds, which take seconds.
            lock.unlock();
            if (onChange_) {
                onChange_();
            }
            for (const auto& line : logs) {
                spdlog::info("{}", line);
            }
            for (const auto& [serial, image] : rebuild) {
                rebuildBootImage(serial, image);
            }
            lock.lock();
        }
    }
}

void BootViewService::rebuildBootImage(const std::string& serial, const std::string& image) {
    // The folder client add made for the board (state/tftp/SERIAL), from the serial.
    const fs::path dir = stateDir_ / "tftp" / serial;
    std::error_code ec;
    if (!fs::is_regular_file(dir / "boot.img", ec)) {
        return;  // the board boots over TFTP
    }
    if (auto sig = io::readFile(dir / "boot.sig");
        sig &&
        std::string_view(reinterpret_cast<const char*>(sig->data()), sig->size()).find("rsa2048") !=
            std::string_view::npos) {
        spdlog::warn(
            "BOOT_IMG_STALE serial={} boot.img is signed and serve holds no key: "
            "pinetboot image bootimg {} --in-place {} --board {} --key KEY.pem",
            serial, dir.string(), image, serial);
        return;
    }
    auto info = findImage(stateDir_, image);
    if (info) {
        if (auto own = bootViewInfo(stateDir_, serial)) {
            info = std::move(*own);
        }
    }
    auto built = [&]() -> Result<bootimg::BootImageResult> {
        if (!info) {
            return tl::unexpected(info.error());
        }
        try {  // TempDir throws when it cannot be made: nothing may leave this thread
            io::TempDir stage("pinetboot-bootimg");
            auto staged = bootimg::stageInPlaceBoot(*info, dir, stage.path());
            if (!staged) {
                return tl::unexpected(staged.error());
            }
            bootimg::BootImageOptions o;
            o.sourceDir = stage.path();
            o.output = dir / "boot.img";
            return bootimg::buildBootImage(o);
        } catch (const std::exception& e) {
            return fail(e.what());
        }
    }();
    if (built) {
        spdlog::info("BOOT_IMG serial={} rebuilt {} bytes from its {} files", serial,
                     built->imageBytes, info->name);
    } else {
        spdlog::warn("BOOT_IMG_FAILED serial={} reason={} (the old boot.img stays)", serial,
                     proto::text::safeText(built.error().message, 400));
    }
}

}  // namespace pinet::app::serve
