#include "core/boot_events.h"

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
        case DhcpEvent::Kind::Dropped: return "dropped";
    }
    return "unknown";
}

const char* toString(TransferRecord::Result result) {
    switch (result) {
        case TransferRecord::Result::Ok: return "ok";
        case TransferRecord::Result::Probe: return "probe";
        case TransferRecord::Result::NotFound: return "not_found";
        case TransferRecord::Result::Refused: return "refused";
        case TransferRecord::Result::Timeout: return "timeout";
        case TransferRecord::Result::ClientError: return "client_error";
        case TransferRecord::Result::ServerError: return "server_error";
    }
    return "unknown";
}

}  // namespace pinet::core
