#include "app/http/api_json.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/json_text.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app::http::api {

using core::DhcpEvent;
using core::TransferRecord;
using core::boot::BootOutcome;
using core::boot::BootRecord;
using core::boot::ClientInfo;
using serve::KnownClient;
using json = nlohmann::json;

namespace {

std::string isoTime(core::WallTime t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       static_cast<int>(ms % 1000));
}

std::string isoSeconds(std::int64_t unix) {
    return unix == 0 ? std::string() : isoTime(core::WallTime{} + std::chrono::seconds(unix));
}

double msBetween(core::WallTime from, core::WallTime to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

json bootJson(const BootRecord& b) {
    json j;
    j["id"] = b.id;
    j["client"] = b.clientKey;
    j["serial"] = b.serial;
    j["mac"] = b.mac;
    j["model"] = b.model;
    j["ip"] = b.ip;
    j["start"] = isoTime(b.start);
    j["end"] = b.end ? json(isoTime(*b.end)) : json(nullptr);
    j["outcome"] = core::boot::toString(b.outcome);
    j["failure"] = b.failure;
    j["kernel"] = b.kernelFile;
    j["duration_ms"] = std::chrono::duration<double, std::milli>(b.duration()).count();
    j["dropped_steps"] = b.droppedSteps;
    json dhcp = json::array();
    for (const auto& s : b.dhcp) {
        dhcp.push_back({{"kind", core::toString(s.kind)},
                        {"time", isoTime(s.time)},
                        {"t_ms", msBetween(b.start, s.time)},
                        {"interface", s.interface},
                        {"ip", s.clientIp},
                        {"proxy", s.proxy},
                        {"drop", s.drop ? json(core::dhcp::toString(*s.drop)) : json(nullptr)},
                        {"detail", s.detail}});
    }
    j["dhcp"] = std::move(dhcp);
    json files = json::array();
    for (const auto& f : b.files) {
        files.push_back(
            {{"protocol", core::toString(f.protocol)},
             {"path", f.path},
             {"result", core::toString(f.result)},
             {"time", isoTime(f.start)},
             {"t_ms", msBetween(b.start, f.start)},
             {"duration_ms", std::chrono::duration<double, std::milli>(f.duration).count()},
             {"bytes", f.bytes},
             {"size", f.fileSize},
             {"blksize", f.blockSize},
             {"detail", f.detail}});
    }
    j["files"] = std::move(files);
    return j;
}

std::string stateOf(const ClientInfo* info, const KnownClient* known) {
    if (info != nullptr && !info->boots.empty()) {
        switch (info->boots.back().outcome) {
            case BootOutcome::InProgress: return "booting";
            case BootOutcome::KernelLoaded: return "booted";
            case BootOutcome::Failed: return "failed";
        }
    }
    if (known != nullptr) {
        return known->discovered ? "discovered" : "known";
    }
    return "seen";
}

json clientSummary(const ClientInfo* info, const KnownClient* known) {
    json j;
    j["key"] = info != nullptr ? info->key : known->serial;
    j["serial"] = info != nullptr && !info->serial.empty() ? info->serial
                  : known != nullptr                       ? known->serial
                                                           : "";
    j["mac"] = info != nullptr && !info->mac.empty() ? info->mac
               : known != nullptr                    ? known->mac
                                                     : "";
    // The model from every sign (core/boot/board_model.h): what the board showed on the
    // wire, and what the registry says (a user's --model, or an earlier sighting).
    core::boot::ModelGuess guess = info != nullptr ? info->board : core::boot::ModelGuess{};
    std::string model;
    if (known != nullptr && !known->model.empty()) {
        if (auto m = core::boot::parseModelCode(known->model)) {
            guess = core::boot::refineModel(guess, {*m, core::boot::ModelSource::Registry});
        } else if (guess.model == core::boot::BoardModel::Unknown) {
            model = known->model;  // a code this version does not know: shown as it is
        }
    }
    if (guess.model != core::boot::BoardModel::Unknown) {
        model = core::boot::modelCode(guess.model);
    } else if (model.empty() && info != nullptr) {
        model = info->model;
    }
    j["model"] = model;
    j["model_name"] = guess.model != core::boot::BoardModel::Unknown
                          ? std::string(core::boot::modelName(guess.model))
                          : model;
    j["model_source"] = core::boot::toString(guess.source);
    j["name"] = known != nullptr ? known->name : "";
    j["ip"] = info != nullptr ? info->ip : "";
    j["state"] = stateOf(info, known);
    j["registered"] = known != nullptr;
    j["discovered"] = known != nullptr && known->discovered;
    j["boot_dir"] = known != nullptr ? known->bootDir : "";
    j["root_export"] = known != nullptr ? known->rootExport : "";
    j["notes"] = known != nullptr ? known->notes : "";
    std::string first = known != nullptr ? isoSeconds(known->firstSeen) : "";
    std::string last = known != nullptr ? isoSeconds(known->lastSeen) : "";
    if (info != nullptr) {
        if (first.empty()) {
            first = isoTime(info->firstSeen);
        }
        last = isoTime(info->lastSeen);
    }
    j["first_seen"] = first;
    j["last_seen"] = last;
    if (info != nullptr && !info->boots.empty()) {
        const auto& b = info->boots.back();
        j["last_boot"] = {
            {"id", b.id},
            {"start", isoTime(b.start)},
            {"outcome", core::boot::toString(b.outcome)},
            {"failure", b.failure},
            {"kernel", b.kernelFile},
            {"duration_ms", std::chrono::duration<double, std::milli>(b.duration()).count()}};
        j["boots"] = info->boots.size();
    } else {
        j["last_boot"] = nullptr;
        j["boots"] = 0;
    }
    return j;
}

}  // namespace

