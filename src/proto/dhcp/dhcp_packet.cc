#include "proto/dhcp/dhcp_packet.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "proto/byte_reader.h"
#include "proto/byte_writer.h"

namespace pinet::proto::dhcp {

const char* toString(MessageType type) {
    switch (type) {
        case MessageType::Discover: return "DISCOVER";
        case MessageType::Offer: return "OFFER";
        case MessageType::Request: return "REQUEST";
        case MessageType::Decline: return "DECLINE";
        case MessageType::Ack: return "ACK";
        case MessageType::Nak: return "NAK";
        case MessageType::Release: return "RELEASE";
        case MessageType::Inform: return "INFORM";
    }
    return "UNKNOWN";
}

const char* toString(ParseError error) {
    switch (error) {
        case ParseError::Truncated: return "truncated";
        case ParseError::BadMagic: return "bad_magic";
        case ParseError::BadOptionLength: return "bad_option_length";
        case ParseError::MissingEnd: return "missing_end";
        case ParseError::BadOverload: return "bad_overload";
        case ParseError::BadHardware: return "bad_hardware_length";
        case ParseError::AbsurdHops: return "absurd_hops";
        case ParseError::NoMessageType: return "no_message_type";
    }
    return "unknown";
}

std::string ipToString(Ip4 ip) {
    return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

std::optional<Ip4> parseIp(std::string_view text) {
    Ip4 out = 0;
    for (int i = 0; i < 4; ++i) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || v > 255 || p == text.data()) {
            return std::nullopt;
        }
        out = (out << 8) | v;
        text.remove_prefix(static_cast<std::size_t>(p - text.data()));
        if (i < 3) {
            if (text.empty() || text.front() != '.') {
                return std::nullopt;
            }
            text.remove_prefix(1);
        }
    }
    if (!text.empty()) {
        return std::nullopt;
    }
    return out;
}

std::string macToString(std::span<const std::uint8_t> mac) {
    std::string s;
    for (std::size_t i = 0; i < mac.size(); ++i) {
        if (i != 0) {
            s += ':';
        }
        s += fmt::format("{:02x}", mac[i]);
    }
    return s;
}

std::optional<std::array<std::uint8_t, 6>> parseMac(std::string_view text) {
    std::array<std::uint8_t, 6> mac{};
    for (std::size_t i = 0; i < 6; ++i) {
        if (text.size() < 2) {
            return std::nullopt;
        }
        unsigned v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + 2, v, 16);
        if (ec != std::errc{} || p != text.data() + 2) {
            return std::nullopt;
        }
        mac[i] = static_cast<std::uint8_t>(v);
        text.remove_prefix(2);
        if (i < 5) {
            if (text.empty() || (text.front() != ':' && text.front() != '-')) {
                return std::nullopt;
            }
            text.remove_prefix(1);
        }
    }
    if (!text.empty()) {
        return std::nullopt;
    }
    return mac;
}

const Option* Packet::find(std::uint8_t code) const {
    for (const auto& o : options) {
        if (o.code == code) {
            return &o;
        }
    }
    return nullptr;
}

std::optional<MessageType> Packet::messageType() const {
    const Option* o = find(opt::MessageType);
    if (o == nullptr || o->data.size() != 1 || o->data[0] < 1 || o->data[0] > 8) {
        return std::nullopt;
    }
    return static_cast<MessageType>(o->data[0]);
}

std::optional<Ip4> Packet::ipOption(std::uint8_t code) const {
    const Option* o = find(code);
    if (o == nullptr || o->data.size() != 4) {
        return std::nullopt;
    }
    return getU32be(o->data.data());
}

std::optional<std::string_view> Packet::stringOption(std::uint8_t code) const {
    const Option* o = find(code);
    if (o == nullptr) {
        return std::nullopt;
    }
    return asText(o->data);
}

std::array<std::uint8_t, 6> Packet::mac() const {
    std::array<std::uint8_t, 6> m{};
    std::copy_n(chaddr.begin(), 6, m.begin());
    return m;
}

void Packet::set(std::uint8_t code, std::vector<std::uint8_t> data) {
    for (auto& o : options) {
        if (o.code == code) {
            o.data = std::move(data);
            return;
        }
    }
    options.push_back(Option{code, std::move(data)});
}

void Packet::setU8(std::uint8_t code, std::uint8_t v) {
    set(code, {v});
}

void Packet::setU32(std::uint8_t code, std::uint32_t v) {
    std::vector<std::uint8_t> d(4);
    putU32be(d.data(), v);
    set(code, std::move(d));
}

void Packet::setIp(std::uint8_t code, Ip4 ip) {
    setU32(code, ip);
}

void Packet::setIps(std::uint8_t code, std::span<const Ip4> ips) {
    std::vector<std::uint8_t> d(4 * ips.size());
    for (std::size_t i = 0; i < ips.size(); ++i) {
        putU32be(d.data() + 4 * i, ips[i]);
    }
    set(code, std::move(d));
}

void Packet::setString(std::uint8_t code, std::string_view s) {
    set(code, std::vector<std::uint8_t>(s.begin(), s.end()));
}

void Packet::setFile(std::string_view name) {
    file.fill(0);
    // The file field is 128 bytes including its NUL (RFC 2131 §2).
    std::copy_n(name.begin(), std::min(name.size(), file.size() - 1), file.begin());
}

