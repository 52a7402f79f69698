#include "proto/tftp/packet.h"

#include <charconv>

#include "proto/byte_reader.h"
#include "proto/byte_writer.h"

namespace pinet::proto::tftp {

const char* toString(ParseError e) {
    switch (e) {
        case ParseError::TooShort: return "too short";
        case ParseError::TooLong: return "request too long";
        case ParseError::UnknownOpcode: return "unknown opcode";
        case ParseError::Unterminated: return "unterminated string";
        case ParseError::EmptyFilename: return "empty file name";
        case ParseError::FilenameTooLong: return "file name too long";
        case ParseError::BadMode: return "bad mode";
        case ParseError::BadOption: return "bad option";
        case ParseError::TrailingBytes: return "trailing bytes";
    }
    return "?";
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) {
            return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

const char* modeName(Mode mode) {
    switch (mode) {
        case Mode::Octet: return "octet";
        case Mode::Netascii: return "netascii";
        case Mode::Mail: return "mail";
    }
    return "octet";
}

namespace {

tl::expected<Request, ParseError> parseRequest(Opcode op, ByteReader& r) {
    Request req;
    req.opcode = op;
    auto name = r.cstring();
    if (!name) {
        return tl::unexpected(ParseError::Unterminated);
    }
    if (name->empty()) {
        return tl::unexpected(ParseError::EmptyFilename);
    }
    if (name->size() > kMaxFilenameLength) {
        return tl::unexpected(ParseError::FilenameTooLong);
    }
    req.filename = std::string(*name);
    auto mode = r.cstring();
    if (!mode) {
        return tl::unexpected(ParseError::Unterminated);
    }
    if (equalsIgnoreCase(*mode, "octet")) {
        req.mode = Mode::Octet;
    } else if (equalsIgnoreCase(*mode, "netascii")) {
        req.mode = Mode::Netascii;
    } else if (equalsIgnoreCase(*mode, "mail")) {
        req.mode = Mode::Mail;
    } else {
        return tl::unexpected(ParseError::BadMode);
    }
    // RFC 2347: options follow as name\0value\0 pairs.
    while (!r.empty()) {
        auto optName = r.cstring();
        if (!optName) {
            // Some clients pad requests with stray bytes; a lone unterminated
            // tail is an error rather than silently guessed at.
            return tl::unexpected(ParseError::Unterminated);
        }
        auto optValue = r.cstring();
        if (!optValue || optName->empty()) {
            return tl::unexpected(ParseError::BadOption);
        }
        for (const auto& existing : req.options) {
            if (equalsIgnoreCase(existing.name, *optName)) {
                return tl::unexpected(ParseError::BadOption);
            }
        }
        req.options.push_back(Option{std::string(*optName), std::string(*optValue)});
    }
    return req;
}

tl::expected<Oack, ParseError> parseOack(ByteReader& r) {
    Oack oack;
    while (!r.empty()) {
        auto optName = r.cstring();
        auto optValue = optName ? r.cstring() : std::nullopt;
        if (!optName || !optValue || optName->empty()) {
            return tl::unexpected(ParseError::BadOption);
        }
        oack.options.push_back(Option{std::string(*optName), std::string(*optValue)});
    }
    return oack;
}

std::optional<std::uint64_t> parseDecimal(std::string_view s) {
    // Decimal digits only: no sign, no spaces, no hex (RFC 2347 values are ASCII numbers).
    if (s.empty() || s.size() > 20) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

tl::expected<Packet, ParseError> parse(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    auto op = r.u16be();
    if (!op) {
        return tl::unexpected(ParseError::TooShort);
    }
    switch (*op) {
        case static_cast<std::uint16_t>(Opcode::Rrq):
        case static_cast<std::uint16_t>(Opcode::Wrq): {
            if (bytes.size() > kMaxRequestSize) {
                return tl::unexpected(ParseError::TooLong);
            }
            auto req = parseRequest(static_cast<Opcode>(*op), r);
            if (!req) {
                return tl::unexpected(req.error());
            }
            return Packet{std::move(*req)};
        }
        case static_cast<std::uint16_t>(Opcode::Data): {
            auto block = r.u16be();
            if (!block) {
                return tl::unexpected(ParseError::TooShort);
            }
            return Packet{Data{*block, r.rest()}};
        }
        case static_cast<std::uint16_t>(Opcode::Ack): {
            auto block = r.u16be();
            if (!block) {
                return tl::unexpected(ParseError::TooShort);
            }
            if (!r.empty()) {
                return tl::unexpected(ParseError::TrailingBytes);
            }
            return Packet{Ack{*block}};
        }
        case static_cast<std::uint16_t>(Opcode::Error): {
            auto code = r.u16be();
            if (!code) {
                return tl::unexpected(ParseError::TooShort);
            }
            // RFC 1350 says the message is NUL-terminated; some clients omit
            // the NUL. An ERROR is still an ERROR: take the rest as the text.
            ErrorPacket e{*code, {}};
            if (auto msg = r.cstring()) {
                e.message = std::string(*msg);
            } else {
                auto rest = r.rest();
                e.message.assign(rest.begin(), rest.end());
            }
            return Packet{std::move(e)};
        }
        case static_cast<std::uint16_t>(Opcode::Oack): {
            auto oack = parseOack(r);
            if (!oack) {
                return tl::unexpected(oack.error());
            }
            return Packet{std::move(*oack)};
        }
        default: return tl::unexpected(ParseError::UnknownOpcode);
    }
}

RequestOptions interpretOptions(const std::vector<Option>& options) {
    RequestOptions out;
    for (const auto& opt : options) {
        auto value = parseDecimal(opt.value);
        auto inRange = [&](std::uint64_t lo, std::uint64_t hi) {
            return value && *value >= lo && *value <= hi;
        };
        if (equalsIgnoreCase(opt.name, "tsize")) {
            if (value) {
                out.tsize = *value;
            } else {
                out.invalid.push_back(opt.name);
            }
        } else if (equalsIgnoreCase(opt.name, "blksize")) {
            if (inRange(kMinBlockSize, kMaxBlockSize)) {
                out.blksize = static_cast<std::uint32_t>(*value);
            } else if (value && *value > kMaxBlockSize) {
                // RFC 2348: the server may answer with a smaller value; a too
                // large request is clamped rather than ignored.
                out.blksize = kMaxBlockSize;
            } else {
                out.invalid.push_back(opt.name);
            }
        } else if (equalsIgnoreCase(opt.name, "timeout")) {
            if (inRange(kMinTimeoutSecs, kMaxTimeoutSecs)) {
                out.timeout = static_cast<std::uint32_t>(*value);
            } else {
                out.invalid.push_back(opt.name);
            }
        } else if (equalsIgnoreCase(opt.name, "windowsize")) {
            if (inRange(kMinWindowSize, kMaxWindowSize)) {
                out.windowsize = static_cast<std::uint32_t>(*value);
            } else {
                out.invalid.push_back(opt.name);
            }
        } else {
            out.unknown.push_back(opt.name);
        }
    }
    return out;
}

std::vector<std::uint8_t> buildRequest(const Request& request) {
    ByteWriter w;
    w.u16be(static_cast<std::uint16_t>(request.opcode));
    w.cstr(request.filename);
    w.cstr(modeName(request.mode));
    for (const auto& opt : request.options) {
        w.cstr(opt.name);
        w.cstr(opt.value);
    }
    return w.take();
}

void writeDataHeader(std::uint8_t* out4, std::uint16_t block) {
    putU16be(out4, static_cast<std::uint16_t>(Opcode::Data));
    putU16be(out4 + 2, block);
}

std::vector<std::uint8_t> buildData(std::uint16_t block, std::span<const std::uint8_t> payload) {
    ByteWriter w;
    w.u16be(static_cast<std::uint16_t>(Opcode::Data));
    w.u16be(block);
    w.bytes(payload);
    return w.take();
}

std::vector<std::uint8_t> buildAck(std::uint16_t block) {
    ByteWriter w;
    w.u16be(static_cast<std::uint16_t>(Opcode::Ack));
    w.u16be(block);
    return w.take();
}

std::vector<std::uint8_t> buildError(std::uint16_t code, std::string_view message) {
    ByteWriter w;
    w.u16be(static_cast<std::uint16_t>(Opcode::Error));
    w.u16be(code);
    w.cstr(message);
    return w.take();
}

std::vector<std::uint8_t> buildError(ErrorCode code, std::string_view message) {
    return buildError(static_cast<std::uint16_t>(code), message);
}

std::vector<std::uint8_t> buildOack(const std::vector<Option>& options) {
    ByteWriter w;
    w.u16be(static_cast<std::uint16_t>(Opcode::Oack));
    for (const auto& opt : options) {
        w.cstr(opt.name);
        w.cstr(opt.value);
    }
    return w.take();
}

}  // namespace pinet::proto::tftp