const KnownClient* matchKnown(const Known& known, const ClientInfo& c) {
    for (const auto& k : known) {
        if ((!c.serial.empty() && k.serial == c.serial) || (!c.mac.empty() && k.mac == c.mac)) {
            return &k;
        }
    }
    return nullptr;
}

std::string clientsJson(const core::boot::BootTracker& tracker, const Known& known) {
    json list = json::array();
    std::vector<const KnownClient*> matched;
    for (const auto* c : tracker.clients()) {
        const auto* k = matchKnown(known, *c);
        if (k != nullptr) {
            matched.push_back(k);
        }
        list.push_back(clientSummary(c, k));
    }
    for (const auto& k : known) {
        if (std::find(matched.begin(), matched.end(), &k) == matched.end()) {
            list.push_back(clientSummary(nullptr, &k));
        }
    }
    return dumpJson(json{{"clients", std::move(list)}});
}

std::optional<std::string> clientJson(const core::boot::BootTracker& tracker, const Known& known,
                                      const std::string& id) {
    const auto* c = tracker.findClient(id);
    const KnownClient* k = c != nullptr ? matchKnown(known, *c) : nullptr;
    if (c == nullptr) {
        const auto mac = proto::netboot::normalizeMac(id);
        for (const auto& kc : known) {
            if (kc.serial == id || (mac && kc.mac == *mac) || (!kc.name.empty() && kc.name == id)) {
                k = &kc;
                break;
            }
        }
        if (k == nullptr) {
            return std::nullopt;
        }
    }
    json boots = json::array();
    if (c != nullptr) {
        for (auto it = c->boots.rbegin(); it != c->boots.rend(); ++it) {
            boots.push_back(bootJson(*it));
        }
    }
    return dumpJson(json{{"client", clientSummary(c, k)}, {"boots", std::move(boots)}});
}

std::string bootsJson(const core::boot::BootTracker& tracker, std::size_t limit,
                      const std::string& clientId) {
    json boots = json::array();
    if (!clientId.empty()) {
        if (const auto* c = tracker.findClient(clientId)) {
            for (auto it = c->boots.rbegin(); it != c->boots.rend() && boots.size() < limit; ++it) {
                boots.push_back(bootJson(*it));
            }
        }
    } else {
        for (const auto* b : tracker.recentBoots(limit)) {
            boots.push_back(bootJson(*b));
        }
    }
    return dumpJson(json{{"boots", std::move(boots)}});
}

