#include "proto/http/request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pinet::proto::http {
namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

tl::expected<Request, RequestError> parse(std::string_view s) {
    return parseRequest(bytes(s));
}

TEST(HttpRequest, ParsesThePiBootloadersGet) {
    // The shape of the bootloader's request (spec 5): origin-form, Host, no body.
    auto r = parse(
        "GET /net_install/boot.img HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"
        "User-Agent: rpi-bootloader\r\n\r\n");
    ASSERT_TRUE(r) << toString(r.error());
    EXPECT_EQ(r->method, Method::Get);
    EXPECT_EQ(r->methodName, "GET");
    EXPECT_EQ(r->path, "/net_install/boot.img");
    EXPECT_EQ(r->minorVersion, 1);
    EXPECT_TRUE(r->keepAlive);
    EXPECT_EQ(r->host, "10.0.0.1:8080");
    EXPECT_FALSE(r->range);
    EXPECT_EQ(r->contentLength, 0u);
    EXPECT_EQ(r->headerCount, 2u);
}

TEST(HttpRequest, HeadAndConnectionClose) {
    auto r = parse("HEAD /a/boot.sig HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, Method::Head);
    EXPECT_FALSE(r->keepAlive);
    // HTTP/1.0 closes (its keep-alive extension is not implemented).
    r = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->minorVersion, 0);
    EXPECT_FALSE(r->keepAlive);
}

