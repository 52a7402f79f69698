// pinetboot eeprom ...: inspect, configure, sign and verify Raspberry Pi
// bootloader EEPROM images, byte-compatible with rpi-eeprom-config and
// rpi-eeprom-digest (spec eeprom-usbboot.md Part 1).

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/eeprom/eeprom.h"
#include "cli/command.h"
#include "cli/eeprom_extensions.h"
#include "cli/guarded.h"
#include "io/crypto.h"
#include "io/file.h"
#include "proto/eeprom/bootconf.h"
#include "proto/eeprom/image.h"
#include "proto/hex.h"

namespace pinet::cli {
namespace {

namespace fs = std::filesystem;
namespace ae = pinet::app::eeprom;
namespace pe = pinet::proto::eeprom;

std::vector<std::uint8_t> readInput(const std::string& path, std::string_view what) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        // Upstream wording for the config ("config file 'X' not found").
        throw Failure{fmt::format("{} file '{}' not found", what, path)};
    }
    return must(io::readFile(path));
}

/// The image of apply/set: mapped privately (edited in place while the file stays
/// untouched; see io::PrivateFileMap for why not readFile) and parsed.
struct MappedImage {
    io::PrivateFileMap map;
    pe::ImageLayout layout;
};

MappedImage mapImage(const std::string& path) {
    auto m = must(io::PrivateFileMap::open(path));
    auto l = pe::parseImage(m.bytes());
    if (!l) {
        throw Failure{fmt::format("{}: {}", path, l.error().message)};
    }
    return MappedImage{std::move(m), std::move(*l)};
}

std::string asText(const std::vector<std::uint8_t>& b) {
    return {b.begin(), b.end()};
}
std::span<const std::uint8_t> asBytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void writeOutput(const std::string& path, std::span<const std::uint8_t> data) {
    must(io::writeFileAtomic(path, data));
}

/// Prints lint diagnostics ("FILE:LINE: warning: ...") to @p out; true if there are errors.
bool reportLint(const std::vector<pe::Diagnostic>& diags, const std::string& file,
                std::ostream& out) {
    for (const auto& d : diags) {
        const char* sev = d.severity == pe::Severity::Error ? "error" : "warning";
        if (d.line == 0) {
            out << fmt::format("{}: {}: {}\n", file, sev, d.message);
        } else {
            out << fmt::format("{}:{}: {}: {}\n", file, d.line, sev, d.message);
        }
    }
    return pe::hasErrors(diags);
}

/// Lint before apply/set: warnings are printed, errors refuse unless --force.
void lintBeforeWrite(std::string_view text, const std::string& name, bool force) {
    if (text.size() > pe::kMaxFileSize) {
        return;  // applyConfig reports it with the upstream wording
    }
    if (reportLint(pe::lintConfig(text), name, std::cerr) && !force) {
        throw Failure{
            fmt::format("{}: config has errors (see above); --force writes it anyway", name)};
    }
}

std::optional<std::uint32_t> parseTsOption(const std::string& s) {
    if (s.empty()) {
        return std::nullopt;
    }
    return must(ae::parseTimestamp(s));
}

std::string bootOrderLine(const std::optional<std::string>& value) {
    if (!value) {
        return fmt::format("not set (default 0xf41: {})", pe::describeBootOrder(0xf41));
    }
    auto v = pe::parseBootOrder(*value);
    if (!v) {
        return fmt::format("{} (invalid: {})", *value, v.error().message);
    }
    return fmt::format("{} ({})", *value, pe::describeBootOrder(*v));
}

/// A key file for verify: PEM, or a 264-byte pubkey.bin as stored in the EEPROM.
io::RsaKey loadVerifyKey(const std::string& path) {
    auto bytes = readInput(path, "public key");
    constexpr std::size_t kPubkeyBinLen = 264;  // spec 1.7
    if (bytes.size() == kPubkeyBinLen && bytes[0] != '-') {
        std::vector<std::uint8_t> n(bytes.rend() - 256, bytes.rend());
        std::vector<std::uint8_t> e(bytes.rbegin(), bytes.rbegin() + 8);
        return must(io::RsaKey::fromPublicNumbers(n, e));
    }
    return must(io::RsaKey::loadPem(bytes, path));
}

