#include "core/usbboot/session.h"

#include <fmt/format.h>

namespace pinet::core::usbboot {

namespace pu = proto::usbboot;

namespace {

std::string describe(const UsbError& e) {
    if (e.message.empty()) {
        return usbStatusName(e.status);
    }
    return fmt::format("{} ({})", e.message, usbStatusName(e.status));
}

bool isGone(const UsbError& e) {
    return e.status == UsbStatus::NoDevice || e.status == UsbStatus::Io;
}

}  // namespace

RomResult runRomStage(UsbTransport& t, std::span<const std::uint8_t> secondStage,
                      const PauseFn& pause) {
    RomResult res;
    if (secondStage.empty() || secondStage.size() > pu::kMaxFileSize) {
        res.error = fmt::format("second stage size {} is not usable", secondStage.size());
        return res;
    }
    const auto msg = pu::encodeBootMessage(static_cast<std::uint32_t>(secondStage.size()));
    auto w = writeMessage(t, msg);
    if (!w.complete(msg.size())) {
        res.error = w.error ? "boot message: " + describe(*w.error)
                            : fmt::format("boot message: device took {} of 24 bytes", w.sent);
        return res;
    }
    w = writeMessage(t, secondStage);
    if (!w.complete(secondStage.size())) {
        res.error = fmt::format("second stage: sent {} of {} bytes{}", w.sent, secondStage.size(),
                                w.error ? ": " + describe(*w.error) : std::string());
        return res;
    }
    if (pause) {
        pause(kRomResultDelay);
    }
    auto r = t.controlIn(4, kControlInTimeout);
    if (!r) {
        if (isGone(r.error())) {
            // Already re-enumerating as the second stage: nothing to read.
            res.ok = true;
            return res;
        }
        res.error = "reading the boot result: " + describe(r.error());
        return res;
    }
    if (r->size() >= 4) {
        const auto& b = *r;
        res.deviceResult =
            static_cast<std::int32_t>(std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 |
                                      std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24);
    }
    res.ok = true;
    return res;
}

bool isRefusedName(std::string_view name) {
    return name.find("..") != std::string_view::npos;
}

std::vector<std::string> lookupCandidates(std::string_view name, std::string_view prefix,
                                          std::string_view usbPath) {
    std::vector<std::string> out;
    if (isRefusedName(name)) {
        return out;
    }
    while (!name.empty() && name.front() == '/') {
        name.remove_prefix(1);
    }
    if (name.empty()) {
        return out;
    }
    const bool isBootcode = name.substr(0, 8) == "bootcode" && name.size() > 4 &&
                            name.substr(name.size() - 4) == ".bin";
    if (!usbPath.empty() && !isBootcode) {
        out.push_back(fmt::format("{}/{}", usbPath, name));
    }
    if (!prefix.empty()) {
        out.push_back(fmt::format("{}/{}", prefix, name));
    }
    out.emplace_back(name);
    return out;
}

Result<std::shared_ptr<const BootfilesArchive>> loadBootfiles(
    std::shared_ptr<const std::vector<std::uint8_t>> data) {
    if (!data) {
        return fail("bootfiles.bin: no data");
    }
    auto members = pu::indexTar(*data);
    if (!members) {
        return fail("bootfiles.bin: " + members.error().message);
    }
    auto archive = std::make_shared<BootfilesArchive>();
    archive->data = std::move(data);
    archive->members = std::move(*members);
    return std::shared_ptr<const BootfilesArchive>(std::move(archive));
}

std::optional<ServedFile> LookupFileProvider::open(std::string_view name) {
    if (bootfiles_ && !isRefusedName(name)) {
        std::string_view bare = name;
        while (!bare.empty() && bare.front() == '/') {
            bare.remove_prefix(1);
        }
        const std::string rel = fmt::format("{}/{}", prefix_, bare);
        if (auto f = fs_.read(rel)) {
            return f;
        }
        if (const auto* m = pu::findTarMember(bootfiles_->members, rel)) {
            const auto& d = *bootfiles_->data;
            auto bytes = std::make_shared<const std::vector<std::uint8_t>>(
                d.begin() + static_cast<long>(m->offset),
                d.begin() + static_cast<long>(m->offset + m->size));
            return ServedFile{"bootfiles.bin:" + m->name, std::move(bytes)};
        }
    }
    for (const auto& rel : lookupCandidates(name, prefix_, usbPath_)) {
        if (auto f = fs_.read(rel)) {
            return f;
        }
    }
    return std::nullopt;
}

const char* serverEndName(ServerEnd e) {
    switch (e) {
        case ServerEnd::Done: return "done";
        case ServerEnd::EmptyName: return "empty-name";
        case ServerEnd::Disconnected: return "disconnected";
        case ServerEnd::Failed: return "failed";
    }
    return "failed";
}

const SentFile* FileServerResult::sentFile(std::string_view name) const {
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
        if (it->name == name && it->complete) {
            return &*it;
        }
    }
    return nullptr;
}

std::optional<std::string> FileServerResult::metadataValue(std::string_view key) const {
    for (auto it = metadata.rbegin(); it != metadata.rend(); ++it) {
        if (it->key == key) {
            return it->value;
        }
    }
    return std::nullopt;
}

