#pragma once
// One blocking HTTP/1.1 GET (cpp-httplib), as the bootloader's HTTP boot does it
// (spec netboot-protocol §5): plain HTTP, no redirects followed, no compression
// asked for. Used by the probe's mode-7 boards on worker threads.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/crypto.h"

namespace pinet::io {

struct HttpGetResult {
    int status = 0;  ///< 0: no response (error says why)
    std::string error;
    std::vector<std::uint8_t> body;
    bool redirect = false;       ///< 3xx with a Location header
    bool contentLength = false;  ///< the response carried Content-Length
    std::uint64_t length = 0;    ///< body bytes received
    /// With digestOnly: the body's SHA-256, computed as it arrived (body stays empty).
    std::optional<Sha256Digest> sha256;
};

/// GET http://@p host:@p port@p path, leaving through @p interface (empty: any): an
/// interface name, or a local IPv4 address to bind (cpp-httplib takes either).
/// @p digestOnly: keep only the body's length and SHA-256, not the body (memory stays
/// bounded however large it is).
HttpGetResult httpGet(const std::string& host, std::uint16_t port, const std::string& path,
                      const std::string& interface, std::chrono::milliseconds timeout,
                      bool digestOnly = false);

}  // namespace pinet::io
