#include "core/boot/boot_tracker.h"

#include <algorithm>

#include "proto/netboot/ids.h"

namespace pinet::core::boot {

using std::chrono::duration_cast;
using std::chrono::microseconds;

const char* toString(BootOutcome outcome) {
    switch (outcome) {
        case BootOutcome::InProgress: return "in_progress";
        case BootOutcome::KernelLoaded: return "kernel_loaded";
        case BootOutcome::Failed: return "failed";
    }
    return "?";
}

microseconds BootRecord::duration() const {
    const auto stop = end.value_or(last);
    return stop > start ? duration_cast<microseconds>(stop - start) : microseconds{0};
}

namespace {

/// The tracker's MAC spelling (proto::netboot::normalizeMac); empty when it is not a MAC.
std::string macKey(const std::string& mac) {
    return proto::netboot::normalizeMac(mac).value_or(std::string());
}

std::string baseName(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool startsWith(const std::string& s, std::string_view p) {
    return s.rfind(p, 0) == 0;
}
bool endsWith(const std::string& s, std::string_view p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

/// Files a Pi asks for "just in case" (spec 4.3): their absence is normal and
/// never the reason a boot failed.
bool isOptionalFile(const std::string& path) {
    const auto b = baseName(path);
    return endsWith(b, ".sig") || endsWith(b, ".upd") || startsWith(b, "recover") ||
           b == "vl805.bin" || startsWith(b, "initramfs") || startsWith(b, "initrd") ||
           endsWith(b, ".dtbo") || b == "overlay_map.dtb" ||
           path.find("overlays/") != std::string::npos || startsWith(b, "armstub") ||
           b == "start.elf";  // start.elf: probed after start4.elf
}

std::string ipOf(const std::string& addr) {
    const auto colon = addr.rfind(':');
    return colon == std::string::npos ? addr : addr.substr(0, colon);
}

WallTime endOf(const TransferRecord& r) {
    return r.start + duration_cast<WallTime::duration>(r.duration);
}

}  // namespace

bool isKernelFile(const std::string& path) {
    const auto b = baseName(path);
    return b == "boot.img" || (startsWith(b, "kernel") && endsWith(b, ".img"));
}

BootTracker::BootTracker(TrackerOptions options) : options_(options) {}

void BootTracker::setHistoryPerClient(std::size_t n) {
    options_.historyPerClient = std::max<std::size_t>(1, n);
    for (auto& [k, c] : clients_) {
        while (c.boots.size() > options_.historyPerClient) {
            c.boots.pop_front();
        }
    }
}

ClientInfo& BootTracker::clientFor(const std::optional<std::string>& serial, const std::string& mac,
                                   const std::string& ip, WallTime now, bool& created) {
    created = false;
    std::string key;
    if (serial && !serial->empty()) {
        key = *serial;
        // A client first seen by MAC (or IP) that now shows its serial: re-key it.
        std::string oldKey;
        if (!mac.empty()) {
            if (auto it = macToKey_.find(mac); it != macToKey_.end() && it->second != key) {
                oldKey = it->second;
            }
        }
        if (oldKey.empty() && !ip.empty()) {
            if (auto it = ipToKey_.find(ip);
                it != ipToKey_.end() && it->second != key && startsWith(it->second, "ip:")) {
                oldKey = it->second;
            }
        }
        if (!oldKey.empty() && clients_.count(key) == 0) {
            if (auto node = clients_.extract(oldKey)) {
                node.key() = key;
                node.mapped().key = key;
                for (auto& b : node.mapped().boots) {
                    b.clientKey = key;
                }
                clients_.insert(std::move(node));
                for (auto* m : {&macToKey_, &ipToKey_}) {
                    for (auto& [k, v] : *m) {
                        if (v == oldKey) {
                            v = key;
                        }
                    }
                }
            }
        }
    } else if (!mac.empty()) {
        auto it = macToKey_.find(mac);
        key = it != macToKey_.end() ? it->second : mac;
    } else {
        auto it = ipToKey_.find(ip);
        key = it != ipToKey_.end() ? it->second : "ip:" + ip;
    }
    auto [it, inserted] = clients_.try_emplace(key);
    auto& c = it->second;
    if (inserted) {
        created = true;
        c.key = key;
        c.firstSeen = now;
    }
    if (serial && !serial->empty()) {
        c.serial = *serial;
    }
    if (!mac.empty()) {
        c.mac = mac;
        macToKey_[mac] = key;
    }
    if (!ip.empty()) {
        ipToKey_[ip] = key;
    }
    c.lastSeen = std::max(c.lastSeen, now);
    return c;
}

BootRecord& BootTracker::openBoot(ClientInfo& c, WallTime start, std::vector<Update>& updates) {
    BootRecord b;
    b.id = nextBootId_++;
    b.clientKey = c.key;
    b.serial = c.serial;
    b.mac = c.mac;
    b.model = c.model;
    b.ip = c.ip;
    b.start = start;
    b.last = start;
    c.boots.push_back(std::move(b));
    while (c.boots.size() > options_.historyPerClient) {
        c.boots.pop_front();
    }
    Update u;
    u.clientKey = c.key;
    u.bootId = c.boots.back().id;
    u.bootStarted = true;
    updates.push_back(u);
    return c.boots.back();
}

void BootTracker::closeFailed(ClientInfo& c, BootRecord& b, std::string reason,
                              std::vector<Update>& updates) {
    b.outcome = BootOutcome::Failed;
    b.failure = std::move(reason);
    b.end = b.last;
    Update u;
    u.clientKey = c.key;
    u.bootId = b.id;
    u.bootEnded = true;
    u.outcome = b.outcome;
    u.duration = b.duration();
    u.failure = b.failure;
    updates.push_back(u);
}

namespace {

std::string failureReason(const BootRecord& b, const char* how) {
    if (!b.lastError.empty()) {
        return b.lastError;
    }
    if (b.files.empty()) {
        return b.dhcp.empty() ? std::string(how) : std::string("no TFTP/HTTP request after DHCP");
    }
    return "stopped after " + b.files.back().path + " (" + how + ")";
}

}  // namespace

std::vector<Update> BootTracker::onEvent(const BootEvent& event) {
    auto updates = std::visit(
        [this](const auto& e) {
            if constexpr (std::is_same_v<std::decay_t<decltype(e)>, DhcpEvent>) {
                return onDhcp(e);
            } else {
                return onTransfer(e);
            }
        },
        event);
    trimClients();
    return updates;
}

std::vector<Update> BootTracker::onDhcp(const DhcpEvent& e) {
    std::vector<Update> updates;
    const auto mac = macKey(e.mac);
    const bool hasIp = !e.clientIp.empty() && e.clientIp != "0.0.0.0" &&
                       (e.kind == DhcpEvent::Kind::Offer || e.kind == DhcpEvent::Kind::Ack);
    if (e.drop && macToKey_.count(mac) == 0) {
        // Packets left unanswered (a Pi's OS asking the site server, a REQUEST proxy
        // mode leaves alone ...) never create a client: they are only noted on a boot.
        return updates;
    }
    bool created = false;
    auto& c = clientFor(e.serial, mac, hasIp ? e.clientIp : std::string(), e.time, created);
    if (e.model && !e.model->empty()) {
        c.model = *e.model;
        if (auto f = modelFromFourcc(*e.model)) {
            c.board = refineModel(c.board, {*f, ModelSource::Fourcc});
        }
    }
    if (e.boardRevision) {
        if (auto m = modelFromRevision(*e.boardRevision)) {
            c.board = refineModel(c.board, {*m, ModelSource::Revision});
        }
    }
    if (hasIp) {
        c.ip = e.clientIp;
    }
    BootRecord* b = c.boots.empty() ? nullptr : &c.boots.back();
    if (b != nullptr) {
        const bool open = b->outcome == BootOutcome::InProgress;
        // Linux's own ip=dhcp carries no option 97 (no model): it belongs to the
        // boot that loaded the kernel. A bootloader DISCOVER (model known) is a new boot.
        const bool bootloader = e.kind == DhcpEvent::Kind::Discover && e.model && !e.model->empty();
        const bool kernelDhcp = !bootloader && b->outcome == BootOutcome::KernelLoaded && b->end &&
                                e.time - *b->end < options_.kernelDhcpWindow;
        if (open && e.kind == DhcpEvent::Kind::Discover && !b->files.empty()) {
            closeFailed(c, *b, failureReason(*b, "board restarted"), updates);
            b = nullptr;
        } else if (!open && !kernelDhcp) {
            b = nullptr;
        }
    }
    if (b == nullptr) {
        if (e.drop) {
            return updates;  // nor do they open a boot
        }
        b = &openBoot(c, e.time, updates);
    }
    if (e.model && !e.model->empty()) {
        b->model = *e.model;
    }
    if (!c.serial.empty()) {
        b->serial = c.serial;
    }
    b->mac = mac;
    if (hasIp) {
        b->ip = e.clientIp;
    }
    if (b->dhcp.size() + b->files.size() < options_.maxStepsPerBoot) {
        b->dhcp.push_back(
            DhcpStep{e.kind, e.time, e.interface, e.clientIp, e.proxy, e.drop, e.detail});
    } else {
        ++b->droppedSteps;
    }
    b->last = std::max(b->last, e.time);
    Update u;
    u.clientKey = c.key;
    u.bootId = b->id;
    u.newClient = created;
    updates.push_back(u);
    return updates;
}

std::vector<Update> BootTracker::onTransfer(const TransferRecord& r) {
    std::vector<Update> updates;
    const auto ip = ipOf(r.clientAddr);
    const std::string mac = r.mac ? macKey(*r.mac) : std::string();
    bool created = false;
    auto& c = clientFor(r.serial, mac, ip, endOf(r), created);
    if (c.ip.empty()) {
        c.ip = ip;
    }
    // The device tree a board asks for is its own (spec §4.3 step 7, §4.4), found or not.
    if (auto m = modelFromDtb(r.requestedPath)) {
        c.board = refineModel(c.board, {*m, ModelSource::Dtb});
    }
    BootRecord* b = c.boots.empty() ? nullptr : &c.boots.back();
    if (b != nullptr) {
        const bool open = b->outcome == BootOutcome::InProgress;
        const bool tail = b->outcome == BootOutcome::KernelLoaded && b->end &&
                          r.start - *b->end < options_.afterKernel;
        if (!open && !tail) {
            b = nullptr;
        }
    }
    if (b == nullptr) {
        b = &openBoot(c, r.start, updates);
    }
    if (b->ip.empty()) {
        b->ip = ip;
    }
    if (!c.serial.empty()) {
        b->serial = c.serial;
    }
    if (b->dhcp.size() + b->files.size() < options_.maxStepsPerBoot) {
        b->files.push_back(FileStep{r.protocol, r.result, r.start, r.duration, r.requestedPath,
                                    r.bytes, r.fileSize, r.blockSize, r.detail});
    } else {
        ++b->droppedSteps;
    }
    b->last = std::max(b->last, endOf(r));

    using R = TransferRecord::Result;
    const auto base = baseName(r.requestedPath);
    Update u;
    u.clientKey = c.key;
    u.bootId = b->id;
    u.newClient = created;
    if (r.result == R::Ok) {
        if (base == b->lastErrorFile) {
            // e.g. "<serial>/start4.elf" missing, then "start4.elf" found: resolved.
            b->lastError.clear();
            b->lastErrorFile.clear();
        }
        if (b->outcome == BootOutcome::InProgress && isKernelFile(r.requestedPath)) {
            b->outcome = BootOutcome::KernelLoaded;
            b->kernelFile = r.requestedPath;
            b->end = endOf(r);
            u.bootEnded = true;
            u.outcome = b->outcome;
            u.duration = b->duration();
        }
    } else if (r.result != R::SizeQuery && !isOptionalFile(r.requestedPath)) {
        switch (r.result) {
            case R::NotFound: b->lastError = base + " not found"; break;
            case R::Timeout: b->lastError = "timeout fetching " + base; break;
            case R::Refused:
                b->lastError = base + " refused" + (r.detail.empty() ? "" : ": " + r.detail);
                break;
            case R::ClientError:
                b->lastError = "client aborted " + base + (r.detail.empty() ? "" : ": " + r.detail);
                break;
            default:
                b->lastError =
                    "server error on " + base + (r.detail.empty() ? "" : ": " + r.detail);
                break;
        }
        b->lastErrorFile = base;
    }
    updates.push_back(u);
    return updates;
}

std::vector<Update> BootTracker::tick(WallTime now) {
    std::vector<Update> updates;
    for (auto& [key, c] : clients_) {
        if (c.boots.empty()) {
            continue;
        }
        auto& b = c.boots.back();
        if (b.outcome == BootOutcome::InProgress && now - b.last >= options_.idleTimeout) {
            closeFailed(c, b,
                        failureReason(b, ("no activity for " +
                                          std::to_string(options_.idleTimeout.count()) + " s")
                                             .c_str()),
                        updates);
        }
    }
    return updates;
}

void BootTracker::trimClients() {
    while (clients_.size() > options_.maxClients) {
        auto oldest = std::min_element(clients_.begin(), clients_.end(), [](auto& a, auto& b) {
            return a.second.lastSeen < b.second.lastSeen;
        });
        const auto key = oldest->first;
        clients_.erase(oldest);
        for (auto* m : {&macToKey_, &ipToKey_}) {
            std::erase_if(*m, [&](const auto& kv) { return kv.second == key; });
        }
    }
}

std::vector<const ClientInfo*> BootTracker::clients() const {
    std::vector<const ClientInfo*> out;
    for (const auto& [k, c] : clients_) {
        out.push_back(&c);
    }
    std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->lastSeen > b->lastSeen; });
    return out;
}

const ClientInfo* BootTracker::client(const std::string& key) const {
    auto it = clients_.find(key);
    return it == clients_.end() ? nullptr : &it->second;
}

const ClientInfo* BootTracker::findClient(const std::string& id) const {
    if (const auto* c = client(id)) {
        return c;
    }
    if (const auto serial = proto::netboot::normalizeSerial(id)) {
        if (const auto* c = client(*serial)) {
            return c;
        }
    }
    if (const auto mac = macKey(id); !mac.empty()) {
        if (auto it = macToKey_.find(mac); it != macToKey_.end()) {
            return client(it->second);
        }
    }
    if (auto it = ipToKey_.find(id); it != ipToKey_.end()) {
        return client(it->second);
    }
    return nullptr;
}

std::vector<const BootRecord*> BootTracker::recentBoots(std::size_t limit) const {
    std::vector<const BootRecord*> all;
    for (const auto& [k, c] : clients_) {
        for (const auto& b : c.boots) {
            all.push_back(&b);
        }
    }
    std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->id > b->id; });
    if (all.size() > limit) {
        all.resize(limit);
    }
    return all;
}

const BootRecord* BootTracker::boot(std::uint64_t id) const {
    for (const auto& [k, c] : clients_) {
        for (const auto& b : c.boots) {
            if (b.id == id) {
                return &b;
            }
        }
    }
    return nullptr;
}

}  // namespace pinet::core::boot
