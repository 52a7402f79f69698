#include "core/boot_events.h"

#include <fmt/format.h>

namespace pinet::core {

const char* toString(DhcpEvent::Kind kind) {
    switch (kind) {
        case DhcpEvent::Kind::Discover: return "discover";
        case DhcpEvent::Kind::Offer: return "offer";
        case DhcpEvent::Kind::Request: return "request";
        case DhcpEvent::Kind::Ack: return "ack";
        case DhcpEvent::Kind::Nak: return "nak";
        case DhcpEvent::Kind::Release: return "release";
        case DhcpEvent::Kind::Decline: return "decline";
        case DhcpEvent::Kind::Inform: return "inform";
    }
    return "unknown";
}

const char* toString(TransferRecord::Result result) {
    switch (result) {
        case TransferRecord::Result::Ok: return "ok";
        // The wire name stays "probe" for API, metrics and dashboard stability.
        case TransferRecord::Result::SizeQuery: return "probe";
        case TransferRecord::Result::NotFound: return "not_found";
        case TransferRecord::Result::Refused: return "refused";
        case TransferRecord::Result::Timeout: return "timeout";
        case TransferRecord::Result::ClientError: return "client_error";
        case TransferRecord::Result::ServerError: return "server_error";
    }
    return "unknown";
}

const char* toString(TransferRecord::Protocol protocol) {
    return protocol == TransferRecord::Protocol::Http ? "http" : "tftp";
}

std::string describe(const BootEvent& event) {
    if (const auto* d = std::get_if<DhcpEvent>(&event)) {
        // A drop's reason is already in the detail ("no reply: ignored_client").
        return fmt::format("dhcp {} mac={} serial={} model={} xid={:08x} ip={}{}{}",
                           toString(d->kind), d->mac, d->serial.value_or("-"),
                           d->model.value_or("-"), d->xid, d->clientIp.empty() ? "-" : d->clientIp,
                           d->proxy ? " proxy" : "",
                           d->detail.empty() ? "" : " (" + d->detail + ")");
    }
    const auto& t = std::get<TransferRecord>(event);
    return fmt::format("{} {} {} client={} bytes={} serial={}{}", toString(t.protocol),
                       toString(t.result), t.requestedPath, t.clientAddr, t.bytes,
                       t.serial.value_or("-"), t.detail.empty() ? "" : " (" + t.detail + ")");
}

}  // namespace pinet::core
