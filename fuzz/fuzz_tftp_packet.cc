// Fuzzes the TFTP packet parser (every datagram on port 69 reaches it) and
// checks that whatever it accepts re-encodes to something it parses again.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "proto/tftp/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pinet::proto::tftp;
    auto p = parse(std::span<const std::uint8_t>(data, size));
    if (!p) {
        (void)toString(p.error());
        return 0;
    }
    if (auto* req = std::get_if<Request>(&*p)) {
        auto opts = interpretOptions(req->options);
        if (opts.blksize && (*opts.blksize < kMinBlockSize || *opts.blksize > kMaxBlockSize)) {
            std::abort();
        }
        auto again = parse(buildRequest(*req));
        if (!again || !(std::get<Request>(*again) == *req)) {
            std::abort();
        }
    } else if (auto* oack = std::get_if<Oack>(&*p)) {
        auto again = parse(buildOack(oack->options));
        if (!again || !(std::get<Oack>(*again) == *oack)) {
            std::abort();
        }
    }
    return 0;
}
