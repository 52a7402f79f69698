#include "io/net/http_get.h"

#include <httplib.h>

namespace pinet::io {

HttpGetResult httpGet(const std::string& host, std::uint16_t port, const std::string& path,
                      const std::string& interface, std::chrono::milliseconds timeout,
                      bool digestOnly) {
    HttpGetResult out;
    httplib::Client cli(host, port);
    const auto secs = static_cast<time_t>(timeout.count() / 1000);
    const auto usecs = static_cast<time_t>((timeout.count() % 1000) * 1000);
    cli.set_connection_timeout(secs, usecs);
    cli.set_read_timeout(secs, usecs);
    cli.set_follow_location(false);  // the bootloader follows no redirect (rpi-eeprom#475)
    cli.set_decompress(false);
    cli.set_keep_alive(false);
    if (!interface.empty()) {
        cli.set_interface(interface);
    }
    Sha256Stream hash;
    std::uint64_t received = 0;
    auto res =
        digestOnly
            ? cli.Get(path,
                      [&](const char* data, std::size_t n) {
                          hash.update(std::span(reinterpret_cast<const std::uint8_t*>(data), n));
                          received += n;
                          return true;
                      })
            : cli.Get(path);
    if (!res) {
        out.error = "no response: " + httplib::to_string(res.error());
        return out;
    }
    out.status = res->status;
    out.redirect = res->status >= 300 && res->status < 400 && res->has_header("Location");
    out.contentLength = res->has_header("Content-Length");
    if (digestOnly) {
        out.length = received;
        out.sha256 = hash.finish();
    } else {
        out.body.assign(res->body.begin(), res->body.end());
        out.length = out.body.size();
    }
    return out;
}

}  // namespace pinet::io
