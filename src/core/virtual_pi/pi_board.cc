#include "core/virtual_pi/pi_board.h"

#include <algorithm>

#include <fmt/format.h>

#include "proto/byte_reader.h"
#include "proto/dhcp/pxe.h"
#include "proto/eeprom/image.h"
#include "proto/eeprom/self_update.h"
#include "proto/tftp/packet.h"

namespace pinet::core::virtual_pi {

namespace d = proto::dhcp;
namespace t = proto::tftp;

namespace {
constexpr std::uint16_t kTftpPort = 69;  // RFC 1350
// Spec §2.1: the Pi 4 parameter request list as captured (rpi-eeprom#69).
constexpr std::uint8_t kParamList[] = {1,   3,   43,  60,  66,  67,  128,
                                       129, 130, 131, 132, 133, 134, 135};
// Spec §4.1: the client aborts a probe with ERROR 0 "Early terminate".
constexpr std::string_view kEarlyTerminate = "Early terminate";
// A .sig is one hash line, ts, target-soc and a 512-hex-digit rsa2048 line (spec 1.11):
// under 700 bytes; 4 KiB bounds what the board keeps of one.
constexpr std::size_t kMaxSigKept = 4096;

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}
}  // namespace

const char* toString(Model model) {
    switch (model) {
        case Model::Cm4: return "cm4";
        case Model::Pi4: return "pi4";
        case Model::Pi5: return "pi5";
    }
    return "?";
}

std::optional<Model> parseModel(std::string_view text) {
    if (text == "cm4") {
        return Model::Cm4;
    }
    if (text == "pi4") {
        return Model::Pi4;
    }
    if (text == "pi5") {
        return Model::Pi5;
    }
    return std::nullopt;
}

std::optional<Bootloader> parseBootloader(std::string_view text) {
    if (text == "2020") {
        return Bootloader::V2020;
    }
    if (text == "2022") {
        return Bootloader::V2022;
    }
    if (text == "latest") {
        return Bootloader::Latest;
    }
    return std::nullopt;
}

std::uint32_t defaultRevision(Model model) {
    switch (model) {
        case Model::Cm4: return 0x00c03141;
        case Model::Pi4: return 0x00c03115;
        case Model::Pi5: return 0x00d04170;
    }
    return 0;
}

PiBoard::PiBoard(BoardConfig config, std::uint32_t xid, int firstSession)
    : config_(std::move(config)), xid_(xid), nextSession_(firstSession) {
    if (config_.boardRevision == 0) {
        config_.boardRevision = defaultRevision(config_.model);
    }
    prefix_ = initialPrefix();
    if (config_.selfUpdate) {
        eeprom_ = config_.selfUpdate->eeprom;
    }
}

unsigned PiBoard::soc() const {
    return config_.model == Model::Pi5 ? 2712 : 2711;  // Pi 5 / CM5: BCM2712; Pi 4 / CM4: 2711
}

std::string PiBoard::initialPrefix() const {
    switch (config_.tftpPrefix) {
        case 1: return config_.tftpPrefixStr;
        case 2:
            return fmt::format("{:02x}-{:02x}-{:02x}-{:02x}-{:02x}-{:02x}/", config_.mac[0],
                               config_.mac[1], config_.mac[2], config_.mac[3], config_.mac[4],
                               config_.mac[5]);
        default: return serialHex() + "/";
    }
}

std::string PiBoard::serialHex() const {
    return fmt::format("{:08x}", config_.serial);
}

void PiBoard::log(Clock::time_point now, std::string text) {
    timeline_.push_back({now - started_, std::move(text)});
}

void PiBoard::giveUp(Clock::time_point now, const std::string& why, bool fatal) {
    if (attempt_ < config_.maxAttempts) {
        const auto wait = fatal ? config_.fatalRestart : config_.retryBackoff;
        attemptFailures_.push_back(why);
        phase_ = Phase::Backoff;
        deadline_ = now + wait;
        log(now, fmt::format("attempt {} of {} fails: {}; {} in {:.1f} s", attempt_,
                             config_.maxAttempts, why,
                             fatal ? "fatal error: the board resets and boots again"
                                   : "the bootloader restarts its boot order",
                             seconds(wait)));
        return;
    }
    phase_ = Phase::Failed;
    deadline_ = Clock::time_point::max();
    verdict_ = "does not boot: " + why;
    if (config_.maxAttempts > 1) {
        verdict_ += fmt::format(" (attempt {} of {})", attempt_, config_.maxAttempts);
    }
    log(now, verdict_);
}

