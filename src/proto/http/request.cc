#include "proto/http/request.h"

#include "proto/hex.h"

#include <algorithm>
#include <limits>

#include "proto/byte_reader.h"

namespace pinet::proto::http {

namespace {

constexpr std::uint8_t kCr = '\r';
constexpr std::uint8_t kLf = '\n';

/// RFC 9110 5.6.2 tchar.
bool isTchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), isTchar);
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trimOws(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// Decimal digits into a uint64; nullopt on anything else or overflow.
std::optional<std::uint64_t> parseDecimal(std::string_view s) {
    if (s.empty() || s.size() > 19) {  // 19 digits always fit in 64 bits
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

/// The path of a request target (RFC 9112 3.2): origin-form "/p?q" or
/// absolute-form "http://authority/p?q"; visible ASCII only; %XX decoded.
tl::expected<std::string, RequestError> targetPath(std::string_view target) {
    for (const char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return tl::unexpected(RequestError::BadTarget);
        }
    }
    if (target.empty()) {
        return tl::unexpected(RequestError::BadTarget);
    }
    if (target.front() != '/') {
        // RFC 9112 3.2.2: a server MUST accept the absolute form.
        constexpr std::string_view kScheme = "http://";
        if (target.size() < kScheme.size() || !iequals(target.substr(0, kScheme.size()), kScheme)) {
            return tl::unexpected(RequestError::BadTarget);
        }
        target.remove_prefix(kScheme.size());
        const auto slash = target.find_first_of("/?");
        if (slash == 0) {
            return tl::unexpected(RequestError::BadTarget);  // no authority
        }
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
        if (target.front() == '?') {
            target = "/";
        }
    }
    target = target.substr(0, target.find('?'));
    std::string path;
    path.reserve(target.size());
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (target[i] != '%') {
            path.push_back(target[i]);
            continue;
        }
        if (i + 2 >= target.size()) {  // '%' needs two hex digits after it
            return tl::unexpected(RequestError::BadTarget);
        }
        const int hi = proto::hexDigitValue(target[i + 1]);
        const int lo = proto::hexDigitValue(target[i + 2]);
        if (hi < 0 || lo < 0) {
            return tl::unexpected(RequestError::BadTarget);
        }
        path.push_back(static_cast<char>(static_cast<unsigned char>(hi * 16 + lo)));
        i += 2;
    }
    return path;
}

/// Whether a comma-separated field value (RFC 9110 5.6.1) lists @p token.
bool listHas(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        if (iequals(trimOws(value.substr(0, comma)), token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

int statusFor(RequestError e) {
    switch (e) {
        case RequestError::VersionNotSupported: return 505;
        case RequestError::TransferEncoding: return 501;
        case RequestError::UriTooLong: return 414;
        case RequestError::HeadTooLarge: return 431;
        case RequestError::BadRequestLine:
        case RequestError::BadTarget:
        case RequestError::BadHeader:
        case RequestError::BadContentLength: break;
    }
    return 400;
}

const char* toString(RequestError e) {
    switch (e) {
        case RequestError::BadRequestLine: return "bad_request_line";
        case RequestError::BadTarget: return "bad_target";
        case RequestError::VersionNotSupported: return "version_not_supported";
        case RequestError::BadHeader: return "bad_header";
        case RequestError::BadContentLength: return "bad_content_length";
        case RequestError::TransferEncoding: return "transfer_encoding";
        case RequestError::UriTooLong: return "uri_too_long";
        case RequestError::HeadTooLarge: return "head_too_large";
    }
    return "unknown";
}

std::optional<std::size_t> HeadScanner::scan(std::span<const std::uint8_t> buf) {
    if (end_) {
        return end_;
    }
    for (; pos_ < buf.size(); ++pos_) {
        if (buf[pos_] != kLf) {
            continue;
        }
        // The line is [lineStart_, pos_), less a CR before the LF.
        const std::size_t len = pos_ - lineStart_;
        const bool empty = len == 0 || (len == 1 && buf[lineStart_] == kCr);
        lineStart_ = pos_ + 1;
        if (!empty) {
            if (!requestLineEnd_) {
                requestLineEnd_ = pos_ + 1;
            }
        } else if (requestLineEnd_) {
            end_ = pos_ + 1;
            ++pos_;
            return end_;
        }
    }
    return std::nullopt;
}

tl::expected<Request, RequestError> parseRequest(std::span<const std::uint8_t> head) {
    const std::string_view text = asText(head);
    // Split into lines (CRLF or LF); a CR anywhere else is a control byte and refused below.
    std::size_t pos = 0;
    auto nextLine = [&]() -> std::optional<std::string_view> {
        if (pos >= text.size()) {
            return std::nullopt;
        }
        const auto lf = text.find('\n', pos);
        if (lf == std::string_view::npos) {
            return std::nullopt;  // not a complete head
        }
        auto line = text.substr(pos, lf - pos);
        pos = lf + 1;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        return line;
    };
    std::optional<std::string_view> line;
    do {  // RFC 9112 2.2: empty lines before the request line are ignored
        line = nextLine();
    } while (line && line->empty());
    if (!line) {
        return tl::unexpected(RequestError::BadRequestLine);
    }
    if (line->size() > kMaxRequestHead) {
        return tl::unexpected(RequestError::UriTooLong);
    }

    // RFC 9112 3: request-line = method SP request-target SP HTTP-version (single spaces).
    Request req;
    const auto sp1 = line->find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line->find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line->find(' ', sp2 + 1) != std::string_view::npos) {
        return tl::unexpected(RequestError::BadRequestLine);
    }
    const auto method = line->substr(0, sp1);
    const auto target = line->substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line->substr(sp2 + 1);
    if (!isToken(method)) {
        return tl::unexpected(RequestError::BadRequestLine);
    }
    // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive).
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
        return tl::unexpected(RequestError::BadRequestLine);
    }
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
        return tl::unexpected(RequestError::VersionNotSupported);
    }
    req.minorVersion = version[7] - '0';
    req.methodName = std::string(method);
    // RFC 9110 9.1: methods are case-sensitive.
    req.method = method == "GET" ? Method::Get : method == "HEAD" ? Method::Head : Method::Other;
    auto path = targetPath(target);
    if (!path) {
        return tl::unexpected(path.error());
    }
    req.path = std::move(*path);

    bool sawContentLength = false;
    bool connectionClose = false;
    std::size_t rangeFields = 0;
    while (auto field = nextLine()) {
        if (field->empty()) {
            break;  // the blank line that ends the head
        }
        if (++req.headerCount > kMaxHeaderFields) {
            return tl::unexpected(RequestError::HeadTooLarge);
        }
        // RFC 9112 5.2: obs-fold may be refused with 400; 5.1: no space before ':'.
        if (field->front() == ' ' || field->front() == '\t') {
            return tl::unexpected(RequestError::BadHeader);
        }
        const auto colon = field->find(':');
        if (colon == std::string_view::npos || !isToken(field->substr(0, colon))) {
            return tl::unexpected(RequestError::BadHeader);
        }
        const auto name = field->substr(0, colon);
        const auto value = trimOws(field->substr(colon + 1));
        // RFC 9110 5.5: field values are VCHAR, SP, HTAB and obs-text; never CR, LF or NUL.
        for (const char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f) {
                return tl::unexpected(RequestError::BadHeader);
            }
        }
        if (iequals(name, "Content-Length")) {
            const auto n = parseDecimal(value);
            // RFC 9112 6.3: an invalid or conflicting Content-Length is unrecoverable.
            if (!n || (sawContentLength && *n != req.contentLength)) {
                return tl::unexpected(RequestError::BadContentLength);
            }
            sawContentLength = true;
            req.contentLength = *n;
        } else if (iequals(name, "Transfer-Encoding")) {
            // RFC 9112 6.1: a server that does not understand the coding SHOULD answer
            // 501. We read no request bodies but by Content-Length, so none is understood.
            return tl::unexpected(RequestError::TransferEncoding);
        } else if (iequals(name, "Connection")) {
            connectionClose = connectionClose || listHas(value, "close");
        } else if (iequals(name, "Range")) {
            ++rangeFields;
            req.range = std::string(value);
        } else if (iequals(name, "Host")) {
            req.host = std::string(value);
        }
    }
    if (rangeFields > 1) {
        req.range.reset();  // ambiguous: ignored, as the field may be (RFC 9110 14.2)
    }
    req.keepAlive = req.minorVersion == 1 && !connectionClose;
    return req;
}

