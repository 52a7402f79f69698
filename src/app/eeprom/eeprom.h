#pragma once
// EEPROM flows shared by `pinetboot eeprom`, the USB flash helper and `serve`:
// build a configured pieeprom.bin exactly like `rpi-eeprom-config`, and write or
// check `.sig` files exactly like `rpi-eeprom-digest` (spec eeprom-usbboot.md 1.6–1.11).
//
// Typical use by another module (what usbboot's update-pieeprom.sh does):
//
//     auto original = io::readFile("pieeprom.original.bin");
//     app::eeprom::RecoveryOptions opt;
//     opt.config = app::eeprom::NamedBytes{"boot.conf", *io::readFile("boot.conf")};
//     opt.sigTimestamp = app::eeprom::defaultTimestamp();
//     auto files = app::eeprom::buildRecoveryFiles(*original, opt);
//     if (!files) { /* files.error().message names the problem */ }
//     // files->pieepromBin -> pieeprom.bin, files->pieepromSig -> pieeprom.sig
//
// All functions are pure over bytes except loadImage/defaultTimestamp; none writes files.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/crypto.h"
#include "proto/eeprom/image.h"
#include "proto/error.h"

namespace pinet::app::eeprom {

/// Bytes plus the name used in error messages (usually the file path).
struct NamedBytes {
    std::string name;
    std::vector<std::uint8_t> bytes;
};

/// A parsed image held in memory.
struct LoadedImage {
    std::vector<std::uint8_t> bytes;
    proto::eeprom::ImageLayout layout;
};

/// Reads and parses an image file. Errors are prefixed with the path ("x.bin: Expected sizes ...").
Result<LoadedImage> loadImage(const std::filesystem::path& path);
/// Parses bytes already in memory; @p name prefixes errors.
Result<LoadedImage> parseImage(std::vector<std::uint8_t> bytes, std::string_view name);

/// What `rpi-eeprom-config --config C [--timestamp T] [--digest S] [--pubkey P]` does.
struct ApplyOptions {
    std::optional<NamedBytes> config;        ///< new bootconf.txt
    std::optional<std::uint32_t> timestamp;  ///< update timestamp (spec 1.8)
    std::optional<NamedBytes> digest;  ///< new bootconf.sig (ignored without config, as upstream)
    std::optional<NamedBytes>
        pubkeyPem;  ///< PEM RSA-2048 key -> pubkey.bin (ignored without config)
};

/// Applies @p options to @p image (which is not modified) in upstream order: timestamp, config,
/// digest, pubkey (spec 1.6). The result is byte-identical to rpi-eeprom-config's output.
/// Errors use upstream wording ("src file X is too large ...", "Update target pubkey.bin not
/// found", "RSA key size must be 2048").
Result<std::vector<std::uint8_t>> applyConfig(std::span<const std::uint8_t> image,
                                              const ApplyOptions& options);

/// The same, modifying @p image in place (no 2 MiB copy; used by the CLI). On error the image
/// may be partly updated: callers discard it.
Result<void> applyConfigInPlace(std::span<std::uint8_t> image, const ApplyOptions& options);

/// Parses a timestamp argument like Python int(): optional sign, decimal digits; must fit u32.
Result<std::uint32_t> parseTimestamp(std::string_view text);

/// The `ts:` value rpi-eeprom-digest uses: $SOURCE_DATE_EPOCH if set and numeric, else now.
/// Errors if SOURCE_DATE_EPOCH is set but not a number.
Result<std::uint64_t> defaultTimestamp();

struct DigestOptions {
    std::uint64_t timestamp = 0;             ///< `ts:` line
    std::optional<unsigned> targetSoc;       ///< 2711 or 2712 -> `target-soc:` line (-c)
    const io::RsaKey* signingKey = nullptr;  ///< private key -> `rsa2048:` line (-k)
};

/// The text of a .sig file for @p data, byte-identical to rpi-eeprom-digest.
Result<std::string> makeDigest(std::span<const std::uint8_t> data, const DigestOptions& options);

struct VerifyReport {
    bool signaturePresent = false;  ///< the .sig has an rsa2048 line
    bool signatureChecked = false;  ///< ... and it was verified with the given key
};

/// Checks the sha256 line of @p sigText against @p data and, when the .sig has an rsa2048
/// line and @p key is given, the RSA signature. With a key but no rsa2048 line it fails.
/// @return the report, or an error stating why verification failed.
Result<VerifyReport> verifyDigest(std::span<const std::uint8_t> data, std::string_view sigText,
                                  const io::RsaKey* key);
/// The same check given the data's SHA-256 (for data too large to hold, hashed as it came).
Result<VerifyReport> verifyDigest(const io::Sha256Digest& digest, std::string_view sigText,
                                  const io::RsaKey* key);

/// pubkey.bin content (264 bytes) for an RSA-2048 key (spec 1.7).
Result<std::vector<std::uint8_t>> pubkeyBinFor(const io::RsaKey& key);

/// Inputs for a recovery / USB-flash file pair (usbboot tools/update-pieeprom.sh).
struct RecoveryOptions {
    NamedBytes config;                            ///< boot.conf
    std::optional<NamedBytes> digest;             ///< bootconf.sig for secure boot
    std::optional<NamedBytes> pubkeyPem;          ///< public key for secure boot
    std::optional<std::uint32_t> imageTimestamp;  ///< --timestamp on the image (optional)
    std::uint64_t sigTimestamp = 0;               ///< ts: line of pieeprom.sig
    std::optional<unsigned> targetSoc;            ///< usbboot passes none
    const io::RsaKey* signingKey = nullptr;       ///< signs pieeprom.bin itself (rsa2048 line)
};

struct RecoveryFiles {
    std::vector<std::uint8_t> pieepromBin;
    std::string pieepromSig;
};

/// Builds pieeprom.bin from @p original and its pieeprom.sig.
Result<RecoveryFiles> buildRecoveryFiles(std::span<const std::uint8_t> original,
                                         const RecoveryOptions& options);

}  // namespace pinet::app::eeprom
