#pragma once
// Keeps the boot views of `--root nbd` boards of in-place images in line with their disks
// (app/nbd/boot_view.h), off the packet path, on a thread of its own. A board's disk
// changes all the time while it runs; its boot partition rarely does (a kernel upgrade).
// So a disk is looked at when it has been quiet for kQuiet after a change (a board that
// shut down to reboot), and at once when the board asks DHCP (its firmware is running:
// the disk is quiescent, and its TFTP requests come after the lease). Looking costs a
// qemu-img map (metadata); the partition is read out only when the board wrote inside it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/serve/client_store.h"

namespace pinet::app::serve {

class BootViewService {
public:
    /// A disk is looked at once it has not changed for this long: 3 s is longer than the
    /// gaps between a running board's writeback flushes are short (ext4 commits every
    /// 5 s, so a busy board keeps resetting it) and shorter than a Pi's reboot through
    /// its firmware to the first TFTP request (5 s and more).
    static constexpr std::chrono::seconds kQuiet{3};
    /// How often disks are stat'ed: 1 s, one stat per board.
    static constexpr std::chrono::seconds kPoll{1};

    /// @p onChange: called (on the service's thread) after a board's boot view changed.
    BootViewService(std::filesystem::path stateDir, std::function<void()> onChange);
    ~BootViewService();
    BootViewService(const BootViewService&) = delete;
    BootViewService& operator=(const BootViewService&) = delete;

    /// The enrolled boards (every registry refresh); those with an nbd root are watched.
    void setClients(const std::vector<KnownClient>& clients);
    /// A DHCP packet from @p serial (option 97) or @p mac: look at its disk now.
    void noteDhcp(const std::string& serial, const std::string& mac);
    void stop();

private:
    struct Watched {
        std::string serial;
        std::string mac;
        std::string image;
        std::string rootMode;
        std::int64_t mtime = -1;  ///< the disk's, when last stat'ed
        std::chrono::steady_clock::time_point changed{};
        bool pending = true;  ///< changed since last looked at (true at start)
        bool kick = false;    ///< DHCP seen: look now
        /// Whether the board had a view of its own when last looked at (unknown until
        /// the first look): a view that goes away (client reset removes the disk and
        /// the view with it) must still reach the daemon, which holds it open.
        std::optional<bool> hasView;
    };
    void run();
    /// A board that boots over HTTP (mode 7) has boot.img in its folder: made again from
    /// the files it boots now. Not when boot.sig is signed: serve holds no key.
    void rebuildBootImage(const std::string& serial, const std::string& image);

    std::filesystem::path stateDir_;
    std::function<void()> onChange_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::string, Watched> watched_;  ///< by serial
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace pinet::app::serve
