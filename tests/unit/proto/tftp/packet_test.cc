#include "proto/tftp/packet.h"

#include <gtest/gtest.h>

#include <string>

namespace pinet::proto::tftp {
namespace {

std::vector<std::uint8_t> bytesOf(std::string_view s) {
    return {s.begin(), s.end()};
}

TEST(TftpPacketTest, ParsesPiRrqWithOptions) {
    // The exact layout of the Pi 4 bootloader's RRQ (spec 4.1).
    auto raw =
        bytesOf(std::string("\x00\x01"
                            "d9780558/start4.elf\0octet\0tsize\0"
                            "0\0blksize\0"
                            "1024\0",
                            2 + 20 + 6 + 6 + 2 + 8 + 5));
    auto p = parse(raw);
    ASSERT_TRUE(p.has_value()) << toString(p.error());
    auto* req = std::get_if<Request>(&*p);
    ASSERT_NE(req, nullptr);
    EXPECT_EQ(req->opcode, Opcode::Rrq);
    EXPECT_EQ(req->filename, "d9780558/start4.elf");
    EXPECT_EQ(req->mode, Mode::Octet);
    ASSERT_EQ(req->options.size(), 2u);
    auto opts = interpretOptions(req->options);
    EXPECT_EQ(opts.tsize, 0u);
    EXPECT_EQ(opts.blksize, 1024u);
    EXPECT_FALSE(opts.windowsize.has_value());
}

TEST(TftpPacketTest, RequestRoundTrip) {
    Request r{Opcode::Wrq,
              "a/b.txt",
              Mode::Netascii,
              {{"blksize", "1468"}, {"windowsize", "16"}, {"timeout", "3"}, {"x-foo", "1"}}};
    auto raw = buildRequest(r);
    auto p = parse(raw);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(std::get<Request>(*p), r);
    auto opts = interpretOptions(r.options);
    EXPECT_EQ(opts.blksize, 1468u);
    EXPECT_EQ(opts.windowsize, 16u);
    EXPECT_EQ(opts.timeout, 3u);
    ASSERT_EQ(opts.unknown.size(), 1u);
    EXPECT_EQ(opts.unknown[0], "x-foo");
}

TEST(TftpPacketTest, ModeAndOptionNamesAreCaseInsensitive) {
    Request r{Opcode::Rrq, "f", Mode::Octet, {{"BlkSize", "512"}, {"TSIZE", "0"}}};
    auto raw = buildRequest(r);
    // Rewrite the mode to mixed case.
    std::string s(raw.begin(), raw.end());
    s.replace(s.find("octet"), 5, "OcTeT");
    auto p = parse(bytesOf(s));
    ASSERT_TRUE(p.has_value());
    auto opts = interpretOptions(std::get<Request>(*p).options);
    EXPECT_EQ(opts.blksize, 512u);
    EXPECT_EQ(opts.tsize, 0u);
}

TEST(TftpPacketTest, OptionRanges) {
    auto o =
        interpretOptions({{"blksize", "7"}, {"timeout", "0"}, {"windowsize", "0"}, {"tsize", "x"}});
    EXPECT_FALSE(o.blksize);
    EXPECT_FALSE(o.timeout);
    EXPECT_FALSE(o.windowsize);
    EXPECT_FALSE(o.tsize);
    EXPECT_EQ(o.invalid.size(), 4u);
    o = interpretOptions({{"blksize", "8"}, {"timeout", "255"}, {"windowsize", "65535"}});
    EXPECT_EQ(o.blksize, 8u);
    EXPECT_EQ(o.timeout, 255u);
    EXPECT_EQ(o.windowsize, 65535u);
    o = interpretOptions({{"blksize", "65465"}, {"timeout", "256"}, {"windowsize", "65536"}});
    EXPECT_EQ(o.blksize, kMaxBlockSize);  // clamped (RFC 2348 lets the server answer smaller)
    EXPECT_FALSE(o.timeout);
    EXPECT_FALSE(o.windowsize);
    o = interpretOptions({{"blksize", "-1"}, {"blksize2", "1"}, {"tsize", " 5"}});
    EXPECT_FALSE(o.blksize);
    EXPECT_FALSE(o.tsize);
}

TEST(TftpPacketTest, RejectsMalformedRequests) {
    EXPECT_EQ(parse(bytesOf(std::string("\x00", 1))).error(), ParseError::TooShort);
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x09xx", 4))).error(), ParseError::UnknownOpcode);
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x01"
                                        "abc",
                                        5)))
                  .error(),
              ParseError::Unterminated);
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x01\0octet\0", 9))).error(),
              ParseError::EmptyFilename);
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x01"
                                        "a\0binary\0",
                                        11)))
                  .error(),
              ParseError::BadMode);
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x01"
                                        "a\0octet\0tsize\0",
                                        16)))
                  .error(),
              ParseError::BadOption);
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x01"
                                        "a\0octet\0tsize\0"
                                        "0\0TSIZE\0"
                                        "0\0",
                                        26)))
                  .error(),
              ParseError::BadOption);
    std::string longName(kMaxFilenameLength + 1, 'a');
    auto raw = buildRequest(Request{Opcode::Rrq, longName, Mode::Octet, {}});
    EXPECT_EQ(parse(raw).error(), ParseError::FilenameTooLong);
    auto huge = buildRequest(
        Request{Opcode::Rrq, "f", Mode::Octet, {{"x", std::string(kMaxRequestSize, 'v')}}});
    EXPECT_EQ(parse(huge).error(), ParseError::TooLong);
}

TEST(TftpPacketTest, DataAckErrorOack) {
    const std::uint8_t payload[] = {1, 2, 3};
    auto d = buildData(65535, payload);
    auto p = parse(d);
    ASSERT_TRUE(p.has_value());
    auto data = std::get<Data>(*p);
    EXPECT_EQ(data.block, 65535);
    ASSERT_EQ(data.payload.size(), 3u);
    EXPECT_EQ(data.payload[2], 3);

    std::uint8_t hdr[4];
    writeDataHeader(hdr, 0x1234);
    EXPECT_EQ(hdr[0], 0);
    EXPECT_EQ(hdr[1], 3);
    EXPECT_EQ(hdr[2], 0x12);
    EXPECT_EQ(hdr[3], 0x34);

    EXPECT_EQ(std::get<Ack>(*parse(buildAck(7))), Ack{7});
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x04\x00\x01\x00", 5))).error(),
              ParseError::TrailingBytes);
    EXPECT_EQ(parse(bytesOf(std::string("\x00\x04\x00", 3))).error(), ParseError::TooShort);

    auto e = parse(buildError(0, "Early terminate"));
    EXPECT_EQ(std::get<ErrorPacket>(*e), (ErrorPacket{0, "Early terminate"}));
    // An ERROR without its NUL still counts as an ERROR.
    auto e2 =
        parse(bytesOf(std::string("\x00\x05\x00\x01"
                                  "gone",
                                  8)));
    EXPECT_EQ(std::get<ErrorPacket>(*e2), (ErrorPacket{1, "gone"}));

    std::vector<Option> opts{{"tsize", "123"}, {"blksize", "1468"}};
    EXPECT_EQ(std::get<Oack>(*parse(buildOack(opts))).options, opts);
    EXPECT_TRUE(std::get<Oack>(*parse(buildOack({}))).options.empty());
}

}  // namespace
}  // namespace pinet::proto::tftp
