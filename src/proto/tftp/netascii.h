#pragma once
// RFC 1350 netascii (RFC 764 NVT ASCII): a line end is CR LF and a bare CR is
// CR NUL. The server converts a whole file once (the cache keeps the result);
// clients decode received blocks with NetasciiDecoder, which keeps the one
// byte of state a CR split across two blocks needs.

#include <cstdint>
#include <span>
#include <vector>

namespace pinet::proto::tftp {

/// Local text (LF line ends) to netascii.
std::vector<std::uint8_t> encodeNetascii(std::span<const std::uint8_t> in);

/// Size encodeNetascii() would return, without building it.
std::uint64_t netasciiSize(std::span<const std::uint8_t> in);

/// Netascii to local text, fed block by block.
class NetasciiDecoder {
public:
    void feed(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out);
    /// Flushes a CR left pending at the very end of the stream.
    void finish(std::vector<std::uint8_t>& out);

private:
    bool pendingCr_ = false;
};

}  // namespace pinet::proto::tftp
