// Fuzz target: the HTTP boot listener's request codec (proto/http/request.h),
// the first code that reads bytes from the boot LAN over TCP. The input is fed
// to HeadScanner in chunks whose sizes come from the input itself, and must
// give the same head end as one scan of the whole; a found head is parsed and
// the result checked (a path that starts with '/', version 1.0 or 1.1, a
// status for every error); a Range value from the request, or the input's
// tail, is answered for a size from the input and must lie inside it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "proto/http/request.h"

namespace {

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

using namespace pinet::proto::http;

void checkRange(std::string_view value, std::uint64_t size) {
    const auto a = answerRange(value, size);
    if (a.kind == RangeAnswer::Kind::Partial) {
        check(size > 0 && a.range.first <= a.range.last && a.range.last < size);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    HeadScanner whole;
    const auto end = whole.scan(in);
    // Chunks of 1..16 bytes, their sizes taken from the data itself.
    HeadScanner chunked;
    std::optional<std::size_t> end2;
    for (std::size_t n = 0; n < size && !end2;) {
        n = std::min(size, n + 1 + (data[n] & 15u));
        end2 = chunked.scan(in.first(n));
    }
    check(end == end2);
    std::uint64_t fileSize = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) {
        fileSize = (fileSize << 8) | data[i];
    }
    fileSize %= (std::uint64_t{1} << 40);
    if (!end) {
        checkRange(std::string_view(reinterpret_cast<const char*>(data), size), fileSize);
        return 0;
    }
    check(*end <= size && *end >= 2);
    const auto req = parseRequest(in.first(*end));
    if (!req) {
        const int status = statusFor(req.error());
        check(status >= 400 && status < 600 && reasonPhrase(status) != "Unknown");
        return 0;
    }
    check(!req->path.empty() && req->path.front() == '/');
    check(req->minorVersion == 0 || req->minorVersion == 1);
    check(req->minorVersion == 1 || !req->keepAlive);
    check(req->headerCount <= kMaxHeaderFields);
    check((req->method == Method::Get) == (req->methodName == "GET"));
    if (req->range) {
        checkRange(*req->range, fileSize);
    }
    return 0;
}