void PiBoard::resetBoot(Clock::time_point now) {
    if (config_.nextXid) {
        xid_ = config_.nextXid();
    } else {
        // Golden-ratio step: a bijection of the 32-bit space, so boards with distinct xids
        // keep distinct xids attempt by attempt.
        do {
            xid_ = xid_ * 0x9e3779b1u + 1u;
        } while (xid_ == 0);
    }
    // A new network boot knows nothing of the last one (spec §2.3: DHCP from the start).
    pxeOffer_.reset();
    addressOffer_.reset();
    offerProblems_.clear();
    ip_ = 0;
    netmask_ = 0;
    router_ = 0;
    tftpIp_ = 0;
    prefix_ = initialPrefix();
    plan_.clear();
    transfer_.reset();
    httpName_.clear();
    bootSig_.clear();
    updateSig_.clear();
    kernelName_.clear();
    filesFetched_ = 0;
    bytesFetched_ = 0;
    kernelTime_.reset();
    dhcpTime_.reset();
    attemptStarted_ = now;
    dhcpDeadline_ = now + config_.dhcpTimeout;
}

std::vector<Action> PiBoard::restartAttempt(Clock::time_point now) {
    ++attempt_;
    resetBoot(now);
    log(now,
        fmt::format("attempt {} of {}: the boot order starts over", attempt_, config_.maxAttempts));
    return sendDiscover(now);
}

std::vector<Action> PiBoard::rebootAfterFlash(Clock::time_point now) {
    if (!proto::eeprom::bootOrderNetboots(eeprom_.config)) {
        phase_ = Phase::Failed;
        deadline_ = Clock::time_point::max();
        const auto order = proto::eeprom::effectiveBootOrder(eeprom_.config);
        verdict_ = fmt::format(
            "does not netboot again: the flashed EEPROM's BOOT_ORDER {} has no network boot",
            order ? fmt::format("0x{:x}", *order) : std::string("(invalid)"));
        log(now, verdict_);
        return {};
    }
    resetBoot(now);
    log(now, fmt::format("reset after the self-update: boots again with EEPROM ts {}",
                         eeprom_.timestamp));
    return sendDiscover(now);
}

std::string PiBoard::attemptNote() const {
    if (attempt_ == 1) {
        return "";
    }
    return fmt::format("; on attempt {} (attempt 1: {})", attempt_,
                       attemptFailures_.empty() ? "?" : attemptFailures_.front());
}

d::Packet PiBoard::buildDiscover() const {
    d::Packet p;
    p.op = d::Op::BootRequest;
    p.xid = xid_;
    p.secs = 0;
    p.flags = 0;  // spec §2.1: broadcast bit not set
    p.setMac(config_.mac);
    p.setU8(d::opt::MessageType, static_cast<std::uint8_t>(d::MessageType::Discover));
    p.set(d::opt::ParameterList,
          std::vector<std::uint8_t>(std::begin(kParamList), std::end(kParamList)));
    p.set(d::opt::ClientArch, {0x00, 0x00});       // spec §2.1: arch 0 ("IA x86 PC")
    p.set(d::opt::ClientNdi, {0x01, 0x02, 0x01});  // spec §2.1: UNDI 2.1
    d::PiGuid g;
    g.modelDigit = config_.model == Model::Pi5 ? '5' : '4';
    g.boardRevision = config_.boardRevision;
    std::copy(config_.mac.begin() + 2, config_.mac.end(), g.macLsb.begin());
    g.serial = config_.serial;
    p.set(d::opt::ClientMachineId, d::buildPiGuid(g));
    p.setString(d::opt::VendorClass, d::kPiVendorClass);
    return p;
}

std::vector<Action> PiBoard::start(Clock::time_point now) {
    started_ = now;
    attemptStarted_ = now;
    dhcpDeadline_ = now + config_.dhcpTimeout;
    log(now,
        fmt::format("{} serial {} mac {} bootloader blksize {}{}", toString(config_.model),
                    serialHex(), d::macToString(config_.mac), requestedBlksize(),
                    config_.maxAttempts > 1 ? fmt::format("; attempt 1 of {}", config_.maxAttempts)
                                            : std::string()));
    return sendDiscover(now);
}

std::vector<Action> PiBoard::sendDiscover(Clock::time_point now) {
    phase_ = Phase::Discovering;
    deadline_ = std::min(now + config_.dhcpReqTimeout, dhcpDeadline_);
    log(now, fmt::format("DHCP DISCOVER xid 0x{:08x}", xid_));
    return {SendDhcp{d::serialize(buildDiscover())}};
}

