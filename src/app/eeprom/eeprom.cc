#include "app/eeprom/eeprom.h"

#include <cctype>
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "io/file.h"
#include "proto/eeprom/sig.h"
#include "proto/hex.h"

namespace pinet::app::eeprom {

namespace pe = proto::eeprom;

namespace {

std::optional<std::uint64_t> parseUnsigned(std::string_view s, std::uint64_t max) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
    }
    if (s.empty() || s.size() > 20) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (max - d) / 10) {
            return std::nullopt;
        }
        v = v * 10 + d;
    }
    return v;
}

Result<pe::ImageLayout> reparse(std::span<const std::uint8_t> image) {
    return pe::parseImage(image);  // standard sizes only, like the tool
}

}  // namespace

Result<LoadedImage> parseImage(std::vector<std::uint8_t> bytes, std::string_view name) {
    auto layout = pe::parseImage(bytes);
    if (!layout) {
        return fail(fmt::format("{}: {}", name, layout.error().message));
    }
    return LoadedImage{std::move(bytes), std::move(*layout)};
}

Result<LoadedImage> loadImage(const std::filesystem::path& path) {
    auto bytes = io::readFile(path);
    if (!bytes) {
        return tl::unexpected(bytes.error());
    }
    return parseImage(std::move(*bytes), path.string());
}

Result<std::vector<std::uint8_t>> applyConfig(std::span<const std::uint8_t> image,
                                              const ApplyOptions& options) {
    std::vector<std::uint8_t> out(image.begin(), image.end());
    if (auto r = applyConfigInPlace(out, options); !r) {
        return tl::unexpected(r.error());
    }
    return out;
}

Result<void> applyConfigInPlace(std::span<std::uint8_t> out, const ApplyOptions& options) {
    auto layout = reparse(out);
    if (!layout) {
        return tl::unexpected(layout.error());
    }
    // Upstream order (spec 1.6): timestamp, config, digest, pubkey.
    if (options.timestamp) {
        if (auto r = pe::setTimestamp(out, *layout, *options.timestamp); !r) {
            return tl::unexpected(r.error());
        }
    }
    if (!options.config) {
        return {};  // --digest / --pubkey are ignored without --config (upstream)
    }
    auto replace = [&](std::string_view target, const NamedBytes& src,
                       std::span<const std::uint8_t> content) -> Result<void> {
        auto r = pe::replaceFile(out, *layout, target, content, src.name);
        if (!r) {
            return r;
        }
        auto again = reparse(out);
        if (!again) {
            return fail("internal error: image no longer parses after update: " +
                        again.error().message);
        }
        layout = std::move(again);
        return {};
    };
    if (auto r = replace("bootconf.txt", *options.config, options.config->bytes); !r) {
        return tl::unexpected(r.error());
    }
    if (options.digest) {
        if (auto r = replace("bootconf.sig", *options.digest, options.digest->bytes); !r) {
            return tl::unexpected(r.error());
        }
    }
    if (options.pubkeyPem) {
        auto key = io::RsaKey::loadPem(options.pubkeyPem->bytes, options.pubkeyPem->name);
        if (!key) {
            return tl::unexpected(key.error());
        }
        auto bin = pubkeyBinFor(*key);
        if (!bin) {
            return tl::unexpected(bin.error());
        }
        if (auto r = replace("pubkey.bin", *options.pubkeyPem, *bin); !r) {
            return tl::unexpected(r.error());
        }
    }
    return {};
}

Result<std::uint32_t> parseTimestamp(std::string_view text) {
    auto v = parseUnsigned(text, 0xFFFFFFFFu);
    if (!v) {
        // Spec 1.8: the field is an unsigned 32-bit value.
        return fail(fmt::format("timestamp '{}' is not an unsigned 32-bit decimal number", text));
    }
    return static_cast<std::uint32_t>(*v);
}

Result<std::uint64_t> defaultTimestamp() {
    if (const char* env = std::getenv("SOURCE_DATE_EPOCH"); env != nullptr && *env != '\0') {
        auto v = parseUnsigned(env, UINT64_MAX);
        if (!v) {
            return fail(fmt::format("SOURCE_DATE_EPOCH '{}' is not a number", env));
        }
        return *v;
    }
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

Result<std::string> makeDigest(std::span<const std::uint8_t> data, const DigestOptions& options) {
    pe::SigFile sig;
    sig.sha256Hex = io::sha256Hex(data);
    sig.timestamp = options.timestamp;
    if (options.targetSoc) {
        if (*options.targetSoc != 2711 && *options.targetSoc != 2712) {
            return fail(fmt::format("target SoC must be 2711 or 2712, not {}", *options.targetSoc));
        }
        sig.targetSoc = options.targetSoc;
    }
    if (options.signingKey != nullptr) {
        auto s = options.signingKey->sign(data);
        if (!s) {
            return tl::unexpected(s.error());
        }
        sig.rsa2048 = std::move(*s);
    }
    return pe::formatSig(sig);
}

Result<VerifyReport> verifyDigest(std::span<const std::uint8_t> data, std::string_view sigText,
                                  const io::RsaKey* key) {
    return verifyDigest(io::sha256(data), sigText, key);
}

Result<VerifyReport> verifyDigest(const io::Sha256Digest& digest, std::string_view sigText,
                                  const io::RsaKey* key) {
    auto sig = pe::parseSig(sigText);
    if (!sig) {
        return tl::unexpected(sig.error());
    }
    const std::string actual = proto::toHex(digest);
    if (actual != sig->sha256Hex) {
        return fail(fmt::format("sha256 mismatch: signature file has {}, data has {}",
                                sig->sha256Hex, actual));
    }
    VerifyReport report;
    report.signaturePresent = sig->rsa2048.has_value();
    if (key != nullptr) {
        if (!sig->rsa2048) {
            return fail("no rsa2048 signature in the signature file");
        }
        if (!key->verifyDigest(digest, *sig->rsa2048)) {
            return fail("RSA signature does not match (wrong key or modified data)");
        }
        report.signatureChecked = true;
    }
    return report;
}

Result<std::vector<std::uint8_t>> pubkeyBinFor(const io::RsaKey& key) {
    if (key.bits() != io::kRsaBootloaderBits) {
        return fail(fmt::format("RSA key size must be {}", io::kRsaBootloaderBits));
    }
    return pe::encodePubkeyBin(key.modulus(), key.publicExponent());
}

Result<RecoveryFiles> buildRecoveryFiles(std::span<const std::uint8_t> original,
                                         const RecoveryOptions& options) {
    if (auto layout = pe::parseImage(original); !layout) {
        return tl::unexpected(layout.error());
    }
    ApplyOptions apply;
    apply.config = options.config;
    apply.digest = options.digest;
    apply.pubkeyPem = options.pubkeyPem;
    apply.timestamp = options.imageTimestamp;
    auto bin = applyConfig(original, apply);
    if (!bin) {
        return tl::unexpected(bin.error());
    }
    DigestOptions dig;
    dig.timestamp = options.sigTimestamp;
    dig.targetSoc = options.targetSoc;
    dig.signingKey = options.signingKey;
    auto sig = makeDigest(*bin, dig);
    if (!sig) {
        return tl::unexpected(sig.error());
    }
    return RecoveryFiles{std::move(*bin), std::move(*sig)};
}

}  // namespace pinet::app::eeprom
