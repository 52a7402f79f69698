// Fuzz target: the DHCP packet parser and the whole responder policy (both modes) on
// untrusted datagrams, plus the PXE option 43 / option 97 parsers on every option found.

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/dhcp/dhcp_responder.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/dhcp/pxe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace d = pinet::proto::dhcp;
    namespace cd = pinet::core::dhcp;
    const std::span<const std::uint8_t> in(data, size);
    auto p = d::parse(in);
    if (p) {
        for (const auto& o : p->options) {
            (void)d::parsePxeVendorOptions(o.data);
            (void)d::parsePiGuid(o.data);
        }
        // Re-encoding a parsed packet must parse again.
        if (!d::parse(d::serialize(*p))) {
            __builtin_trap();
        }
    }
    static cd::DhcpResponder proxy(
        [] {
            cd::ResponderConfig c;
            c.serverIp = 0x0a630001;
            c.pxeBootfile = "boot.ipxe";
            return c;
        }(),
        nullptr);
    static cd::DhcpResponder full(
        [] {
            cd::ResponderConfig c;
            c.mode = cd::Mode::Full;
            c.serverIp = 0x0a630001;
            c.pool.first = 0x0a630064;
            c.pool.last = 0x0a630070;
            c.pool.reservations.push_back({std::nullopt, std::string("1234abcd"), 0x0a630005});
            return c;
        }(),
        nullptr);
    const auto now = pinet::core::WallTime(std::chrono::seconds(1'800'000'000));
    (void)proxy.handle(in, "fuzz0", now);
    (void)full.handle(in, "fuzz0", now);
    return 0;
}