std::vector<Action> PiBoard::sendRequest(Clock::time_point now) {
    phase_ = Phase::Requesting;
    deadline_ = std::min(now + config_.dhcpReqTimeout, dhcpDeadline_);
    d::Packet p = buildDiscover();
    p.options.clear();
    // Spec §2.3 / §12.2: the REQUEST carries requested IP and server id and omits option 60.
    p.setU8(d::opt::MessageType, static_cast<std::uint8_t>(d::MessageType::Request));
    p.setIp(d::opt::RequestedIp, addressOffer_->packet.yiaddr);
    if (auto sid = addressOffer_->packet.ipOption(d::opt::ServerId)) {
        p.setIp(d::opt::ServerId, *sid);
    }
    p.set(d::opt::ParameterList,
          std::vector<std::uint8_t>(std::begin(kParamList), std::end(kParamList)));
    const d::Packet disc = buildDiscover();
    p.set(d::opt::ClientArch, disc.find(d::opt::ClientArch)->data);
    p.set(d::opt::ClientNdi, disc.find(d::opt::ClientNdi)->data);
    p.set(d::opt::ClientMachineId, disc.find(d::opt::ClientMachineId)->data);
    log(now,
        fmt::format(
            "DHCP REQUEST {} from server {}", d::ipToString(addressOffer_->packet.yiaddr),
            d::ipToString(
                addressOffer_->packet.ipOption(d::opt::ServerId).value_or(addressOffer_->from))));
    return {SendDhcp{d::serialize(p)}};
}

std::string PiBoard::offerSummary(const Offer& o) const {
    return fmt::format("from {} yiaddr {} siaddr {}", d::ipToString(o.from),
                       d::ipToString(o.packet.yiaddr), d::ipToString(o.packet.siaddr));
}

std::vector<Action> PiBoard::onDhcp(const d::Packet& packet, Ip4 sourceIp, Clock::time_point now) {
    if (packet.op != d::Op::BootReply || packet.xid != xid_ || packet.mac() != config_.mac) {
        return {};
    }
    const auto type = packet.messageType();
    if (!type) {
        return {};
    }
    Offer offer{sourceIp, packet};
    if (auto sid = packet.ipOption(d::opt::ServerId)) {
        offer.from = *sid;
    }
    if (phase_ == Phase::Discovering && *type == d::MessageType::Offer) {
        bool pxe = false;
        if (const d::Option* o43 = packet.find(d::opt::VendorSpecific)) {
            const auto vendor = d::parsePxeVendorOptions(o43->data);
            if (d::pxeMenuMatches(vendor, config_.pxeMatch)) {
                pxe = true;
            } else {
                std::string items;
                for (const auto& it : vendor.menu) {
                    items += (items.empty() ? "'" : ", '") + it.description + "'";
                }
                offerProblems_.push_back(fmt::format(
                    "option 43 from {} has no menu item containing '{}' (menu: {})",
                    d::ipToString(offer.from), config_.pxeMatch, items.empty() ? "none" : items));
            }
        } else {
            offerProblems_.push_back(
                fmt::format("option 43 missing in the offer from {}", d::ipToString(offer.from)));
        }
        log(now, fmt::format("DHCP OFFER {}{}{}", offerSummary(offer),
                             pxe ? " [PXE menu matches]" : " [no PXE menu]",
                             packet.yiaddr == 0 ? " (proxy: no address)" : ""));
        if (pxe && !pxeOffer_) {
            pxeOffer_ = offer;
        }
        if (packet.yiaddr != 0 && !addressOffer_) {
            addressOffer_ = offer;
        }
        // HTTP boot needs an address only (spec §5: no option 43).
        if (addressOffer_ && (pxeOffer_ || config_.method == BootMethod::Http)) {
            return sendRequest(now);
        }
        return {};
    }
    if (phase_ != Phase::Requesting) {
        return {};
    }
    const Ip4 wantServer =
        addressOffer_->packet.ipOption(d::opt::ServerId).value_or(addressOffer_->from);
    if (*type == d::MessageType::Nak && offer.from == wantServer) {
        log(now, fmt::format("DHCP NAK from {}: {}", d::ipToString(offer.from),
                             packet.stringOption(d::opt::Message).value_or("")));
        pxeOffer_.reset();
        addressOffer_.reset();
        return sendDiscover(now);
    }
    if (*type != d::MessageType::Ack || offer.from != wantServer) {
        return {};  // e.g. a proxy's ACK without address (tolerated, spec §3.3)
    }
    if (packet.yiaddr == 0) {
        return {};
    }
    ip_ = packet.yiaddr;
    netmask_ = packet.ipOption(d::opt::SubnetMask).value_or(0);
    router_ = packet.ipOption(d::opt::Router).value_or(0);
    dhcpTime_ = now - started_;
    if (config_.method == BootMethod::Http) {
        log(now, fmt::format("DHCP ACK: NET {} {} gw {}", d::ipToString(ip_),
                             d::ipToString(netmask_), d::ipToString(router_)));
        return beginHttp(now);
    }
    // Spec §3.2: TFTP_IP > option 66 (dotted decimal only) > siaddr > option 54 of the PXE offer.
    const d::Packet& px = pxeOffer_->packet;
    std::string source;
    if (auto o66 = px.stringOption(d::opt::TftpServerName)) {
        if (auto ip = d::parseIp(std::string(o66->substr(0, o66->find('\0'))))) {
            tftpIp_ = *ip;
            source = "option 66";
        }
    }
    if (tftpIp_ == 0 && px.siaddr != 0) {
        tftpIp_ = px.siaddr;
        source = "siaddr";
    }
    if (tftpIp_ == 0) {
        tftpIp_ = px.ipOption(d::opt::ServerId).value_or(pxeOffer_->from);
        source = "option 54";
    }
    log(now,
        fmt::format("DHCP ACK: NET {} {} gw {} tftp {} ({} of the PXE offer)", d::ipToString(ip_),
                    d::ipToString(packet.ipOption(d::opt::SubnetMask).value_or(0)),
                    d::ipToString(packet.ipOption(d::opt::Router).value_or(0)),
                    d::ipToString(tftpIp_), source));
    return beginTftp(now);
}

