#include "io/net/http_get.h"

#include <httplib.h>

namespace pinet::io {

HttpGetResult httpGet(const std::string& host, std::uint16_t port, const std::string& path,
                      const std::string& interface, std::chrono::milliseconds timeout) {
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
    auto res = cli.Get(path);
    if (!res) {
        out.error = "no response: " + httplib::to_string(res.error());
        return out;
    }
    out.status = res->status;
    out.redirect = res->status >= 300 && res->status < 400 && res->has_header("Location");
    out.contentLength = res->has_header("Content-Length");
    out.body.assign(res->body.begin(), res->body.end());
    return out;
}

}  // namespace pinet::io
