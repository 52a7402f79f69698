#include "app/usbboot/runner.h"

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/usbboot/transcript.h"
#include "io/file.h"

namespace pinet::app {

namespace pu = proto::usbboot;
using namespace core::usbboot;
using Clock = std::chrono::steady_clock;

std::string boardLabel(const DeviceInfo& d, const std::string& serial) {
    std::string s = fmt::format("[{} {}", d.location, pu::chipPrefix(d.product));
    if (!serial.empty()) {
        s += " " + serial;
    }
    return s + "]";
}

namespace {

using Say = std::function<void(const std::string&)>;
using Bar = std::function<void(const std::string&, const std::string&, std::size_t, std::size_t)>;

/// Progress lines for one file-server session. Large files report every
/// quarter so that several boards' lines stay readable when interleaved, or,
/// with a bar (a terminal), every piece to the bar instead.
class ProgressPrinter : public FileServerObserver {
public:
    ProgressPrinter(std::string label, const Say& say, const Bar& bar)
        : label_(std::move(label)), say_(say), bar_(bar) {}
    void onFileSize(const std::string& name, std::optional<std::size_t> size) override {
        if (!size) {
            say_(fmt::format("{} {}: not found", label_, name));
        }
    }
    void onProgress(const std::string& name, std::size_t sent, std::size_t total) override {
        if (total < kReportAbove) {
            return;
        }
        if (bar_) {
            bar_(label_, name, sent, total);
            return;
        }
        if (sent == total) {
            return;
        }
        const std::size_t quarter = sent * 4 / total;
        if (quarter > lastQuarter_) {
            lastQuarter_ = quarter;
            say_(fmt::format("{} {}: {}% ({}/{} bytes)", label_, name, quarter * 25, sent, total));
        }
    }
    void onFileSent(const std::string& name, std::size_t size) override {
        lastQuarter_ = 0;
        if (bar_ && size >= kReportAbove) {
            bar_(label_, name, size, size);  // the bar reaches 100 % before the line
        }
        say_(fmt::format("{} {}: sent {} bytes", label_, name, size));
    }
    void onMetadata(const pu::MetadataEntry& e) override {
        say_(fmt::format("{} metadata {}={}", label_, e.key, e.value));
    }

private:
    // Files under 64 KiB are sent in at most four bulk pieces: one line is enough.
    static constexpr std::size_t kReportAbove = 64 * 1024;
    std::string label_;
    const Say& say_;
    const Bar& bar_;
    std::size_t lastQuarter_ = 0;
};

std::string metadataFileStem(const SessionReport& r) {
    std::string stem;
    for (char c : r.serial) {
        // Serial strings are hex; anything else must not reach a path.
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            stem += c;
        }
    }
    if (stem.empty()) {
        for (char c : r.device.location) {
            stem += (c == '.' ? '_' : c);
        }
    }
    return stem;
}

SessionReport serveDevice(DeviceSource& source, const RunnerOptions& opt, const DeviceInfo& d,
                          const Say& say, const Bar& bar) {
    SessionReport rep;
    rep.device = d;
    rep.stage = d.stage();
    if (opt.pause && opt.openDelay.count() > 0) {
        opt.pause(opt.openDelay);  // rpiboot waits 1 s before opening (spec 2.8)
    }
    auto dev = source.open(d);
    if (!dev) {
        rep.error = dev.error().message;
        say(fmt::format("{} error: {}", boardLabel(d, {}), rep.error));
        return rep;
    }
    rep.serial = (*dev)->serial();
    const std::string label = boardLabel(d, rep.serial);
    UsbTransport* t = &(*dev)->transport();
    std::optional<RecordingTransport> rec;
    if (opt.recordTranscripts) {
        rec.emplace(*t);
        rec->note(fmt::format("device {:04x}:{:04x} serial-index {} stage {}", d.vendor, d.product,
                              d.serialIndex, pu::stageName(rep.stage)));
        t = &*rec;
    }
    auto provider = opt.providerFor(d);
    if (rep.stage == pu::Stage::Rom) {
        rep.secondStage = std::string(pu::secondStageName(d.product));
        auto f = provider->open(rep.secondStage);
        if (!f || !f->data || f->data->empty()) {
            rep.error = fmt::format("no {} (or {}/{}) in the boot directory", rep.secondStage,
                                    pu::chipPrefix(d.product), rep.secondStage);
            say(fmt::format("{} error: {}", label, rep.error));
        } else {
            rep.secondStageSize = f->data->size();
            say(fmt::format("{} rom: sending {} ({} bytes)", label, rep.secondStage,
                            rep.secondStageSize));
            auto r = runRomStage(*t, *f->data, opt.pause);
            rep.ok = r.ok;
            rep.error = r.error;
            if (r.ok) {
                say(fmt::format("{} rom: second stage started{}", label,
                                r.deviceResult && *r.deviceResult != 0
                                    ? fmt::format(" (ROM result 0x{:x})", *r.deviceResult)
                                    : std::string()));
            } else {
                say(fmt::format("{} rom: failed: {}", label, rep.error));
            }
        }
    } else {
        say(fmt::format("{} second stage: serving files", label));
        ProgressPrinter progress(label, say, bar);
        auto res = serveFiles(*t, *provider, opt.server, &progress, opt.pause);
        if (bar) {
            bar(label, {}, 0, 0);  // this board's transfers are over
        }
        rep.ok = res.end != ServerEnd::Failed;
        rep.error = res.error;
        if (!res.metadata.empty() && !opt.metadataDir.empty()) {
            rep.metadataFile = opt.metadataDir / (metadataFileStem(rep) + ".json");
            auto w = io::writeFileAtomic(rep.metadataFile, pu::metadataJson(res.metadata));
            if (!w) {
                say(fmt::format("{} warning: {}", label, w.error().message));
                rep.metadataFile.clear();
            }
        }
        if (rep.ok) {
            say(fmt::format("{} second stage: finished ({}, {} requests)", label,
                            serverEndName(res.end), res.requests));
        } else {
            say(fmt::format("{} second stage: failed: {}", label, rep.error));
        }
        rep.server = std::move(res);
    }
    if (rec) {
        rep.transcript = rec->text();
    }
    return rep;
}

}  // namespace