void Packet::setMac(std::span<const std::uint8_t> mac) {
    chaddr.fill(0);
    std::copy_n(mac.begin(), std::min<std::size_t>(mac.size(), 16), chaddr.begin());
    hlen = static_cast<std::uint8_t>(std::min<std::size_t>(mac.size(), 16));
}

namespace {

// Walks one option area; joins repeated codes (RFC 3396 §7: concatenate in order).
// @p needEnd: the main area must end with option 255 (RFC 2131 §4.1); the
// overloaded sname/file fields may simply run to the end of the field.
std::optional<ParseError> parseArea(std::span<const std::uint8_t> area, bool needEnd,
                                    std::vector<Option>& out) {
    ByteReader r(area);
    while (true) {
        auto code = r.u8();
        if (!code) {
            return needEnd ? std::optional(ParseError::MissingEnd) : std::nullopt;
        }
        if (*code == opt::Pad) {
            continue;
        }
        if (*code == opt::End) {
            return std::nullopt;
        }
        auto len = r.u8();
        if (!len) {
            return ParseError::BadOptionLength;
        }
        auto data = r.bytes(*len);
        if (!data) {
            return ParseError::BadOptionLength;
        }
        auto it =
            std::find_if(out.begin(), out.end(), [&](const Option& o) { return o.code == *code; });
        if (it != out.end()) {
            it->data.insert(it->data.end(), data->begin(), data->end());
        } else {
            out.push_back(Option{*code, std::vector<std::uint8_t>(data->begin(), data->end())});
        }
    }
}

}  // namespace

tl::expected<Packet, ParseError> parse(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    if (bytes.size() < kFixedHeaderSize + 4) {
        return tl::unexpected(ParseError::Truncated);
    }
    Packet p;
    p.op = static_cast<Op>(*r.u8());
    p.htype = *r.u8();
    p.hlen = *r.u8();
    p.hops = *r.u8();
    p.xid = *r.u32be();
    p.secs = *r.u16be();
    p.flags = *r.u16be();
    p.ciaddr = *r.u32be();
    p.yiaddr = *r.u32be();
    p.siaddr = *r.u32be();
    p.giaddr = *r.u32be();
    auto ch = *r.bytes(16);
    std::copy(ch.begin(), ch.end(), p.chaddr.begin());
    auto sn = *r.bytes(64);
    std::copy(sn.begin(), sn.end(), p.sname.begin());
    auto fi = *r.bytes(128);
    std::copy(fi.begin(), fi.end(), p.file.begin());
    if (*r.u32be() != kMagicCookie) {
        return tl::unexpected(ParseError::BadMagic);
    }
    if (p.hlen > 16) {
        return tl::unexpected(ParseError::BadHardware);
    }
    if (p.hops > kMaxHops) {
        return tl::unexpected(ParseError::AbsurdHops);
    }
    if (auto e = parseArea(r.rest(), true, p.options)) {
        return tl::unexpected(*e);
    }
    // RFC 2132 §9.3: option 52 moves more options into file (1), sname (2) or both (3);
    // file is read before sname (RFC 2131 §4.1).
    if (const Option* ov = p.find(opt::Overload)) {
        if (ov->data.size() != 1 || ov->data[0] < 1 || ov->data[0] > 3) {
            return tl::unexpected(ParseError::BadOverload);
        }
        const std::uint8_t which = ov->data[0];
        if ((which & 1) != 0) {
            if (parseArea(p.file, false, p.options)) {
                return tl::unexpected(ParseError::BadOverload);
            }
            p.file.fill(0);
        }
        if ((which & 2) != 0) {
            if (parseArea(p.sname, false, p.options)) {
                return tl::unexpected(ParseError::BadOverload);
            }
            p.sname.fill(0);
        }
        std::erase_if(p.options, [](const Option& o) { return o.code == opt::Overload; });
    }
    if (!p.messageType()) {
        return tl::unexpected(ParseError::NoMessageType);
    }
    return p;
}

std::vector<std::uint8_t> serialize(const Packet& p) {
    ByteWriter w;
    w.u8(static_cast<std::uint8_t>(p.op));
    w.u8(p.htype);
    w.u8(p.hlen);
    w.u8(p.hops);
    w.u32be(p.xid);
    w.u16be(p.secs);
    w.u16be(p.flags);
    w.u32be(p.ciaddr);
    w.u32be(p.yiaddr);
    w.u32be(p.siaddr);
    w.u32be(p.giaddr);
    w.bytes(p.chaddr);
    w.bytes(p.sname);
    w.bytes(p.file);
    w.u32be(kMagicCookie);
    for (const auto& o : p.options) {
        // RFC 3396 §5: an option longer than 255 bytes is sent as consecutive pieces.
        std::size_t off = 0;
        do {
            const std::size_t n = std::min<std::size_t>(255, o.data.size() - off);
            w.u8(o.code);
            w.u8(static_cast<std::uint8_t>(n));
            w.bytes(std::span(o.data).subspan(off, n));
            off += n;
        } while (off < o.data.size());
    }
    w.u8(opt::End);
    if (w.size() < kMinMessageSize) {
        w.fill(kMinMessageSize - w.size(), opt::Pad);
    }
    return w.take();
}

}  // namespace pinet::proto::dhcp