FileServerResult serveFiles(UsbTransport& t, FileProvider& files, const FileServerOptions& options,
                            FileServerObserver* observer, const PauseFn& pause) {
    FileServerResult res;
    // From the last GetFileSize (spec 2.5 step 5).
    std::shared_ptr<const std::vector<std::uint8_t>> open;
    std::string openName;
    int failedReads = 0;

    auto finish = [&res](ServerEnd end, std::string error = {}) {
        res.end = end;
        res.error = std::move(error);
        return res;
    };
    // The generic ACK/NAK: a control OUT announcing 0 bytes (spec 2.3).
    auto zeroLengthWrite = [&t]() -> std::optional<UsbError> {
        auto r = t.controlOut(0, kControlOutTimeout);
        if (!r) {
            return r.error();
        }
        return std::nullopt;
    };
    auto ackFailed = [&](const UsbError& e, const std::string& what) {
        if (isGone(e)) {
            return finish(ServerEnd::Disconnected);
        }
        return finish(ServerEnd::Failed, what + ": " + describe(e));
    };

    for (;;) {
        if (res.requests >= options.maxRequests) {
            return finish(ServerEnd::Failed,
                          fmt::format("device sent more than {} requests", options.maxRequests));
        }
        auto raw = t.controlIn(static_cast<std::uint16_t>(pu::kRequestSize), kControlInTimeout);
        if (!raw) {
            if (isGone(raw.error())) {
                return finish(ServerEnd::Disconnected);
            }
            ++failedReads;
            ++res.readRetries;
            if (failedReads > options.maxReadRetries) {
                return finish(ServerEnd::Failed,
                              fmt::format("device stopped sending requests: {} after {} tries",
                                          describe(raw.error()), failedReads));
            }
            if (pause) {
                pause(options.retryPause);
            }
            continue;
        }
        failedReads = 0;
        auto req = pu::decodeFileRequest(*raw);
        if (!req) {
            ++res.badRequests;
            if (res.badRequests > options.maxBadRequests) {
                return finish(
                    ServerEnd::Failed,
                    fmt::format("device sent {} undecodable requests (last: {}, {} bytes)",
                                res.badRequests, pu::requestErrorName(req.error()), raw->size()));
            }
            // Answer like a missing file so the device is not left waiting.
            if (auto e = zeroLengthWrite()) {
                return ackFailed(*e, "answering an undecodable request");
            }
            continue;
        }
        ++res.requests;
        if (observer != nullptr) {
            observer->onRequest(*req);
        }
        if (req->name.empty()) {
            if (auto e = zeroLengthWrite()) {
                return ackFailed(*e, "answering the final request");
            }
            return finish(ServerEnd::EmptyName);
        }
        if (pu::isMetadataRequest(*req)) {
            if (auto m = pu::parseMetadata(req->name)) {
                if (observer != nullptr) {
                    observer->onMetadata(*m);
                }
                res.metadata.push_back(std::move(*m));
            } else {
                ++res.malformedMetadata;
            }
            if (auto e = zeroLengthWrite()) {
                return ackFailed(*e, "acknowledging metadata");
            }
            continue;
        }
        switch (req->command) {
            case static_cast<std::int32_t>(pu::Command::GetFileSize): {
                open.reset();
                openName.clear();
                std::shared_ptr<const std::vector<std::uint8_t>> data;
                if (auto f = files.open(req->name); f.has_value()) {
                    data = f->data;
                }
                if (data && data->size() > pu::kMaxFileSize) {
                    data.reset();  // cannot be described by an int32 size (spec 2.5)
                }
                if (observer != nullptr) {
                    observer->onFileSize(
                        req->name, data ? std::optional<std::size_t>(data->size()) : std::nullopt);
                }
                if (!data) {
                    res.missing.push_back(req->name);
                    if (auto e = zeroLengthWrite()) {
                        return ackFailed(*e, "answering GetFileSize " + req->name);
                    }
                    break;
                }
                auto r = t.controlOut(static_cast<std::uint32_t>(data->size()), kControlOutTimeout);
                if (!r) {
                    return finish(ServerEnd::Failed, fmt::format("sending the size of {}: {}",
                                                                 req->name, describe(r.error())));
                }
                open = std::move(data);
                openName = req->name;
                break;
            }
            case static_cast<std::int32_t>(pu::Command::ReadFile): {
                if (!open) {
                    if (auto e = zeroLengthWrite()) {
                        return ackFailed(*e, "answering ReadFile " + req->name);
                    }
                    break;
                }
                const auto& data = *open;
                SentFile sf{openName, data.size(), 0, false};
                auto w = writeMessage(t, data, [&](std::size_t sent) {
                    if (observer != nullptr) {
                        observer->onProgress(sf.name, sent, data.size());
                    }
                });
                sf.sent = w.sent;
                sf.complete = w.complete(data.size());
                res.files.push_back(sf);
                open.reset();
                if (!sf.complete) {
                    std::string why = w.error ? describe(*w.error) : "device took fewer bytes";
                    if (w.error && w.error->status == UsbStatus::NoDevice) {
                        why = "device disconnected";
                    }
                    return finish(ServerEnd::Failed,
                                  fmt::format("sending {}: {} after {} of {} bytes", sf.name, why,
                                              sf.sent, sf.size));
                }
                if (observer != nullptr) {
                    observer->onFileSent(sf.name, sf.size);
                }
                break;
            }
            case static_cast<std::int32_t>(pu::Command::Done): return finish(ServerEnd::Done);
            default:
                return finish(ServerEnd::Failed, fmt::format("unknown command {} (name \"{}\")",
                                                             req->command, req->name));
        }
    }
}

}  // namespace pinet::core::usbboot