RangeAnswer answerRange(std::string_view value, std::uint64_t size) {
    RangeAnswer whole;
    constexpr std::string_view kUnit = "bytes=";
    value = trimOws(value);
    if (value.size() < kUnit.size() || !iequals(value.substr(0, kUnit.size()), kUnit)) {
        return whole;  // another unit, or not a range
    }
    value.remove_prefix(kUnit.size());
    if (value.find(',') != std::string_view::npos) {
        return whole;  // several ranges: the whole file answers them all
    }
    value = trimOws(value);
    const auto dash = value.find('-');
    if (dash == std::string_view::npos) {
        return whole;
    }
    const auto firstText = value.substr(0, dash);
    const auto lastText = value.substr(dash + 1);
    RangeAnswer a;
    a.kind = RangeAnswer::Kind::Partial;
    if (firstText.empty()) {
        // RFC 9110 14.1.3: suffix-range "-N", the last N bytes.
        const auto n = parseDecimal(lastText);
        if (!n) {
            return whole;
        }
        if (*n == 0 || size == 0) {
            a.kind = RangeAnswer::Kind::Unsatisfiable;
            return a;
        }
        a.range = {size - std::min(*n, size), size - 1};
        return a;
    }
    const auto first = parseDecimal(firstText);
    if (!first) {
        return whole;
    }
    std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
    if (!lastText.empty()) {
        const auto l = parseDecimal(lastText);
        if (!l || *l < *first) {
            return whole;  // RFC 9110 14.1.1: last < first is invalid, so ignored
        }
        last = *l;
    }
    if (*first >= size) {
        a.kind = RangeAnswer::Kind::Unsatisfiable;
        return a;
    }
    a.range = {*first, std::min(last, size - 1)};
    return a;
}

std::string_view reasonPhrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 206: return "Partial Content";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 416: return "Range Not Satisfiable";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

std::string responseHead(int status,
                         std::span<const std::pair<std::string_view, std::string>> fields) {
    std::string out = "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reasonPhrase(status);
    out += "\r\n";
    for (const auto& [name, value] : fields) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    out += "\r\n";
    return out;
}

}  // namespace pinet::proto::http
