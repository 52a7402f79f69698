#include "app/serve/log_sink.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace pinet::app {

std::string describe(const core::BootEvent& event) {
    if (const auto* d = std::get_if<core::DhcpEvent>(&event)) {
        return fmt::format("dhcp {} mac={} serial={} model={} xid={:08x} ip={}{}{}",
                           core::toString(d->kind), d->mac, d->serial.value_or("-"),
                           d->model.value_or("-"), d->xid, d->clientIp.empty() ? "-" : d->clientIp,
                           d->proxy ? " proxy" : "", d->detail.empty() ? "" : " (" + d->detail + ")");
    }
    const auto& t = std::get<core::TransferRecord>(event);
    return fmt::format("{} {} {} client={} bytes={} serial={}{}",
                       t.protocol == core::TransferRecord::Protocol::Tftp ? "tftp" : "http",
                       core::toString(t.result), t.requestedPath, t.clientAddr, t.bytes,
                       t.serial.value_or("-"), t.detail.empty() ? "" : " (" + t.detail + ")");
}

void LogEventSink::onEvent(const core::BootEvent& event) {
    std::lock_guard lock(mutex_);
    spdlog::info("event: {}", describe(event));
}

}  // namespace pinet::app
