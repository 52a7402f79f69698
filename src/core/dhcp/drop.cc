#include "core/dhcp/drop.h"

namespace pinet::core::dhcp {

namespace {
using PE = proto::dhcp::ParseError;
// fromParseError is a cast: the first kParseErrorCount drops mirror ParseError one to one.
static_assert(proto::dhcp::kParseErrorCount == 8 && static_cast<int>(PE::NoMessageType) == 7);
static_assert(static_cast<int>(Drop::Truncated) == static_cast<int>(PE::Truncated) &&
                  static_cast<int>(Drop::BadMagic) == static_cast<int>(PE::BadMagic) &&
                  static_cast<int>(Drop::BadOptionLength) ==
                      static_cast<int>(PE::BadOptionLength) &&
                  static_cast<int>(Drop::MissingEnd) == static_cast<int>(PE::MissingEnd) &&
                  static_cast<int>(Drop::BadOverload) == static_cast<int>(PE::BadOverload) &&
                  static_cast<int>(Drop::BadHardware) == static_cast<int>(PE::BadHardware) &&
                  static_cast<int>(Drop::AbsurdHops) == static_cast<int>(PE::AbsurdHops) &&
                  static_cast<int>(Drop::NoMessageType) == static_cast<int>(PE::NoMessageType),
              "Drop's malformed reasons must mirror proto::dhcp::ParseError");
}  // namespace

const char* toString(Drop drop) {
    switch (drop) {
        case Drop::Truncated: return "truncated";
        case Drop::BadMagic: return "bad_magic";
        case Drop::BadOptionLength: return "bad_option_length";
        case Drop::MissingEnd: return "missing_end";
        case Drop::BadOverload: return "bad_overload";
        case Drop::BadHardware: return "bad_hardware_length";
        case Drop::AbsurdHops: return "absurd_hops";
        case Drop::NoMessageType: return "no_message_type";
        case Drop::NotRequest: return "not_request";
        case Drop::NotEthernet: return "not_ethernet";
        case Drop::IgnoredClient: return "ignored_client";
        case Drop::NotForUs: return "not_for_us";
        case Drop::ProxyNoAck: return "proxy_no_ack";
        case Drop::PoolExhausted: return "pool_exhausted";
        case Drop::UnknownRelay: return "unknown_relay";
        case Drop::OtherNode: return "other_node";
        case Drop::Count_: break;
    }
    return "unknown";
}

bool isMalformed(Drop drop) {
    return static_cast<int>(drop) <= static_cast<int>(Drop::NotEthernet);
}

Drop fromParseError(proto::dhcp::ParseError error) {
    return static_cast<Drop>(error);
}

}  // namespace pinet::core::dhcp