std::map<std::string, int> clientStates(const core::boot::BootTracker& tracker,
                                        const Known& known) {
    std::map<std::string, int> states{{"booting", 0},    {"booted", 0}, {"failed", 0},
                                      {"discovered", 0}, {"known", 0},  {"seen", 0}};
    std::vector<const KnownClient*> matched;
    for (const auto* c : tracker.clients()) {
        const auto* k = matchKnown(known, *c);
        matched.push_back(k);
        ++states[stateOf(c, k)];
    }
    for (const auto& k : known) {
        if (std::find(matched.begin(), matched.end(), &k) == matched.end()) {
            ++states[stateOf(nullptr, &k)];
        }
    }
    return states;
}

std::string eventBrief(const core::BootEvent& event, const core::boot::Update* update) {
    json brief;
    if (update != nullptr) {
        brief["client"] = update->clientKey;
        brief["boot"] = update->bootId;
    }
    if (const auto* d = std::get_if<DhcpEvent>(&event)) {
        brief["kind"] = core::toString(d->kind);
        brief["mac"] = d->mac;
        if (d->drop) {
            brief["drop"] = core::dhcp::toString(*d->drop);
        }
    } else {
        const auto& r = std::get<TransferRecord>(event);
        brief["path"] = r.requestedPath;
        brief["result"] = core::toString(r.result);
        brief["protocol"] = core::toString(r.protocol);
    }
    return dumpJson(brief);
}

std::string bootUpdateJson(const core::boot::Update& u) {
    if (u.bootEnded) {
        return dumpJson(json{{"client", u.clientKey},
                             {"boot", u.bootId},
                             {"state", core::boot::toString(u.outcome)},
                             {"failure", u.failure}});
    }
    return dumpJson(json{{"client", u.clientKey}, {"boot", u.bootId}, {"state", "started"}});
}

std::string admissionJson(const core::boot::AdmissionSnapshot& a) {
    json j;
    j["enabled"] = a.enabled;
    j["waiting"] = a.waiting;
    j["admitted"] = a.admitted;
    j["throughput_bytes_per_second"] = a.throughput;
    j["committed_bytes"] = a.outstanding;
    j["budget_bytes"] = a.budget;
    j["plan_bytes"] = a.planBytes;
    j["pipe_full"] = a.pipeFull;
    j["board_ceiling_bytes_per_second"] = a.boardCeiling;
    j["admissions"] = a.admissions;
    j["admissions_per_second"] = a.admissionRate;
    j["held_boards"] = a.heldBoards;
    j["overcommitted"] = a.overcommitted;
    j["completed"] = a.completed;
    j["no_shows"] = a.noShows;
    j["requeued"] = a.requeued;
    j["forgotten"] = a.forgotten;
    j["queue_full"] = a.queueFull;
    j["unmanaged"] = a.unmanaged;
    json buckets = json::array();
    for (std::size_t i = 0; i < core::boot::kWaitBuckets.size(); ++i) {
        buckets.push_back({{"le", core::boot::kWaitBuckets[i]}, {"count", a.waitBuckets[i]}});
    }
    j["wait_seconds"] = {{"buckets", std::move(buckets)},
                         {"count", a.waitBuckets.back()},
                         {"sum", a.waitSecondsSum}};
    json queue = json::array();
    for (const auto& w : a.queue) {
        // Board keys are MACs or "ip:N" made by the server; safe text all the same.
        queue.push_back({{"board", proto::text::safeText(w.board)},
                         {"waited_seconds", std::chrono::duration<double>(w.waited).count()}});
    }
    j["queue"] = std::move(queue);
    return dumpJson(j);
}

}  // namespace pinet::app::http::api