std::uint32_t PiBoard::requestedBlksize() const {
    // Spec §4.1: 1024 from 2019-10 to 2022-10, 1468 since 2022-10-03 and on the 2712.
    if (config_.model != Model::Pi5 && config_.bootloader == Bootloader::V2020) {
        return 1024;
    }
    return 1468;
}

void PiBoard::buildPlan() {
    using R = Step::Role;
    plan_.clear();
    bool firmware = false;  // from start4.elf's own client on (Pi 4/CM4 only)
    auto add = [&](std::string name, bool sizeQueryOnly, bool required, R role = R::Normal) {
        plan_.push_back(Step{std::move(name), sizeQueryOnly, required, firmware, role});
    };
    if (config_.model == Model::Pi5) {
        // Spec §4.4: everything by the EEPROM bootloader; prefix probe file inferred [I].
        add("config.txt", true, false, R::PrefixQuery);
        add("config.txt", false, false);
        if (!config_.selfUpdate || proto::eeprom::selfUpdateEnabled(eeprom_.config)) {
            add("pieeprom.sig", false, false, R::SelfUpdateSig);
        }
        add("bcm2712-rpi-5-b.dtb", false, true);
        add("overlays/overlay_map.dtb", false, false);
        add("cmdline.txt", false, false);
        add("kernel_2712.img", true, false, R::Kernel);
        add("kernel8.img", true, true, R::KernelAlt);
        add("initramfs_2712", false, false);
        return;
    }
    // Spec §4.3, bootloader part.
    add("start4.elf", true, false, R::PrefixQuery);
    add("start.elf", true, false, R::PrefixQueryAlt);
    add("config.txt", false, false);
    if (config_.model == Model::Pi4) {
        add("vl805.sig", false, false);  // CM4 has no VL805 EEPROM (spec §4.3 step 3)
    }
    if (!config_.selfUpdate || proto::eeprom::selfUpdateEnabled(eeprom_.config)) {
        add("pieeprom.sig", false, false, R::SelfUpdateSig);
    }
    add("start4.elf", true, true);
    add("start4.elf", false, true);
    add("fixup4.dat", false, true);
    // start4.elf's own TFTP client (spec §4.3 steps 6-11).
    firmware = true;
    add("config.txt", false, false);
    add(config_.model == Model::Cm4 ? "bcm2711-rpi-cm4.dtb" : "bcm2711-rpi-4-b.dtb", false, true);
    add("overlays/overlay_map.dtb", false, false);
    add("overlays/vc4-kms-v3d.dtbo", false, false);
    add("cmdline.txt", false, false);
    add("kernel8.img", true, true, R::Kernel);
    add("initramfs8", false, false);
}

