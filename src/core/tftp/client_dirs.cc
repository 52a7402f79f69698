#include "core/tftp/client_dirs.h"

#include "proto/netboot/ids.h"

namespace pinet::core::tftp {

const char* toString(PathError e) {
    switch (e) {
        case PathError::Empty: return "empty path";
        case PathError::Absolute: return "absolute path";
        case PathError::Backslash: return "backslash in path";
        case PathError::Nul: return "NUL in path";
        case PathError::ControlChar: return "control character in path";
        case PathError::DotDot: return "'..' in path";
        case PathError::TooLong: return "path too long";
    }
    return "?";
}

tl::expected<std::string, PathError> sanitizePath(std::string_view requested) {
    if (requested.empty()) {
        return tl::unexpected(PathError::Empty);
    }
    if (requested.size() > kMaxPathLength) {
        return tl::unexpected(PathError::TooLong);
    }
    if (requested.front() == '/') {
        return tl::unexpected(PathError::Absolute);
    }
    for (char c : requested) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\\') {
            return tl::unexpected(PathError::Backslash);
        }
        if (u == 0) {
            return tl::unexpected(PathError::Nul);
        }
        if (u < 0x20 || u == 0x7f) {
            return tl::unexpected(PathError::ControlChar);
        }
    }
    std::string out;
    out.reserve(requested.size());
    std::size_t pos = 0;
    while (pos <= requested.size()) {
        std::size_t slash = requested.find('/', pos);
        if (slash == std::string_view::npos) {
            slash = requested.size();
        }
        std::string_view comp = requested.substr(pos, slash - pos);
        pos = slash + 1;
        if (comp.empty() || comp == ".") {
            continue;
        }
        if (comp == "..") {
            return tl::unexpected(PathError::DotDot);
        }
        if (!out.empty()) {
            out.push_back('/');
        }
        out.append(comp);
    }
    if (out.empty()) {
        return tl::unexpected(PathError::Empty);
    }
    return out;
}

// Spec 4.2: TFTP_PREFIX=0 is the serial as 8 hex digits; TFTP_PREFIX=2 the dashed MAC.
std::optional<std::string> parseSerialPrefix(std::string_view component) {
    return proto::netboot::parseSerialDir(component);
}

std::optional<std::string> parseMacPrefix(std::string_view component) {
    return proto::netboot::parseMacDir(component);
}

tl::expected<MappedPath, PathError> mapRequest(std::string_view requested,
                                               const ClientDirectoryResolver* resolver,
                                               std::string_view defaultDir) {
    auto clean = sanitizePath(requested);
    if (!clean) {
        return tl::unexpected(clean.error());
    }
    MappedPath out;
    out.path = *clean;
    std::size_t slash = clean->find('/');
    if (slash == std::string::npos) {
        return out;  // no prefix: the file is relative to the root
    }
    std::string_view first = std::string_view(*clean).substr(0, slash);
    std::string_view rest = std::string_view(*clean).substr(slash + 1);
    std::optional<std::string> dir;
    if (auto serial = parseSerialPrefix(first)) {
        out.serial = *serial;
        if (resolver != nullptr) {
            dir = resolver->directoryForSerial(*serial);
        }
    } else if (auto mac = parseMacPrefix(first)) {
        out.mac = *mac;
        if (resolver != nullptr) {
            dir = resolver->directoryForMac(*mac);
        }
    } else {
        return out;  // an ordinary sub-directory
    }
    if (dir) {
        // Trust, but verify: a resolver answer goes through the same checks.
        auto cleanDir = sanitizePath(*dir);
        if (cleanDir) {
            out.path = *cleanDir + "/" + std::string(rest);
            return out;
        }
    }
    out.unknownClient = true;
    if (!defaultDir.empty()) {
        out.usedDefault = true;
        out.path = std::string(defaultDir) + "/" + std::string(rest);
    }
    if (out.path.size() > kMaxPathLength * 2) {
        return tl::unexpected(PathError::TooLong);
    }
    return out;
}

bool UnknownClientLog::record(std::string_view id, bool isMac, std::string_view sourceAddr,
                              WallTime now) {
    auto it = entries_.find(id);
    if (it != entries_.end()) {
        it->second.sourceAddr = std::string(sourceAddr);
        it->second.lastSeen = now;
        ++it->second.requests;
        return false;
    }
    if (entries_.size() >= max_) {
        ++dropped_;
        return false;
    }
    Entry e{std::string(id), isMac, std::string(sourceAddr), now, now, 1};
    entries_.emplace(e.id, e);
    return true;
}

std::vector<UnknownClientLog::Entry> UnknownClientLog::entries() const {
    std::vector<Entry> out;
    out.reserve(entries_.size());
    for (const auto& [k, v] : entries_) {
        out.push_back(v);
    }
    return out;
}

}  // namespace pinet::core::tftp
