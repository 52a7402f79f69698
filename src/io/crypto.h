#pragma once
// SHA-256 and RSA-2048 PKCS#1 v1.5 signatures over OpenSSL 3 EVP (no deprecated
// RSA_* calls). Used by `eeprom` (.sig files, pubkey.bin), `flash` (pieeprom.sig)
// and `serve` (boot.sig). Every OpenSSL handle is owned by a unique_ptr.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

struct evp_pkey_st;
struct evp_md_ctx_st;

namespace pinet::io {

using Sha256Digest = std::array<std::uint8_t, 32>;

/// SHA-256 of @p data.
Sha256Digest sha256(std::span<const std::uint8_t> data);
/// SHA-256 as 64 lowercase hex characters.
std::string sha256Hex(std::span<const std::uint8_t> data);
/// @p n bytes from OpenSSL's CSPRNG (RAND_bytes), as 2n lowercase hex characters:
/// API tokens, session ids and CSRF tokens. Errors name OpenSSL's reason.
Result<std::string> randomHex(std::size_t n);
/// SHA-256 over data that arrives in pieces (a download), so that it need not be held
/// whole: the probe's HTTP boards hash boot.img (up to 96 MB each, spec §5) as it comes.
class Sha256Stream {
public:
    Sha256Stream();
    void update(std::span<const std::uint8_t> data);
    /// The digest of everything given; the stream is spent afterwards (all zero if
    /// OpenSSL failed, which no .sig matches).
    Sha256Digest finish();

private:
    struct CtxDeleter {
        void operator()(evp_md_ctx_st* c) const;
    };
    std::unique_ptr<evp_md_ctx_st, CtxDeleter> ctx_;
};

/// Constant-time comparison (CRYPTO_memcmp); false if sizes differ.
bool equalConstantTime(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

/// The Raspberry Pi bootloader only knows RSA-2048 (spec eeprom-usbboot 1.7, 1.11).
inline constexpr unsigned kRsaBootloaderBits = 2048;

/// An RSA key (public, or private with its public half).
class RsaKey {
public:
    /// Parses a PEM RSA key: PKCS#8 / PKCS#1 private, SubjectPublicKeyInfo or PKCS#1 public.
    /// @p what names the source in errors ("key.pem: ..."). @p requiredBits: 0 = any size,
    /// otherwise a key of another size fails with "RSA key size must be <bits>".
    static Result<RsaKey> loadPem(std::span<const std::uint8_t> pem, std::string_view what,
                                  unsigned requiredBits = kRsaBootloaderBits);
    /// Reads and parses a PEM file (errors name the file).
    static Result<RsaKey> loadPemFile(const std::filesystem::path& path,
                                      unsigned requiredBits = kRsaBootloaderBits);
    /// Builds a public key from big-endian modulus and exponent (e.g. from a pubkey.bin).
    static Result<RsaKey> fromPublicNumbers(std::span<const std::uint8_t> modulusBe,
                                            std::span<const std::uint8_t> exponentBe);

    [[nodiscard]] unsigned bits() const;
    [[nodiscard]] bool hasPrivate() const;
    /// Modulus n, big-endian, no leading zeros.
    [[nodiscard]] std::vector<std::uint8_t> modulus() const;
    /// Public exponent e, big-endian, no leading zeros.
    [[nodiscard]] std::vector<std::uint8_t> publicExponent() const;

    /// RSASSA-PKCS1-v1_5 with SHA-256 over @p data (= `openssl dgst -sha256 -sign`).
    /// Deterministic; bits()/8 bytes big-endian. Fails without a private key.
    [[nodiscard]] Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) const;
    /// True if @p signature is a valid PKCS#1 v1.5 SHA-256 signature of @p data.
    [[nodiscard]] bool verify(std::span<const std::uint8_t> data,
                              std::span<const std::uint8_t> signature) const;
    /// The same check given the data's SHA-256 instead of the data.
    [[nodiscard]] bool verifyDigest(const Sha256Digest& digest,
                                    std::span<const std::uint8_t> signature) const;

private:
    struct PkeyDeleter {
        void operator()(evp_pkey_st* p) const;
    };
    using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyDeleter>;
    explicit RsaKey(PkeyPtr key) : key_(std::move(key)) {}

    PkeyPtr key_;
};

}  // namespace pinet::io