std::vector<Action> PiBoard::beginTftp(Clock::time_point now) {
    phase_ = Phase::Tftp;
    buildPlan();
    return nextStep(now);
}

std::string PiBoard::httpUrl(const std::string& name) const {
    std::string path = config_.httpPath;
    while (!path.empty() && path.front() == '/') {
        path.erase(path.begin());
    }
    while (!path.empty() && path.back() == '/') {
        path.pop_back();
    }
    return fmt::format("/{}{}{}", path, path.empty() ? "" : "/", name);
}

std::vector<Action> PiBoard::beginHttp(Clock::time_point now) {
    phase_ = Phase::Http;
    // Spec §5: boot.sig first, then boot.img.
    return httpGet("boot.sig", now);
}

std::vector<Action> PiBoard::httpGet(const std::string& name, Clock::time_point now) {
    httpRequest_ = nextSession_++;
    httpName_ = name;
    httpStarted_ = now;
    // The app's HTTP client times out first; this deadline only catches a lost answer.
    deadline_ = now + config_.httpTimeout + std::chrono::seconds(5);
    const std::string url = httpUrl(name);
    log(now, fmt::format("HTTP GET http://{}:{}{}", d::ipToString(config_.httpHost),
                         config_.httpPort, url));
    return {HttpGet{httpRequest_, config_.httpHost, config_.httpPort, url, config_.httpTimeout,
                    name == "boot.img"}};
}

std::vector<Action> PiBoard::onHttp(int request, const HttpResult& r, Clock::time_point now) {
    if (phase_ != Phase::Http || request != httpRequest_) {
        return {};
    }
    const std::string what = fmt::format("HTTP GET http://{}:{}{}", d::ipToString(config_.httpHost),
                                         config_.httpPort, httpUrl(httpName_));
    if (r.status == 0) {
        giveUp(now, fmt::format("{}: {}", what, r.error));
        return {};
    }
    if (r.redirect) {
        giveUp(now, fmt::format("{}: {} redirect, which the bootloader does not follow "
                                "(rpi-eeprom#475)",
                                what, r.status));
        return {};
    }
    if (r.status != 200) {
        giveUp(now, fmt::format("{}: HTTP {}", what, r.status));
        return {};
    }
    const std::uint64_t size = r.sha256 ? r.length : r.body.size();
    log(now,
        fmt::format("{}: 200, {} bytes in {:.3f} s", httpName_, size, seconds(now - httpStarted_)));
    if (!r.contentLength) {
        // Spec §5: serve with Content-Length, no chunked encoding.
        log(now, "warning: no Content-Length (chunked?); the bootloader may not accept it");
    }
    ++filesFetched_;
    bytesFetched_ += size;
    if (httpName_ == "boot.sig") {
        bootSig_ = r.body;
        return httpGet("boot.img", now);
    }
    std::string detail = "not checked";
    if (config_.verifyBootImage) {
        const std::string_view sig = proto::asText(bootSig_);
        const std::string problem =
            config_.verifyBootImage(BootImage{r.body, size, r.sha256}, sig, detail);
        if (!problem.empty()) {
            giveUp(now, "boot.img rejected: " + problem);
            return {};
        }
    }
    kernelTime_ = now - started_;
    kernelName_ = "boot.img";
    phase_ = Phase::Done;
    deadline_ = Clock::time_point::max();
    verdict_ = fmt::format(
        "boots: DHCP {:.3f} s, boot.sig + boot.img ({} bytes) over HTTP from {}, signature {}, "
        "boot file system loaded after {:.3f} s{}",
        seconds(dhcpTime_.value_or(Clock::duration{})), size, d::ipToString(config_.httpHost),
        detail, seconds(*kernelTime_), attemptNote());
    log(now, verdict_);
    return {};
}

std::vector<Action> PiBoard::nextStep(Clock::time_point now) {
    if (plan_.empty()) {
        phase_ = Phase::Done;
        deadline_ = Clock::time_point::max();
        verdict_ = fmt::format(
            "boots: DHCP {:.3f} s, {} files ({} bytes) from {} with prefix '{}', kernel {} "
            "loaded after {:.3f} s{}",
            seconds(dhcpTime_.value_or(Clock::duration{})), filesFetched_, bytesFetched_,
            d::ipToString(tftpIp_), prefix_, kernelName_,
            seconds(kernelTime_.value_or(Clock::duration{})), attemptNote());
        log(now, verdict_);
        return {};
    }
    Step step = plan_.front();
    plan_.pop_front();
    return startTransfer(step, now);
}