RunSummary runUsbboot(DeviceSource& source, const RunnerOptions& opt) {
    std::mutex printMu;
    const Say say = [&](const std::string& line) {
        std::lock_guard lock(printMu);
        if (opt.print) {
            opt.print(line);
        }
    };
    Bar bar;
    if (opt.progress) {
        bar = [&](const std::string& board, const std::string& file, std::size_t sent,
                  std::size_t total) {
            std::lock_guard lock(printMu);
            opt.progress(board, file, sent, total);
        };
    }
    struct Job {
        DeviceInfo dev;
        std::uint64_t seq;
        std::future<SessionReport> result;
    };
    RunSummary summary;
    std::vector<Job> jobs;
    std::set<std::string> seen;                         // enumerations already handled
    std::map<std::string, Clock::time_point> awaiting;  // location -> re-enumeration deadline
    std::map<std::string, std::uint64_t> stage2Seq;     // location -> last second-stage discovery
    std::uint64_t seq = 0;
    std::size_t completed = 0;
    bool anySeen = false;
    bool announced = false;
    const auto start = Clock::now();
    auto lastEvent = start;

    auto reap = [&](Job& job) {
        SessionReport r = job.result.get();
        lastEvent = Clock::now();
        if (r.stage == pu::Stage::Rom && r.ok) {
            auto it = stage2Seq.find(r.device.location);
            if (it == stage2Seq.end() || it->second < job.seq) {
                awaiting[r.device.location] = Clock::now() + opt.reenumerateTimeout;
            }
        }
        if (r.stage == pu::Stage::SecondStage || !r.ok) {
            ++completed;
        }
        summary.sessions.push_back(std::move(r));
    };

    for (;;) {
        if (opt.stop != nullptr && opt.stop->load()) {
            break;
        }
        auto list = source.list();
        if (!list) {
            summary.fatal = list.error().message;
            break;
        }
        const auto now = Clock::now();
        for (const auto& d : *list) {
            if (!opt.port.empty() && d.location != opt.port) {
                continue;
            }
            if (!seen.insert(d.key()).second) {
                continue;
            }
            anySeen = true;
            lastEvent = now;
            ++seq;
            if (d.stage() == pu::Stage::SecondStage) {
                stage2Seq[d.location] = seq;
                awaiting.erase(d.location);
            }
            say(fmt::format("{} found {:04x}:{:04x} ({})", boardLabel(d, {}), d.vendor, d.product,
                            pu::stageName(d.stage())));
            jobs.push_back(
                Job{d, seq, std::async(std::launch::async, [&source, &opt, d, &say, &bar] {
                        return serveDevice(source, opt, d, say, bar);
                    })});
        }
        for (auto it = jobs.begin(); it != jobs.end();) {
            if (it->result.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
                reap(*it);
                it = jobs.erase(it);
            } else {
                ++it;
            }
        }
        for (auto it = awaiting.begin(); it != awaiting.end();) {
            if (Clock::now() > it->second) {
                SessionReport r;
                r.device.location = it->first;
                r.stage = pu::Stage::SecondStage;
                r.error = fmt::format(
                    "board did not come back as the second stage within {} s after the ROM stage",
                    std::chrono::duration_cast<std::chrono::seconds>(opt.reenumerateTimeout)
                        .count());
                say(fmt::format("[{}] error: {}", it->first, r.error));
                summary.sessions.push_back(std::move(r));
                ++completed;
                lastEvent = Clock::now();
                it = awaiting.erase(it);
            } else {
                ++it;
            }
        }
        const auto t = Clock::now();
        if (opt.maxBoards > 0 && completed >= opt.maxBoards && jobs.empty()) {
            break;
        }
        if (!opt.loop && anySeen && jobs.empty() && awaiting.empty() &&
            t - lastEvent >= opt.settle) {
            break;
        }
        if (!anySeen) {
            if (opt.noDeviceTimeout.count() > 0 && t - start >= opt.noDeviceTimeout) {
                summary.noDevice = true;
                break;
            }
            if (!announced) {
                say("waiting for a Raspberry Pi in USB boot mode (0a5c:2711, 2712, 2763, 2764)...");
                announced = true;
            }
        }
        std::this_thread::sleep_for(opt.pollInterval);
    }
    // Sessions in flight end by themselves (every transfer has a timeout).
    for (auto& job : jobs) {
        reap(job);
    }
    return summary;
}

}  // namespace pinet::app
