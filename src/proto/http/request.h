#pragma once
// HTTP/1.1 request codec for the HTTP boot listener (RFC 9112 message syntax,
// RFC 9110 semantics): the subset the Pi bootloader and curl use. A request
// head (request line + header fields) in, a value out; a response head out.
// Pure and bounds-checked over std::span: no sockets, no clock, no
// exceptions; every malformed input is a RequestError value with the status
// code the server answers it with. Request bodies are not parsed (a GET has
// none); the server discards a small one by its Content-Length.
//
// Fuzzed by fuzz/fuzz_http_request.cc; used by io/net/http_file_server.cc.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace pinet::proto::http {

/// Longest request head (request line + headers + blank line) we buffer. The
/// Pi bootloader sends about 150 bytes and curl about 100; 8 KiB is what
/// cpp-httplib (the previous server) and common servers allow. A head that
/// does not end within it is answered 431 (414 if the request line alone does
/// not fit) and the connection closed.
inline constexpr std::size_t kMaxRequestHead = 8192;
/// Header fields per request. curl and the Pi send under 10; a bound keeps a
/// head of 8 KiB of one-byte fields cheap. Past it: 431.
inline constexpr std::size_t kMaxHeaderFields = 100;

enum class Method { Get, Head, Other };

/// One parsed request head. Strings are copies: the input buffer may be reused.
struct Request {
    Method method = Method::Other;
    std::string methodName;  ///< as sent (a token, RFC 9110 9.1)
    /// The path of the request target, percent-decoded (any byte, including NUL,
    /// may result: the caller's path rule decides), query removed. Absolute-form
    /// targets (RFC 9112 3.2.2) are reduced to their path.
    std::string path;
    int minorVersion = 1;  ///< HTTP/1.<minorVersion>: 0 or 1
    /// Whether the client lets the connection stay open after the response:
    /// HTTP/1.1 unless "Connection: close"; HTTP/1.0 never (we do not do its
    /// keep-alive extension).
    bool keepAlive = true;
    std::optional<std::string> range;  ///< the Range field value, if sent once
    std::optional<std::string> host;   ///< the Host field value, if sent
    std::uint64_t contentLength = 0;   ///< request body bytes that follow the head
    std::size_t headerCount = 0;
};

enum class RequestError {
    BadRequestLine,       ///< not "method SP target SP HTTP/x.y" (400)
    BadTarget,            ///< target not origin-/absolute-form, bad byte or %-escape (400)
    VersionNotSupported,  ///< HTTP/x.y other than 1.0 and 1.1 (505)
    BadHeader,            ///< field without ':', space before ':', obs-fold, control byte (400)
    BadContentLength,     ///< not digits, too large, or two different values (400)
    TransferEncoding,     ///< a request body in a transfer coding: not implemented (501)
    UriTooLong,           ///< the request line alone exceeds kMaxRequestHead (414)
    HeadTooLarge,         ///< the head exceeds kMaxRequestHead or kMaxHeaderFields (431)
};

/// The status code a server answers @p e with.
int statusFor(RequestError e);
/// Short stable name for logs ("bad_request_line", ...).
const char* toString(RequestError e);

/// Finds where a request head ends in a buffer that grows between calls, without
/// scanning a byte twice: a client trickling its head a byte at a time must not
/// cost the server O(n^2). Empty lines before the request line are skipped
/// (RFC 9112 2.2). Lines end in CRLF or a bare LF (RFC 9112 2.2 allows a
/// recipient to accept LF alone).
class HeadScanner {
public:
    /// @p buf is the whole buffer so far (the bytes seen before must be its
    /// prefix, unchanged). Returns the head's length (through its blank line)
    /// once complete.
    std::optional<std::size_t> scan(std::span<const std::uint8_t> buf);
    /// For a new head at the start of a new buffer.
    void reset() { *this = HeadScanner(); }
    /// Whether the request line is complete (a head over the limit without it is 414).
    [[nodiscard]] bool sawRequestLine() const { return requestLineEnd_.has_value(); }
    /// Where the request line ends (just past its LF), once seen.
    [[nodiscard]] std::optional<std::size_t> requestLineEnd() const { return requestLineEnd_; }

private:
    std::size_t pos_ = 0;        ///< next byte to look at
    std::size_t lineStart_ = 0;  ///< where the current line began
    std::optional<std::size_t> requestLineEnd_;
    std::optional<std::size_t> end_;
};

/// Parses one complete head (as delimited by HeadScanner, leading empty lines
/// allowed). Header field names are matched case-insensitively; unknown fields
/// are checked for syntax and otherwise ignored.
tl::expected<Request, RequestError> parseRequest(std::span<const std::uint8_t> head);

/// A single satisfiable byte range [first, last] of a representation.
struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;  ///< inclusive
    bool operator==(const ByteRange&) const = default;
};

/// What a Range field value asks of a representation of @p size bytes (RFC 9110 14).
struct RangeAnswer {
    enum class Kind {
        Whole,          ///< ignore the field: 200 with everything
        Partial,        ///< 206 with `range`
        Unsatisfiable,  ///< 416 with Content-Range: bytes */size
    };
    Kind kind = Kind::Whole;
    ByteRange range;
};

/// One "bytes=" range (first-last, first-, or -suffix) is served; anything the
/// server may ignore (RFC 9110 14.2) is ignored: other units, bad syntax, and
/// several ranges (multipart/byteranges is more than a boot client needs; the
/// whole file is a valid answer).
RangeAnswer answerRange(std::string_view value, std::uint64_t size);

/// RFC 9110 15 reason phrase ("OK", "Not Found"); "Unknown" for codes not used here.
std::string_view reasonPhrase(int status);

/// "HTTP/1.1 <status> <reason>\r\n" + "name: value\r\n" per field + "\r\n". Field
/// names and values are the server's own constants and numbers, never client text.
std::string responseHead(int status,
                         std::span<const std::pair<std::string_view, std::string>> fields);

}  // namespace pinet::proto::http