void setupShow(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("show", "Print the embedded bootconf.txt");
    auto image = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("IMAGE", *image, "EEPROM image (pieeprom.bin)")->required();
    cmd->add_option("-o,--out", *out, "Write to this file instead of stdout");
    cmd->callback([image, out] {
        guarded([&] {
            auto img = must(ae::loadImage(*image));
            auto conf = pe::readFile(img.bytes, img.layout, "bootconf.txt");
            if (!conf) {
                throw Failure{fmt::format("{}: no bootconf.txt in the image", *image)};
            }
            if (out->empty()) {
                std::cout.write(reinterpret_cast<const char*>(conf->data()),
                                static_cast<std::streamsize>(conf->size()));
                std::cout.flush();
            } else {
                writeOutput(*out, *conf);
            }
        });
    });
}

void setupInfo(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("info", "Describe an image: chip, layout, sections, files");
    auto image = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("IMAGE", *image, "EEPROM image")->required();
    cmd->add_flag("--json", *json, "Machine-readable output");
    cmd->callback([image, json] {
        guarded([&] {
            auto img = must(ae::loadImage(*image));
            const auto& L = img.layout;
            const std::string chip(pe::chipName(*L.chip()));
            const bool ab = L.isAB();
            auto pk = pe::readFile(img.bytes, L, "pubkey.bin");
            const bool pubkeyPresent = pk && pe::isNonZero(*pk);
            auto conf = pe::readFile(img.bytes, L, "bootconf.txt");
            std::optional<std::string> order;
            if (conf) {
                order = pe::getKey(
                    std::string_view(reinterpret_cast<const char*>(conf->data()), conf->size()),
                    "BOOT_ORDER");
            }
            if (*json) {
                nlohmann::json j;
                j["file"] = *image;
                j["size"] = L.size;
                j["chip"] = chip;
                j["layout"] = ab ? "ab" : "classic";
                j["sections"] = nlohmann::json::array();
                for (const auto& s : L.sections) {
                    nlohmann::json js{{"offset", s.offset},
                                      {"magic", fmt::format("{:08x}", s.magic)},
                                      {"kind", pe::kindName(s.kind)},
                                      {"length", s.length}};
                    if (s.kind == pe::SectionKind::File) {
                        js["name"] = s.name;
                    }
                    j["sections"].push_back(js);
                }
                j["files"] = nlohmann::json::array();
                for (const auto& name : L.fileNames()) {
                    auto c = *pe::readFile(img.bytes, L, name);
                    j["files"].push_back(
                        {{"name", name}, {"size", c.size()}, {"sha256", io::sha256Hex(c)}});
                }
                j["pubkey_present"] = pubkeyPresent;
                nlohmann::json bo;
                bo["set"] = order.has_value();
                const std::string effective = order.value_or("0xf41");
                bo["value"] = effective;
                if (auto v = pe::parseBootOrder(effective)) {
                    bo["words"] = pe::describeBootOrder(*v);
                    bo["modes"] = nlohmann::json::array();
                    for (const auto& m : pe::bootOrderSteps(*v)) {
                        bo["modes"].push_back(std::string(m.name));
                    }
                } else {
                    bo["error"] = v.error().message;
                }
                j["boot_order"] = bo;
                std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                          << '\n';
                return;
            }
            std::cout << fmt::format("image:      {} ({} bytes)\n", *image, L.size);
            std::cout << fmt::format("chip:       BCM{}\n", chip);
            std::cout << fmt::format("layout:     {}\n", ab ? "A/B" : "classic");
            std::cout << fmt::format("public key: {}\n", !pk ? "no pubkey.bin section"
                                                         : pubkeyPresent
                                                             ? "present (pubkey.bin is set)"
                                                             : "none (pubkey.bin is all zeros)");
            std::cout << fmt::format("BOOT_ORDER: {}\n",
                                     conf ? bootOrderLine(order) : std::string("no bootconf.txt"));
            std::cout << "sections:\n";
            std::cout << fmt::format("  {:>8}  {:8}  {:8}  {:>8}  {}\n", "offset", "magic", "kind",
                                     "length", "file");
            for (const auto& s : L.sections) {
                std::cout << fmt::format("  {:#08x}  {:08x}  {:8}  {:>8}  {}\n", s.offset, s.magic,
                                         pe::kindName(s.kind), s.length, s.name);
            }
            std::cout << "files:\n";
            for (const auto& name : L.fileNames()) {
                auto c = *pe::readFile(img.bytes, L, name);
                std::cout << fmt::format("  {:14} {:>7} bytes  sha256 {}\n", name, c.size(),
                                         io::sha256Hex(c));
            }
        });
    });
}