std::vector<Action> PiBoard::startTransfer(const Step& step, Clock::time_point now) {
    Transfer tr;
    tr.session = nextSession_++;
    tr.step = step;
    tr.path = prefix_ + step.name;
    tr.started = now;
    tr.fileDeadline = now + config_.tftpFileTimeout;
    tr.retransmitAt = now + config_.tftpRetransmit;
    if (config_.selfUpdate &&
        (step.role == Step::Role::SelfUpdateSig || step.role == Step::Role::SelfUpdateImage)) {
        tr.keep = true;
        // The largest EEPROM image is the 2712's 2 MiB (spec 1.1).
        tr.keepLimit =
            step.role == Step::Role::SelfUpdateSig ? kMaxSigKept : proto::eeprom::kImageSize2712;
    }
    // Spec §4.1: "<prefix><file>" octet tsize 0 blksize N, in that order.
    t::Request rrq;
    rrq.opcode = t::Opcode::Rrq;
    rrq.filename = tr.path;
    rrq.mode = t::Mode::Octet;
    rrq.options = {{"tsize", "0"}, {"blksize", std::to_string(requestedBlksize())}};
    tr.lastSent = t::buildRequest(rrq);
    std::vector<Action> out{SendTftp{tr.session, tftpIp_, kTftpPort, tr.lastSent}};
    transfer_ = std::move(tr);
    updateDeadline();
    return out;
}

void PiBoard::updateDeadline() {
    if (transfer_) {
        deadline_ = std::min(transfer_->retransmitAt, transfer_->fileDeadline);
    }
}