TEST(HttpRequest, OtherMethodsAreParsedForTheServerToRefuse) {
    auto r = parse("POST /x HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, Method::Other);
    EXPECT_EQ(r->methodName, "POST");
    // Methods are case-sensitive (RFC 9110 9.1): "get" is not GET.
    r = parse("get /x HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, Method::Other);
}

TEST(HttpRequest, PercentDecodingQueryAndAbsoluteForm) {
    auto r = parse("GET /a%2Fb/boot%2eimg?x=1&y=%zz HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->path, "/a/b/boot.img");
    r = parse("GET /a%00b HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->path, std::string("/a\0b", 4));  // decoded; the path rule refuses it
    r = parse("GET HTTP://10.0.0.1:80/s/boot.img?q HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->path, "/s/boot.img");
    r = parse("GET http://host HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->path, "/");
    for (const char* bad :
         {"GET /a%2 HTTP/1.1\r\n\r\n", "GET /a%g0 HTTP/1.1\r\n\r\n", "GET * HTTP/1.1\r\n\r\n",
          "GET ftp://x/ HTTP/1.1\r\n\r\n", "GET http:///x HTTP/1.1\r\n\r\n",
          "GET /\x7f HTTP/1.1\r\n\r\n", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n"}) {
        r = parse(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), RequestError::BadTarget) << bad;
        EXPECT_EQ(statusFor(r.error()), 400);
    }
}

TEST(HttpRequest, RequestLineAndVersionErrors) {
    for (const char* bad :
         {"GET /x\r\n\r\n", "GET  /x HTTP/1.1\r\n\r\n", "GET /x HTTP/1.1 \r\n\r\n",
          "GET /x http/1.1\r\n\r\n", "GET /x HTTP/1\r\n\r\n", "G(T /x HTTP/1.1\r\n\r\n",
          " GET /x HTTP/1.1\r\n\r\n", "GET /x HTTP/1.10\r\n\r\n", "\r\n\r\n"}) {
        auto r = parse(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), RequestError::BadRequestLine) << bad;
    }
    for (const char* v : {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9"}) {
        auto r = parse(std::string("GET /x ") + v + "\r\n\r\n");
        ASSERT_FALSE(r) << v;
        EXPECT_EQ(r.error(), RequestError::VersionNotSupported);
        EXPECT_EQ(statusFor(r.error()), 505);
    }
}

TEST(HttpRequest, HeaderErrors) {
    for (const char* bad :
         {"GET / HTTP/1.1\r\nbad header\r\n\r\n", "GET / HTTP/1.1\r\nName : v\r\n\r\n",
          "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
          "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"}) {
        auto r = parse(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), RequestError::BadHeader) << bad;
    }
    // obs-text (bytes >= 0x80) and tabs are allowed in values.
    EXPECT_TRUE(parse("GET / HTTP/1.1\r\nUser-Agent: caf\xc3\xa9\tx\r\n\r\n"));
}

TEST(HttpRequest, ContentLengthAndTransferEncoding) {
    auto r = parse("GET / HTTP/1.1\r\ncontent-length: 5\r\nContent-Length: 5\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->contentLength, 5u);
    for (const char* bad : {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                            "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                            "GET / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
                            "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                            "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n"}) {
        r = parse(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), RequestError::BadContentLength) << bad;
    }
    r = parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(statusFor(r.error()), 501);
}

TEST(HttpRequest, BareLfLeadingEmptyLinesAndRangeFields) {
    auto r = parse("\r\n\nGET /x HTTP/1.1\nRange: bytes=0-9\n\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->path, "/x");
    EXPECT_EQ(r->range, "bytes=0-9");
    // Two Range fields: ambiguous, ignored.
    r = parse("GET /x HTTP/1.1\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->range);
}

TEST(HttpRequest, TooManyHeaderFields) {
    std::string head = "GET / HTTP/1.1\r\n";
    for (std::size_t i = 0; i <= kMaxHeaderFields; ++i) {
        head += "A: b\r\n";
    }
    auto r = parse(head + "\r\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), RequestError::HeadTooLarge);
    EXPECT_EQ(statusFor(r.error()), 431);
}

TEST(HttpHeadScanner, FindsTheEndIncrementallyAndOnce) {
    const std::string two = "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    const auto firstEnd = two.find("\r\n\r\n", 2) + 4;
    // One byte at a time gives the same end as all at once.
    HeadScanner all;
    EXPECT_EQ(all.scan(bytes(two)), firstEnd);
    HeadScanner trickle;
    std::optional<std::size_t> end;
    for (std::size_t n = 1; n <= two.size() && !end; ++n) {
        end = trickle.scan(bytes(std::string_view(two).substr(0, n)));
        if (!end) {
            EXPECT_LT(n, firstEnd);
        }
    }
    EXPECT_EQ(end, firstEnd);
    EXPECT_TRUE(trickle.sawRequestLine());
    // The next request, after a reset, from the rest of the buffer.
    trickle.reset();
    const auto rest = std::string_view(two).substr(firstEnd);
    EXPECT_EQ(trickle.scan(bytes(rest)), rest.size());
    HeadScanner none;
    EXPECT_FALSE(none.scan(bytes("GET /x HTTP/1.1\r\nHost: y\r\n")));
    EXPECT_TRUE(none.sawRequestLine());
    HeadScanner line;
    EXPECT_FALSE(line.scan(bytes("GET /xxxxxxxx")));
    EXPECT_FALSE(line.sawRequestLine());  // a head over the limit now is 414
}

TEST(HttpRange, OneRangeServedTheRestIgnored) {
    using K = RangeAnswer::Kind;
    auto a = answerRange("bytes=0-9", 100);
    EXPECT_EQ(a.kind, K::Partial);
    EXPECT_EQ(a.range, (ByteRange{0, 9}));
    a = answerRange("bytes=90-", 100);
    EXPECT_EQ(a.range, (ByteRange{90, 99}));
    a = answerRange("bytes=90-1000", 100);  // clamped to the end
    EXPECT_EQ(a.range, (ByteRange{90, 99}));
    a = answerRange("bytes=-10", 100);
    EXPECT_EQ(a.range, (ByteRange{90, 99}));
    a = answerRange("bytes=-1000", 100);
    EXPECT_EQ(a.range, (ByteRange{0, 99}));
    EXPECT_EQ(answerRange(" Bytes=5-5 ", 100).range, (ByteRange{5, 5}));  // unit: any case
    // Unsatisfiable: starts at or past the end, empty suffix, empty file.
    EXPECT_EQ(answerRange("bytes=100-", 100).kind, K::Unsatisfiable);
    EXPECT_EQ(answerRange("bytes=2000000-3000000", 100).kind, K::Unsatisfiable);
    EXPECT_EQ(answerRange("bytes=-0", 100).kind, K::Unsatisfiable);
    EXPECT_EQ(answerRange("bytes=0-0", 0).kind, K::Unsatisfiable);
    // Ignored (200 with everything): other units, bad syntax, last < first, several.
    for (const char* v : {"items=0-1", "bytes=", "bytes=a-b", "bytes=5-4", "bytes=0-1,5-6",
                          "bytes=-", "bytes 0-1", "bytes=1-2-3"}) {
        EXPECT_EQ(answerRange(v, 100).kind, K::Whole) << v;
    }
}

TEST(HttpResponse, HeadIsCrlfDelimited) {
    const std::pair<std::string_view, std::string> fields[] = {{"Content-Length", "4"},
                                                               {"Connection", "close"}};
    EXPECT_EQ(responseHead(404, fields),
              "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(reasonPhrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(reasonPhrase(299), "Unknown");
}

}  // namespace
}  // namespace pinet::proto::http