bool safeFileName(const std::string& n) {
    if (n.empty() || n == "." || n == "..") {
        return false;
    }
    for (char c : n) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

void setupExtract(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("extract", "Write every embedded file into a directory");
    auto image = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>();
    cmd->add_option("IMAGE", *image, "EEPROM image")->required();
    cmd->add_option("-o,--out", *dir, "Output directory (created if missing)")->required();
    cmd->callback([image, dir] {
        guarded([&] {
            auto img = must(ae::loadImage(*image));
            const auto names = img.layout.fileNames();
            for (const auto& n : names) {
                if (!safeFileName(n)) {
                    throw Failure{fmt::format("{}: refusing to extract file name '{}'", *image, n)};
                }
            }
            std::error_code ec;
            fs::create_directories(*dir, ec);
            if (ec) {
                throw Failure{fmt::format("{}: cannot create directory: {}", *dir, ec.message())};
            }
            for (const auto& n : names) {
                auto c = *pe::readFile(img.bytes, img.layout, n);
                writeOutput((fs::path(*dir) / n).string(), c);
                std::cout << fmt::format("{} ({} bytes)\n", (fs::path(*dir) / n).string(),
                                         c.size());
            }
        });
    });
}

void setupApply(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand(
        "apply", "Replace the config (and optionally timestamp, bootconf.sig, pubkey.bin)");
    struct Opts {
        std::string image, config, out, timestamp, pubkey, digest;
        bool force = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("IMAGE", o->image, "EEPROM image")->required();
    cmd->add_option("-c,--config", o->config, "New bootconf.txt");
    cmd->add_option("-o,--out", o->out, "Output image (may be IMAGE itself)")->required();
    cmd->add_option("-t,--timestamp", o->timestamp, "Update timestamp (unix seconds)");
    cmd->add_option("-p,--pubkey", o->pubkey, "RSA-2048 PEM key -> pubkey.bin (with --config)");
    cmd->add_option("-d,--digest", o->digest, "Signature -> bootconf.sig (with --config)");
    cmd->add_flag("--force", o->force, "Write even if the config has lint errors");
    cmd->callback([o] {
        guarded([&] {
            ae::ApplyOptions opt;
            opt.timestamp = parseTsOption(o->timestamp);
            if (o->config.empty() && !opt.timestamp) {
                throw Failure{"apply: give --config and/or --timestamp"};
            }
            if (o->config.empty() && (!o->pubkey.empty() || !o->digest.empty())) {
                throw Failure{"apply: --pubkey and --digest need --config"};
            }
            auto img = mapImage(o->image);
            if (!o->config.empty()) {
                opt.config = ae::NamedBytes{o->config, readInput(o->config, "config")};
                lintBeforeWrite(asText(opt.config->bytes), o->config, o->force);
            }
            if (!o->digest.empty()) {
                opt.digest = ae::NamedBytes{o->digest, readInput(o->digest, "digest")};
            }
            if (!o->pubkey.empty()) {
                opt.pubkeyPem = ae::NamedBytes{o->pubkey, readInput(o->pubkey, "public key")};
            }
            // In place: the mapping is a private copy, and a 2 MiB copy is a third of the run time.
            if (auto r = ae::applyConfigInPlace(img.map.bytes(), opt); !r) {
                throw Failure{fmt::format("{}: {}", o->image, r.error().message)};
            }
            writeOutput(o->out, img.map.bytes());
            std::cout << fmt::format("{}: written ({} bytes)\n", o->out, img.map.bytes().size());
        });
    });
}

void setupSet(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("set", "Change or add KEY=VALUE settings in the config");
    struct Opts {
        std::string image, out, section = "all";
        std::vector<std::string> settings;
        bool force = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("IMAGE", o->image, "EEPROM image")->required();
    cmd->add_option("SETTINGS", o->settings, "KEY=VALUE ...")->required();
    cmd->add_option("-o,--out", o->out, "Output image (may be IMAGE itself)")->required();
    cmd->add_option("--section", o->section, "Filter section to edit (default: all)");
    cmd->add_flag("--force", o->force, "Write even if the result has lint errors");
    cmd->callback([o] {
        guarded([&] {
            auto img = mapImage(o->image);
            auto conf = pe::readFile(img.map.bytes(), img.layout, "bootconf.txt");
            if (!conf) {
                throw Failure{fmt::format("{}: no bootconf.txt in the image", o->image)};
            }
            std::string text(conf->begin(), conf->end());
            std::vector<std::string> changes;
            for (const auto& s : o->settings) {
                auto eq = s.find('=');
                if (eq == std::string::npos || eq == 0) {
                    throw Failure{fmt::format("set: '{}' is not KEY=VALUE", s)};
                }
                const std::string key = s.substr(0, eq);
                const std::string value = s.substr(eq + 1);
                auto before = pe::getKey(text, key, o->section);
                text = must(pe::setKey(text, key, value, o->section));
                changes.push_back(fmt::format("[{}] {}: {} -> {}", o->section, key,
                                              before.value_or("(unset)"), value));
            }
            const std::string name = o->image + ":bootconf.txt";
            lintBeforeWrite(text, name, o->force);
            ae::ApplyOptions opt;
            opt.config = ae::NamedBytes{name, {text.begin(), text.end()}};
            if (auto r = ae::applyConfigInPlace(img.map.bytes(), opt); !r) {
                throw Failure{fmt::format("{}: {}", o->image, r.error().message)};
            }
            writeOutput(o->out, img.map.bytes());
            for (const auto& c : changes) {
                std::cout << c << '\n';
            }
            std::cout << fmt::format("{}: written ({} bytes, config {} bytes)\n", o->out,
                                     img.map.bytes().size(), text.size());
        });
    });
}

void setupDigest(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("digest", "Write a .sig file (like rpi-eeprom-digest)");
    struct Opts {
        std::string image, out, timestamp, key;
        unsigned soc = 0;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("IMAGE", o->image, "Any file (pieeprom.bin, boot.conf, boot.img)")->required();
    cmd->add_option("-o,--out", o->out, "Output .sig file")->required();
    cmd->add_option("-t,--timestamp", o->timestamp,
                    "ts: value (default $SOURCE_DATE_EPOCH, else now)");
    cmd->add_option("-c,--soc", o->soc, "Add target-soc: 2711 or 2712");
    cmd->add_option("-k,--key", o->key, "RSA-2048 private key (PEM): add an rsa2048 signature");
    cmd->callback([o] {
        guarded([&] {
            auto data = readInput(o->image, "input");
            ae::DigestOptions opt;
            if (!o->timestamp.empty()) {
                opt.timestamp = must(ae::parseTimestamp(o->timestamp));
            } else {
                opt.timestamp = must(ae::defaultTimestamp());
            }
            if (o->soc != 0) {
                opt.targetSoc = o->soc;
            }
            std::optional<io::RsaKey> key;
            if (!o->key.empty()) {
                key = must(io::RsaKey::loadPem(readInput(o->key, "key"), o->key));
                if (!key->hasPrivate()) {
                    throw Failure{fmt::format("{}: not a private key", o->key)};
                }
                opt.signingKey = &*key;
            }
            auto text = must(ae::makeDigest(data, opt));
            writeOutput(o->out, asBytes(text));
            // Say what was written (rpi-eeprom-digest is silent; a person wants to know).
            const auto firstLine = text.substr(0, text.find('\n'));
            std::cout << fmt::format("{}: wrote ts {}{}{}, sha256 {} of {} ({} bytes)\n", o->out,
                                     opt.timestamp,
                                     o->soc != 0 ? fmt::format(", target-soc {}", o->soc) : "",
                                     opt.signingKey != nullptr ? ", rsa2048 signature" : "",
                                     firstLine, o->image, data.size());
        });
    });
}

void setupVerify(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("verify", "Check a file against its .sig");
    struct Opts {
        std::string image, sig, pubkey;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("IMAGE", o->image, "The signed file")->required();
    cmd->add_option("SIG", o->sig, "Its .sig file")->required();
    cmd->add_option("-k,--pubkey", o->pubkey, "Public key: PEM, or a 264-byte pubkey.bin");
    cmd->callback([o] {
        guarded([&] {
            auto data = readInput(o->image, "input");
            auto sigText = asText(readInput(o->sig, "signature"));
            std::optional<io::RsaKey> key;
            if (!o->pubkey.empty()) {
                key = loadVerifyKey(o->pubkey);
            }
            auto r = ae::verifyDigest(data, sigText, key ? &*key : nullptr);
            if (!r) {
                throw Failure{fmt::format("{}: {}: {}", o->image, o->sig, r.error().message)};
            }
            std::cout << fmt::format("{}: sha256 OK\n", o->image);
            if (r->signatureChecked) {
                std::cout << fmt::format("{}: RSA signature OK ({})\n", o->image, o->pubkey);
            } else if (r->signaturePresent) {
                std::cout << fmt::format(
                    "{}: rsa2048 signature present but not checked "
                    "(give --pubkey)\n",
                    o->image);
            }
        });
    });
}

void setupLint(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("lint", "Check a bootconf.txt for typos and bad values");
    auto conf = std::make_shared<std::string>();
    cmd->add_option("CONF", *conf, "Config file")->required();
    cmd->callback([conf] {
        guarded([&] {
            auto text = asText(readInput(*conf, "config"));
            auto diags = pe::lintConfig(text);
            if (reportLint(diags, *conf, std::cout)) {
                throw Failure{fmt::format("{}: config has errors", *conf)};
            }
            if (diags.empty()) {
                std::cout << fmt::format("{}: OK\n", *conf);
            }
        });
    });
}

void setupBootOrder(CLI::App& eeprom) {
    auto* cmd = eeprom.add_subcommand("boot-order", "Explain a BOOT_ORDER value in words");
    auto value = std::make_shared<std::string>();
    cmd->add_option("VALUE", *value, "e.g. 0xf21")->required();
    cmd->callback([value] {
        guarded([&] {
            auto v = must(pe::parseBootOrder(*value));
            std::cout << fmt::format("BOOT_ORDER={}: {}\n", *value, pe::describeBootOrder(v));
            int i = 1;
            bool sdBeforeNetwork = false;
            bool sd = false;
            bool network = false;
            for (const auto& m : pe::bootOrderSteps(v)) {
                std::cout << fmt::format("  {}. 0x{:x} {:15} {}\n", i++, m.nibble, m.name, m.words);
                network = network || m.nibble == 0x2;
                sdBeforeNetwork = sdBeforeNetwork || (m.nibble == 0x1 && !network);
                sd = sd || m.nibble == 0x1;
            }
            // On a Compute Module with eMMC the SD mode boots the eMMC (it sits on the SD
            // interface; CM4/CM5 datasheets): the netbooting trap of the seed's recipe.
            if (sd && sdBeforeNetwork && network) {
                std::cout << "warning: on a CM4/CM5 with eMMC, 0x1 (SD card) means the eMMC: a "
                             "board with an OS on its eMMC boots it and never tries the network; "
                             "to netboot such a board put 0x2 first (e.g. 0xf12), or erase the "
                             "eMMC's boot partition\n";
            } else if (sd) {
                std::cout << "note: on a CM4/CM5 with eMMC, 0x1 (SD card) means the eMMC\n";
            }
        });
    });
}

void setup(CLI::App* eeprom) {
    eeprom->require_subcommand(1);
    setupShow(*eeprom);
    setupInfo(*eeprom);
    setupExtract(*eeprom);
    setupApply(*eeprom);
    setupSet(*eeprom);
    setupDigest(*eeprom);
    setupVerify(*eeprom);
    setupLint(*eeprom);
    setupBootOrder(*eeprom);
    for (auto extension : eepromExtensions()) {
        extension(*eeprom);
    }
    const auto named = [](const CLI::App* a) {
        return a->get_name() == "rollout";
    };
    if (std::as_const(*eeprom).get_subcommands(named).empty()) {
        // The front (no extensions linked): list it all the same; `eeprom rollout ...`
        // itself is handed to pinetboot-full before parsing (cli/main.cc).
        auto* rollout = eeprom->add_subcommand("rollout", kRolloutSummary);
        rollout->allow_extras();
    }
}

}  // namespace

std::vector<EepromExtension>& eepromExtensions() {
    static std::vector<EepromExtension> all;
    return all;
}

PINET_COMMAND(10, "eeprom", "Raspberry Pi bootloader EEPROM images (rpi-eeprom-config compatible)",
              setup);
}  // namespace pinet::cli