std::vector<Action> PiBoard::finishTransfer(FileResult result, std::string detail,
                                            Clock::time_point now) {
    using R = Step::Role;
    Transfer tr = std::move(*transfer_);
    transfer_.reset();
    std::vector<Action> out{CloseTftp{tr.session}};
    const double took = seconds(now - tr.started);
    const std::string what = tr.step.sizeQueryOnly ? "probe" : "get";
    switch (result) {
        case FileResult::Found:
            if (tr.step.sizeQueryOnly) {
                log(now,
                    fmt::format("TFTP {} {}: exists{} ({:.3f} s, aborted with 'Early terminate')",
                                what, tr.path, tr.tsize ? fmt::format(", tsize {}", *tr.tsize) : "",
                                took));
            } else {
                ++filesFetched_;
                bytesFetched_ += tr.received;
                log(now, fmt::format("TFTP {} {}: complete {} bytes, blksize {} ({:.3f} s)", what,
                                     tr.path, tr.received, tr.blksize, took));
            }
            break;
        case FileResult::NotFound:
            log(now, fmt::format("TFTP {} {}: not found", what, tr.path));
            break;
        case FileResult::Error:
        case FileResult::Timeout:
            giveUp(now,
                   fmt::format("TFTP {} {} from {}: {}", what, tr.path, d::ipToString(tftpIp_),
                               detail),
                   tr.step.firmware);
            return out;
    }
    const bool found = result == FileResult::Found;
    switch (tr.step.role) {
        case R::PrefixQuery:
            if (found) {
                // The prefix exists: skip the alternative probe.
                if (!plan_.empty() && plan_.front().role == R::PrefixQueryAlt) {
                    plan_.pop_front();
                }
            } else if (plan_.empty() || plan_.front().role != R::PrefixQueryAlt) {
                log(now,
                    fmt::format("prefix '{}' not usable: requesting from the TFTP root", prefix_));
                prefix_.clear();
            }
            break;
        case R::PrefixQueryAlt:
            if (!found) {
                log(now, fmt::format("neither {}start4.elf nor {}start.elf: prefix cleared, "
                                     "requesting from the TFTP root",
                                     prefix_, prefix_));
                prefix_.clear();
            }
            break;
        case R::Kernel:
        case R::KernelAlt:
            if (found && tr.step.sizeQueryOnly) {
                while (!plan_.empty() && plan_.front().role == R::KernelAlt) {
                    plan_.pop_front();
                }
                plan_.push_front(Step{tr.step.name, false, true, tr.step.firmware, R::Kernel});
            } else if (found) {
                kernelName_ = tr.step.name;
                kernelTime_ = now - started_;
                log(now, fmt::format("kernel {} loaded: a real board would now start Linux",
                                     tr.step.name));
            }
            break;
        case R::SelfUpdateSig:
            if (found && config_.selfUpdate) {
                updateSig_.assign(tr.data.begin(), tr.data.end());
                const SigDecision d = tr.overflow ? SigDecision{SigAction::Skip, std::nullopt,
                                                                "pieeprom.sig ignored: over 4 KiB"}
                                                  : decideOnSig(eeprom_, updateSig_, soc());
                if (d.action == SigAction::FetchUpdate && flashes_ >= kMaxFlashes) {
                    log(now,
                        d.text + fmt::format(" (not taken: {} flashes in this run)", flashes_));
                } else {
                    log(now, d.text);
                    if (d.action == SigAction::FetchUpdate) {
                        plan_.push_front(
                            Step{"pieeprom.upd", false, false, false, R::SelfUpdateImage});
                    }
                }
            }
            break;
        case R::SelfUpdateImage:
            if (!found) {
                log(now, "pieeprom.upd not found: boots on with the EEPROM it has");
            } else if (tr.overflow) {
                refused_.push_back("pieeprom.upd refused: larger than any EEPROM image");
                log(now, refused_.back() + "; boots on with the EEPROM it has");
            } else {
                FlashOutcome f =
                    checkAndFlash(eeprom_, tr.data, updateSig_, config_.selfUpdate->verify, soc());
                if (f.flashed) {
                    eeprom_ = std::move(f.next);
                    ++flashes_;
                    log(now, f.text);
                    phase_ = Phase::Flashing;
                    deadline_ = now + config_.selfUpdate->flashTime;
                    return out;
                }
                refused_.push_back(f.text);
                log(now, f.text + "; boots on with the EEPROM it has");
            }
            break;
        case R::Normal: break;
    }
    if (!found && tr.step.required) {
        const std::string original = serialHex() + "/";
        giveUp(now,
               prefix_.empty() ? fmt::format("{} not found under {} nor /", tr.step.name, original)
                               : fmt::format("{} not found under {}", tr.step.name, prefix_),
               tr.step.firmware);
        return out;
    }
    auto more = nextStep(now);
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

std::vector<Action> PiBoard::onTftp(int session, std::uint16_t fromPort,
                                    std::span<const std::uint8_t> bytes, Clock::time_point now) {
    if (!transfer_ || transfer_->session != session || phase_ != Phase::Tftp) {
        return {};
    }
    Transfer& tr = *transfer_;
    if (tr.serverPort != 0 && fromPort != tr.serverPort) {
        return {};  // RFC 1350 §4: wrong TID; the board ignores it
    }
    auto parsed = t::parse(bytes);
    if (!parsed) {
        return {};
    }
    const bool first = tr.serverPort == 0;
    tr.serverPort = fromPort;
    auto reply = [&](std::vector<std::uint8_t> b) {
        tr.lastSent = b;
        tr.retransmitAt = now + config_.tftpRetransmit;
        updateDeadline();
        return std::vector<Action>{SendTftp{tr.session, tftpIp_, tr.serverPort, std::move(b)}};
    };
    if (const auto* err = std::get_if<t::ErrorPacket>(&*parsed)) {
        if (err->code == static_cast<std::uint16_t>(t::ErrorCode::FileNotFound)) {
            return finishTransfer(FileResult::NotFound, {}, now);
        }
        return finishTransfer(FileResult::Error,
                              fmt::format("TFTP error {} '{}'", err->code, err->message), now);
    }
    if (const auto* oack = std::get_if<t::Oack>(&*parsed)) {
        if (!first) {
            return {};
        }
        for (const auto& o : oack->options) {
            if (t::equalsIgnoreCase(o.name, "tsize")) {
                tr.tsize = std::strtoull(o.value.c_str(), nullptr, 10);
            } else if (t::equalsIgnoreCase(o.name, "blksize")) {
                tr.blksize = static_cast<std::uint32_t>(std::strtoul(o.value.c_str(), nullptr, 10));
            }
        }
        if (tr.blksize == 0 || tr.blksize > requestedBlksize()) {
            // The bootloader logs "BAD OACK" for a block size it did not ask for (spec §4.1).
            return finishTransfer(FileResult::Error,
                                  fmt::format("BAD OACK: blksize {}", tr.blksize), now);
        }
        if (tr.step.sizeQueryOnly) {
            auto acts = reply(t::buildError(t::ErrorCode::NotDefined, kEarlyTerminate));
            auto fin = finishTransfer(FileResult::Found, {}, now);
            acts.insert(acts.end(), fin.begin(), fin.end());
            return acts;
        }
        return reply(t::buildAck(0));
    }
    if (const auto* data = std::get_if<t::Data>(&*parsed)) {
        if (first) {
            tr.blksize = t::kDefaultBlockSize;  // server without option support (spec §4.1)
            if (tr.step.sizeQueryOnly) {
                auto acts = reply(t::buildError(t::ErrorCode::NotDefined, kEarlyTerminate));
                auto fin = finishTransfer(FileResult::Found, {}, now);
                acts.insert(acts.end(), fin.begin(), fin.end());
                return acts;
            }
        }
        const std::uint16_t expected = static_cast<std::uint16_t>(tr.lastBlock + 1);
        if (data->block == tr.lastBlock && !first) {
            return reply(t::buildAck(tr.lastBlock));  // duplicate: re-ACK (spec §4.1)
        }
        if (data->block != expected) {
            return {};
        }
        if (expected == 0 && config_.bootloader != Bootloader::Latest) {
            // Spec §4.1: block counter rollover only since 2025-09-23.
            return finishTransfer(FileResult::Error,
                                  "file has more than 65535 blocks; this bootloader cannot roll "
                                  "the block counter over",
                                  now);
        }
        tr.lastBlock = data->block;
        tr.received += data->payload.size();
        if (tr.keep && !tr.overflow) {
            if (tr.data.size() + data->payload.size() > tr.keepLimit) {
                tr.overflow = true;
                tr.data.clear();
                tr.data.shrink_to_fit();
            } else {
                tr.data.insert(tr.data.end(), data->payload.begin(), data->payload.end());
            }
        }
        auto acts = reply(t::buildAck(data->block));
        if (data->payload.size() < tr.blksize) {
            if (tr.tsize && *tr.tsize != tr.received) {
                auto fin = finishTransfer(
                    FileResult::Error,
                    fmt::format("received {} bytes but tsize said {}", tr.received, *tr.tsize),
                    now);
                acts.insert(acts.end(), fin.begin(), fin.end());
                return acts;
            }
            auto fin = finishTransfer(FileResult::Found, {}, now);
            acts.insert(acts.end(), fin.begin(), fin.end());
        }
        return acts;
    }
    return {};
}

std::vector<Action> PiBoard::onTimer(Clock::time_point now) {
    if (now < deadline_ || finished()) {
        return {};
    }
    if (phase_ == Phase::Backoff) {
        return restartAttempt(now);
    }
    if (phase_ == Phase::Flashing) {
        return rebootAfterFlash(now);
    }
    if (phase_ == Phase::Discovering || phase_ == Phase::Requesting) {
        if (now >= dhcpDeadline_) {
            deadline_ = Clock::time_point::max();
            const auto secs =
                std::chrono::duration_cast<std::chrono::seconds>(config_.dhcpTimeout).count();
            if (phase_ == Phase::Requesting) {
                giveUp(now, fmt::format("no DHCP ACK for {} within {} s",
                                        d::ipToString(addressOffer_->packet.yiaddr), secs));
            } else if (pxeOffer_ && !addressOffer_) {
                giveUp(now, fmt::format("no address offer: only a proxy offer (yiaddr 0) from {}; "
                                        "no DHCP server handed out an address",
                                        d::ipToString(pxeOffer_->from)));
            } else if (!pxeOffer_ && !offerProblems_.empty()) {
                giveUp(now, "no PXE offer: " + offerProblems_.front());
            } else {
                giveUp(now, fmt::format("no DHCP offer within {} s", secs));
            }
            return {};
        }
        if (phase_ == Phase::Requesting) {
            return sendRequest(now);
        }
        return sendDiscover(now);
    }
    if (phase_ == Phase::Http) {
        giveUp(now,
               fmt::format(
                   "HTTP GET {}: no answer within {} s", httpUrl(httpName_),
                   std::chrono::duration_cast<std::chrono::seconds>(config_.httpTimeout).count()));
        return {};
    }
    if (phase_ == Phase::Tftp && transfer_) {
        Transfer& tr = *transfer_;
        if (now >= tr.fileDeadline) {
            return finishTransfer(FileResult::Timeout,
                                  fmt::format("timeout: no complete answer within {} s",
                                              std::chrono::duration_cast<std::chrono::seconds>(
                                                  config_.tftpFileTimeout)
                                                  .count()),
                                  now);
        }
        if (now >= tr.retransmitAt) {
            tr.retransmitAt = now + config_.tftpRetransmit;
            updateDeadline();
            const std::uint16_t port = tr.serverPort != 0 ? tr.serverPort : kTftpPort;
            return {SendTftp{tr.session, tftpIp_, port, tr.lastSent}};
        }
        updateDeadline();
    }
    return {};
}

}  // namespace pinet::core::virtual_pi
