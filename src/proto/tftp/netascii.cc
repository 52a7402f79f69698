#include "proto/tftp/netascii.h"

namespace pinet::proto::tftp {

namespace {
constexpr std::uint8_t kCr = '\r';
constexpr std::uint8_t kLf = '\n';
}  // namespace

std::uint64_t netasciiSize(std::span<const std::uint8_t> in) {
    std::uint64_t n = in.size();
    for (std::uint8_t b : in) {
        if (b == kCr || b == kLf) {
            ++n;  // LF -> CR LF, CR -> CR NUL
        }
    }
    return n;
}

std::vector<std::uint8_t> encodeNetascii(std::span<const std::uint8_t> in) {
    std::vector<std::uint8_t> out;
    out.reserve(netasciiSize(in));
    for (std::uint8_t b : in) {
        if (b == kLf) {
            out.push_back(kCr);
            out.push_back(kLf);
        } else if (b == kCr) {
            out.push_back(kCr);
            out.push_back(0);
        } else {
            out.push_back(b);
        }
    }
    return out;
}

void NetasciiDecoder::feed(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
    for (std::uint8_t b : in) {
        if (pendingCr_) {
            pendingCr_ = false;
            if (b == kLf) {
                out.push_back(kLf);
                continue;
            }
            if (b == 0) {
                out.push_back(kCr);
                continue;
            }
            out.push_back(kCr);  // a bare CR not followed by LF/NUL: keep it
        }
        if (b == kCr) {
            pendingCr_ = true;
        } else {
            out.push_back(b);
        }
    }
}

void NetasciiDecoder::finish(std::vector<std::uint8_t>& out) {
    if (pendingCr_) {
        out.push_back(kCr);
        pendingCr_ = false;
    }
}

}  // namespace pinet::proto::tftp
