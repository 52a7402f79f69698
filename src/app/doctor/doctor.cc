#include "app/doctor/doctor.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/client/client_manager.h"
#include "app/client/root_edit.h"
#include "app/doctor/mtu.h"
#include "app/doctor/neighbour_table.h"
#include "app/doctor/trees.h"
#include "app/image/boot_layout.h"
#include "app/image/in_place.h"
#include "app/nbd/boot_view.h"
#include "app/nbd/nbd_manager.h"
#include "app/nfs/nfs_manager.h"
#include "core/boot/link_watch.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/fs/mount.h"
#include "io/net/interface.h"
#include "io/net/udp_socket.h"
#include "io/nfs/nfs_backend.h"
#include "io/process/process.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/netboot/cmdline.h"
#include "proto/netboot/initramfs.h"
#include "proto/text/safe_text.h"

namespace pinet::app {

namespace fs = std::filesystem;

namespace {

Finding ok(std::string check, std::string msg) {
    return {Severity::Ok, std::move(check), std::move(msg), {}};
}
Finding warn(std::string check, std::string msg, std::string fix) {
    return {Severity::Warn, std::move(check), std::move(msg), std::move(fix)};
}
Finding bad(std::string check, std::string msg, std::string fix) {
    return {Severity::Fail, std::move(check), std::move(msg), std::move(fix)};
}

void checkInterface(const ServerSettings& s, std::vector<Finding>& out) {
    if (s.interface.empty()) {
        out.push_back(warn("interface", "no boot interface configured",
                           "pinetboot settings set --interface IFNAME (the port the Pis are "
                           "cabled to)"));
        return;
    }
    auto r =
        io::runProcess({"ip", "-j", "addr", "show", "dev", s.interface}, std::chrono::seconds(10));
    if (!r || r->exitCode != 0) {
        out.push_back(bad("interface", fmt::format("interface {} not found", s.interface),
                          "check the name with `ip link`, then pinetboot settings set "
                          "--interface IFNAME"));
        return;
    }
    auto j = nlohmann::json::parse(r->out, nullptr, false);
    if (j.is_discarded() || !j.is_array() || j.empty()) {
        out.push_back(bad("interface", "cannot read `ip -j addr` output", "check iproute2"));
        return;
    }
    const auto& ifj = j[0];
    bool up = false;
    for (const auto& f : ifj.value("flags", nlohmann::json::array())) {
        up = up || f == "UP";
    }
    bool lowerUp = false;
    for (const auto& f : ifj.value("flags", nlohmann::json::array())) {
        lowerUp = lowerUp || f == "LOWER_UP";
    }
    if (!up) {
        out.push_back(bad("interface", fmt::format("{} is down", s.interface),
                          fmt::format("ip link set {} up (and make it persistent)", s.interface)));
        return;
    }
    std::string staticAddr;
    std::string dynAddr;
    for (const auto& a : ifj.value("addr_info", nlohmann::json::array())) {
        if (a.value("family", "") != "inet") {
            continue;
        }
        std::string addr = fmt::format("{}/{}", a.value("local", ""), a.value("prefixlen", 0));
        (a.value("dynamic", false) ? dynAddr : staticAddr) = addr;
    }
    if (!staticAddr.empty()) {
        out.push_back(ok("interface", fmt::format("{} is up{} with static address {}", s.interface,
                                                  lowerUp ? "" : " (no carrier)", staticAddr)));
        if (!s.serverIp.empty() && staticAddr.rfind(s.serverIp + "/", 0) != 0) {
            out.push_back(warn("interface",
                               fmt::format("server address {} (nfsroot=) is not {}'s address {}",
                                           s.serverIp, s.interface, staticAddr),
                               fmt::format("pinetboot settings set --server-ip {} (the boot "
                                           "interface's address), then pinetboot client set "
                                           "SERIAL for each client (rewrites cmdline.txt, keeps "
                                           "the root)",
                                           staticAddr.substr(0, staticAddr.find('/')))));
        }
    } else if (!dynAddr.empty()) {
        out.push_back(bad("interface",
                          fmt::format("{} has only a DHCP-assigned address {}: it can change and "
                                      "break every nfsroot=",
                                      s.interface, dynAddr),
                          "give it a static address (NetworkManager: ipv4.method manual; "
                          "ifupdown: iface ... inet static)"));
    } else {
        out.push_back(bad("interface", fmt::format("{} has no IPv4 address", s.interface),
                          fmt::format("ip addr add 192.168.2.1/24 dev {} (and make it persistent)",
                                      s.interface)));
    }
}

void checkDhcp(const ServerSettings& s, const DoctorOptions& opts, std::vector<Finding>& out) {
    if (!opts.dhcpProbe || s.interface.empty()) {
        return;
    }
    auto info = io::interfaceInfo(s.interface, false);
    if (!info) {
        return;  // reported by checkInterface
    }
    // Only the boot interface: never probe any other network.
    auto sock = io::UdpSocket::openDetailed(s.interface, proto::dhcp::kClientPort, true);
    if (!sock) {
        const auto& e = sock.error();
        if (e.step == io::UdpSocket::OpenStep::Bind) {
            out.push_back(warn("dhcp",
                               fmt::format("cannot listen on UDP 68: {} (a DHCP client runs "
                                           "here?)",
                                           e.reason),
                               "stop the DHCP client on the boot interface (it should be static)"));
        } else if (e.step == io::UdpSocket::OpenStep::Device) {
            out.push_back(warn("dhcp", fmt::format("cannot bind to {}: {}", s.interface, e.reason),
                               "run doctor as root"));
        } else {
            out.push_back(warn("dhcp", fmt::format("cannot open a UDP socket: {}", e.message),
                               "run doctor as root"));
        }
        return;
    }
    auto offers = collectDhcpOffers(*sock, *info, opts.dhcpWait);
    if (!offers) {
        out.push_back(warn("dhcp", offers.error().message, "check the interface"));
        return;
    }
    const auto& servers = *offers;
    if (servers.empty()) {
        out.push_back(ok("dhcp", fmt::format("no other DHCP server answered on {} within {} ms: "
                                             "pinetboot must hand out addresses (dhcp = \"full\"), "
                                             "the kernel's ip=dhcp needs a lease too",
                                             s.interface, opts.dhcpWait.count())));
        return;
    }
    std::string list;
    for (const auto& srv : servers) {
        list += (list.empty() ? "" : ", ") + srv;
    }
    out.push_back({Severity::Info, "dhcp",
                   fmt::format("another DHCP server answers on {}: {}", s.interface, list),
                   "use proxy mode (dhcp = \"proxy\"): the site server gives addresses, pinetboot "
                   "only adds the boot options"});
}

}  // namespace

Result<std::set<std::string>> collectDhcpOffers(io::UdpSocket& sock, const io::InterfaceInfo& info,
                                                std::chrono::milliseconds wait) {
    proto::dhcp::Packet p;
    std::random_device rd;
    p.xid = rd();
    p.flags = proto::dhcp::kFlagBroadcast;
    p.setMac(info.mac);
    p.setU8(proto::dhcp::opt::MessageType,
            static_cast<std::uint8_t>(proto::dhcp::MessageType::Discover));
    p.set(proto::dhcp::opt::ParameterList, {1, 3, 6, 54});
    p.setString(proto::dhcp::opt::VendorClass, "pinetboot-doctor");
    auto bytes = proto::dhcp::serialize(p);
    if (auto r = sock.sendTo(bytes, 0xffffffffu, proto::dhcp::kServerPort); !r) {
        return fail(
            fmt::format("cannot send a DHCPDISCOVER on {}: {}", info.name, r.error().message));
    }
    std::set<std::string> servers;
    auto deadline = std::chrono::steady_clock::now() + wait;
    std::vector<std::uint8_t> buf(1500);
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            break;
        }
        if (!sock.waitReadable(left)) {
            break;
        }
        auto dg = sock.receive(buf);
        if (!dg || dg->size == 0) {
            continue;
        }
        auto reply = proto::dhcp::parse(std::span<const std::uint8_t>(buf.data(), dg->size));
        if (!reply || reply->xid != p.xid || reply->op != proto::dhcp::Op::BootReply ||
            reply->messageType() != proto::dhcp::MessageType::Offer) {
            continue;
        }
        auto sid = reply->ipOption(proto::dhcp::opt::ServerId);
        std::uint32_t server = sid.value_or(reply->siaddr);
        if (server != 0 && server == info.ip) {
            continue;  // our own serve daemon
        }
        servers.insert(fmt::format("{}{}", proto::dhcp::ipToString(server),
                                   reply->yiaddr != 0
                                       ? " offering " + proto::dhcp::ipToString(reply->yiaddr)
                                       : std::string(" (proxy)")));
    }
    return servers;
}

Result<std::set<std::string>> probeDhcpServers(const std::string& interface,
                                               std::chrono::milliseconds wait) {
    auto info = io::interfaceInfo(interface, false);
    if (!info) {
        return tl::unexpected(info.error());
    }
    auto sock = io::UdpSocket::openDetailed(interface, proto::dhcp::kClientPort, true);
    if (!sock) {
        return fail(fmt::format("cannot listen for DHCP answers on {} (UDP 68): {}", interface,
                                sock.error().message));
    }
    return collectDhcpOffers(*sock, *info, wait);
}

namespace {

std::set<std::string> exportedPaths(const fs::path& stateDir, const ServerSettings& s,
                                    std::string& where) {
    std::set<std::string> out;
    fs::path file;
    bool ganesha = s.nfsBackend == "ganesha";
    if (ganesha) {
        file = StatePaths{stateDir}.nfs() / "ganesha.conf";
    } else if (s.nfsBackend == "kernel") {
        file = s.kernelExportsFile;
    } else {
        return out;
    }
    where = file.string();
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        auto trimmed = line.substr(line.find_first_not_of(' ') == std::string::npos
                                       ? line.size()
                                       : line.find_first_not_of(' '));
        if (ganesha && trimmed.rfind("Path = \"", 0) == 0) {
            auto end = trimmed.rfind('"');
            out.insert(trimmed.substr(8, end - 8));
        } else if (!ganesha && trimmed.rfind('"', 0) == 0) {
            auto end = trimmed.find('"', 1);
            if (end != std::string::npos) {
                out.insert(trimmed.substr(1, end - 1));
            }
        }
    }
    return out;
}

void checkNfs(const fs::path& stateDir, const ServerSettings& s,
              const std::vector<io::ClientRecord>& clients, std::vector<Finding>& out) {
    std::string host = s.serverIp.empty() ? "127.0.0.1" : s.serverIp;
    auto ping = io::pingNfs(host, std::chrono::milliseconds(2000));
    if (ping) {
        out.push_back(ok("nfs", *ping));
    } else {
        std::string fix =
            s.nfsBackend == "ganesha"  ? "pinetboot nfs apply (starts nfs-ganesha; needs rpcbind)"
            : s.nfsBackend == "kernel" ? "systemctl start nfs-server, then pinetboot nfs apply"
                                       : "start your NFS server and export the roots "
                                         "(pinetboot nfs apply prints the lines)";
        out.push_back(bad("nfs", "NFS server does not answer: " + ping.error().message, fix));
    }
    auto wanted = buildExports(clients, s);
    if (!wanted) {
        out.push_back(bad("nfs", wanted.error().message, "pinetboot client add --address ..."));
        return;
    }
    std::string where;
    auto have = exportedPaths(stateDir, s, where);
    if (s.nfsBackend == "none") {
        out.push_back({Severity::Info, "nfs",
                       "backend none: cannot see what your NFS server exports",
                       "compare with `pinetboot nfs apply` output"});
        return;
    }
    int missing = 0;
    for (const auto& e : *wanted) {
        if (have.count(e.path) == 0) {
            ++missing;
            out.push_back(bad("nfs",
                              fmt::format("{} is not exported ({} has no entry)", e.path, where),
                              "pinetboot nfs apply"));
        }
    }
    if (missing == 0 && !wanted->empty()) {
        out.push_back(
            ok("nfs", fmt::format("all {} export(s) present in {}", wanted->size(), where)));
    }
}

/// The initramfs files a Pi's firmware loads with auto_initramfs=1 (Raspberry Pi
/// OS Bookworm and later) or `initramfs NAME followkernel`: Pi 4 / Pi 5 names.
constexpr std::array<const char*, 3> kInitramfsNames = {"initramfs8", "initramfs_2712",
                                                        "initramfs"};
/// An initramfs is a few tens of MiB; a bigger file is not read (the
/// decompressor's output is held in memory).
constexpr std::uint64_t kMaxInitramfs = 128ULL << 20;

/// The member names of an initramfs file: plain cpio, or one compressed with
/// gzip, zstd or xz (told by magic bytes, decompressed by the Debian tool of
/// that name, a constant looked up in PATH).
Result<std::vector<std::string>> initramfsNames(const fs::path& p) {
    auto data = io::readFile(p);
    if (!data) {
        return tl::unexpected(data.error());
    }
    if (data->size() > kMaxInitramfs) {
        return fail(
            fmt::format("{}: larger than {} MiB, not read", p.string(), kMaxInitramfs >> 20));
    }
    auto starts = [&](std::initializer_list<std::uint8_t> magic) {
        return data->size() >= magic.size() &&
               std::equal(magic.begin(), magic.end(), data->begin());
    };
    const char* tool = nullptr;
    if (starts({0x1f, 0x8b})) {
        tool = "gzip";
    } else if (starts({0x28, 0xb5, 0x2f, 0xfd})) {
        tool = "zstd";
    } else if (starts({0xfd, '7', 'z', 'X', 'Z', 0x00})) {
        tool = "xz";
    }
    if (tool == nullptr) {
        return proto::netboot::cpioNames(*data);
    }
    if (!io::programExists(tool)) {
        return fail(fmt::format("{} is {}-compressed and {} is not installed (apt install {})",
                                p.string(), tool, tool, tool));
    }
    auto out = io::runProcess({tool, "-dc", p.string()}, std::chrono::seconds(30));
    if (!out) {
        return tl::unexpected(out.error());
    }
    if (out->exitCode != 0) {
        return fail(fmt::format("{} -dc {}: exit {}", tool, p.string(), out->exitCode));
    }
    return proto::netboot::cpioNames(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(out->out.data()), out->out.size()));
}

/// What a board of an in-place image boots from (issue #18): its folder holds only
/// what pinetboot generated; every other file is read out of the image (or the board's
/// own boot view) through the map, as TFTP serves them.
struct InPlaceBoot {
    ImageInfo info;                     ///< the image's, or the board's view's
    std::optional<MapBootFiles> files;  ///< null when the map cannot be used
    std::string problem;                ///< why not
    std::string rootDevice;             ///< root= of its NBD root (/dev/nbd0pN)
};

/// The client's folder first, then the in-place files below it.
class LayeredBootFiles final : public proto::netboot::BootFiles {
public:
    LayeredBootFiles(const fs::path& dir, const MapBootFiles* below) : dir_(dir), below_(below) {}
    [[nodiscard]] std::optional<std::string> read(std::string_view path) const override {
        if (dir_.exists(path)) {
            return dir_.read(path);
        }
        return below_ != nullptr ? below_->read(path) : std::nullopt;
    }
    [[nodiscard]] bool exists(std::string_view path) const override {
        return dir_.exists(path) || (below_ != nullptr && below_->exists(path));
    }

private:
    DirBootFiles dir_;
    const MapBootFiles* below_;
};

std::optional<InPlaceBoot> inPlaceBootOf(const fs::path& stateDir, const io::ClientRecord& c) {
    auto img = findImage(stateDir, c.image);
    if (!img || !img->inPlace) {
        return std::nullopt;
    }
    InPlaceBoot b;
    b.rootDevice = nbdRootDevice(*img);
    b.info = *img;
    if (auto view = bootViewInfo(stateDir, c.serial)) {
        b.info = std::move(*view);  // the board wrote its boot partition: its files
    }
    auto files = openInPlace(b.info);
    if (files) {
        b.files = std::move(*files);
    } else {
        b.problem = files.error().message;
    }
    return b;
}

/// The largest initramfs copied out of an in-place image to be looked into: a Debian
/// initramfs is 20-60 MiB; the boot.img limit (96 MB) bounds what a board loads anyway.
constexpr std::uint64_t kMaxInitramfsCheckBytes = 256ull << 20;

/// An NBD-root client: cmdline.txt names its export, the export runs, and
/// the image's initramfs has Debian's nbd-client hook to mount it.
void checkNbdClient(const fs::path& stateDir, const ServerSettings& s, const io::ClientRecord& c,
                    const std::string& cmdline, const proto::netboot::BootChain* chain,
                    const InPlaceBoot* inPlace, std::vector<Finding>& out) {
    std::string tag = "client " + c.serial;
    auto port = nbdPortOf(stateDir, c.serial);
    if (!port) {
        out.push_back(bad(tag, port.error().message, "pinetboot client reset " + c.serial));
        return;
    }
    std::string want = fmt::format("nbdroot={}:{}/{}", s.serverIp, *port, c.serial);
    bool named = false;
    bool device = false;
    // An in-place image is the board's whole disk: its root is a partition of nbd0.
    const std::string root =
        "root=" + (inPlace != nullptr ? inPlace->rootDevice : std::string("/dev/nbd0"));
    for (const auto& a : proto::netboot::splitCmdline(cmdline)) {
        named = named || a == want;
        device = device || a == root;
    }
    if (!named || !device) {
        out.push_back(bad(tag, fmt::format("cmdline.txt lacks {} {}", root, want),
                          fmt::format("pinetboot client set {} (rewrites cmdline.txt; the "
                                      "disk is kept)",
                                      c.serial)));
    } else {
        out.push_back(ok(tag, "cmdline.txt: " + want));
    }
    fs::path boot = c.bootDir;
    std::vector<fs::path> found;
    std::vector<io::TempDir> copies;  // initramfs files copied out of an in-place image
    const MapBootFiles* map = inPlace != nullptr && inPlace->files ? &*inPlace->files : nullptr;
    // The file NAME as the board gets it: the folder's, else one copied out of the image.
    auto locate = [&](const std::string& n) -> std::optional<fs::path> {
        if (fs::is_regular_file(boot / n)) {
            return boot / n;
        }
        const auto* f = map != nullptr ? map->find(n) : nullptr;
        if (f == nullptr || f->size > kMaxInitramfsCheckBytes) {
            return std::nullopt;
        }
        io::TempDir& dir = copies.emplace_back("pinetboot-doctor");
        const fs::path p = dir.path() / fs::path(n).filename();
        auto fd = io::createExclusive(p, 0600);
        if (!fd) {
            return std::nullopt;
        }
        auto copied = map->readFile(*f, [&](std::span<const std::uint8_t> piece) -> Result<void> {
            return io::writeAll(fd->get(), piece);
        });
        return copied ? std::optional(p) : std::nullopt;
    };
    const std::string fix =
        "on a board running the image (or in a chroot of it): apt install nbd-client (its "
        "initramfs hook adds nbd-client and scripts/local-top/nbd), then update-initramfs -u, "
        "and copy the new initramfs into the image's boot partition; config.txt needs "
        "auto_initramfs=1 (or initramfs initramfs8 followkernel)";
    if (chain != nullptr) {
        // The initramfs the board loads, as config.txt names it (under os_prefix when one
        // is in force), not whichever sits at the top of the tree.
        for (const auto& n : chain->initramfs) {
            if (auto p = locate(n)) {
                found.push_back(*p);
            } else {
                out.push_back(bad(
                    tag,
                    fmt::format("config.txt loads the initramfs {}{}, which is not "
                                "in the boot tree",
                                n,
                                chain->osPrefix.empty() ? std::string()
                                                        : " (os_prefix=" + chain->osPrefix + ")"),
                    fix));
                return;
            }
        }
        if (chain->initramfs.empty()) {
            const bool asked = chain->settings.autoInitramfs || chain->settings.initramfs;
            out.push_back(bad(tag,
                              asked ? fmt::format("config.txt asks for an initramfs for {} "
                                                  "(auto_initramfs=1) that is not in the boot "
                                                  "tree: the kernel alone cannot mount an NBD root",
                                                  chain->kernel)
                                    : std::string("config.txt loads no initramfs (no initramfs "
                                                  "line, no auto_initramfs=1): the kernel alone "
                                                  "cannot mount an NBD root"),
                              fix));
            return;
        }
    } else {
        for (const char* n : kInitramfsNames) {
            if (auto p = locate(n)) {
                found.push_back(*p);
            }
        }
    }
    if (found.empty()) {
        out.push_back(bad(tag,
                          "the boot tree has no initramfs (initramfs8, initramfs_2712): the "
                          "kernel alone cannot mount an NBD root",
                          fix));
        return;
    }
    for (const auto& f : found) {
        auto names = initramfsNames(f);
        if (!names) {
            out.push_back(warn(tag, "cannot read " + f.string() + ": " + names.error().message,
                               "check the file: it should be what update-initramfs wrote"));
            continue;
        }
        auto nbd = proto::netboot::nbdSupport(*names);
        const bool copy = !f.string().starts_with(boot.string());
        const std::string shown =
            copy ? f.filename().string() + " (in image " + inPlace->info.name + ")"
                 : f.lexically_relative(boot).string();
        if (nbd.client && nbd.script) {
            out.push_back(ok(tag, shown + " has nbd-client and its boot script"));
        } else {
            out.push_back(
                bad(tag,
                    fmt::format("{} cannot mount an NBD root: {}", copy ? shown : f.string(),
                                !nbd.client ? "no sbin/nbd-client" : "no scripts/local-top/nbd"),
                    fix));
        }
    }
}

void checkClient(const fs::path& stateDir, const ServerSettings& s, const io::ClientRecord& c,
                 const std::vector<proto::nfs::Export>& exports, std::vector<Finding>& out) {
    std::string tag = "client " + c.serial;
    fs::path boot = c.bootDir;
    if (!fs::is_directory(boot)) {
        out.push_back(bad(tag, fmt::format("boot directory {} is missing", boot.string()),
                          fmt::format("pinetboot client set {} (writes the boot tree again; "
                                      "the root is kept)",
                                      c.serial)));
        return;
    }
    const auto inPlace = inPlaceBootOf(stateDir, c);
    if (inPlace && !inPlace->files) {
        out.push_back(bad(tag,
                          fmt::format("its boot files are served out of image {}, which cannot "
                                      "be read in place: {}",
                                      inPlace->info.name, inPlace->problem),
                          fmt::format("put the image file back as it was registered, or "
                                      "register it again (pinetboot image add FILE --name {} "
                                      "--in-place)",
                                      c.image)));
        return;
    }
    const LayeredBootFiles files(boot, inPlace ? &*inPlace->files : nullptr);
    bool pi5 = c.model == "pi5" || c.model == "cm5";
    // The firmware's own files are read from the top of the boot tree, whatever
    // os_prefix says: os_prefix moves only "kernels, initramfs, cmdline.txt, .dtbs and
    // overlays" (Raspberry Pi documentation, config_txt/boot.adoc).
    std::vector<std::string> missing;
    std::vector<std::string> need = {"config.txt"};
    if (!pi5) {
        // Pi 4 family: the EEPROM bootloader fetches the GPU firmware (spec 4.3 steps 1, 5).
        need.emplace_back("start4.elf");
        need.emplace_back("fixup4.dat");
    }
    for (const auto& n : need) {
        if (!files.exists(n)) {
            missing.push_back(n);
        }
    }
    // The chain config.txt -> os_prefix -> kernel, dtb, cmdline for the client's model
    // (every model when it is unknown: the one it boots is then one that is complete).
    std::optional<proto::netboot::BootChain> chain;
    std::optional<proto::netboot::BootChain> tried;
    std::string completeFor;
    for (auto b : boardsOfModel(c.model)) {
        auto one = proto::netboot::resolveBootChain(files, {b, false, c.serial});
        if (!one) {
            out.push_back(bad(tag, fmt::format("{}: {}", boot.string(), one.error().message),
                              "fix config.txt in the image (pinetboot image import it again), "
                              "then pinetboot client set " +
                                  c.serial));
            return;
        }
        auto score = [](const proto::netboot::BootChain& x) {
            return int(x.kernelFound) + int(x.dtbFound) + int(x.cmdlineFound);
        };
        if (one->complete()) {
            completeFor += (completeFor.empty() ? "" : " ") + std::string(piBoardCode(b));
        }
        if (!chain || score(*one) > score(*chain)) {
            chain = *one;
            auto t = proto::netboot::resolveBootChain(files, {b, true, c.serial});
            tried = t ? std::optional(std::move(*t)) : std::nullopt;
        }
    }
    std::string via;
    std::string fix = c.model.empty() ? "import an image with the firmware for this Pi, or pass "
                                        "--model to check the right files"
                                      : fmt::format(
                                            "use an image whose boot partition has the {} "
                                            "files (pinetboot image list shows models)",
                                            c.model);
    if (chain && !chain->requestedPrefix.empty() && chain->osPrefix.empty()) {
        // The prefix failed the firmware's viability test: name what is missing under it,
        // not the top-level names the firmware then falls back to.
        const std::string& pre = chain->requestedPrefix;
        const bool absolute = chain->settings.kernel && !chain->settings.kernel->empty() &&
                              chain->settings.kernel->front() == '/';
        const std::string kernel = absolute ? chain->kernel : pre + chain->kernel;
        const std::string dtb = pre + fs::path(chain->dtb).filename().string();
        if (!files.exists(kernel)) {
            missing.push_back(kernel);
        }
        if (!files.exists(dtb)) {
            missing.push_back(dtb);
        }
        via = fmt::format(
            " (config.txt sets os_prefix={}: without {} the firmware ignores the "
            "prefix and reads {}, {} and {} from the top)",
            pre, missing.empty() ? kernel : missing.back(), chain->kernel, chain->dtb,
            chain->cmdline);
        fix = fmt::format(
            "put {} back into the image's boot partition (image import again) or "
            "fix os_prefix in its config.txt, then pinetboot client set {} (the "
            "root is kept)",
            pre, c.serial);
    } else if (chain) {
        if (!chain->requestedPrefix.empty()) {
            via = fmt::format(" (config.txt -> os_prefix={})", chain->osPrefix);
        }
        if (!chain->kernelFound) {
            missing.push_back(chain->kernel);
        }
        if (!chain->dtbFound) {
            missing.push_back(c.model.empty() ? "a device tree (" + chain->dtb + " or another)"
                                              : chain->dtb);
        }
        if (!chain->cmdlineFound) {
            missing.push_back(chain->cmdline);
        }
    }
    if (missing.empty()) {
        out.push_back(
            ok(tag, fmt::format("boot tree complete for {} ({}){}",
                                c.model.empty() ? "an unknown model" : c.model, boot.string(),
                                chain && !chain->osPrefix.empty()
                                    ? fmt::format(": {}, {}, {} via os_prefix={}", chain->kernel,
                                                  chain->dtb, chain->cmdline, chain->osPrefix)
                                    : std::string())));
    } else {
        std::string list;
        for (const auto& m : missing) {
            list += (list.empty() ? "" : ", ") + m;
        }
        out.push_back(
            bad(tag, fmt::format("boot tree {} lacks {}{}", boot.string(), list, via), fix));
    }
    if (!chain || !chain->cmdlineFound) {
        return;
    }
    const auto cmd = files.read(chain->cmdline);
    if (!cmd) {
        return;
    }
    // A tryboot boot that reads another cmdline (Ubuntu's new/): it must name the root too,
    // or the board's next kernel update boots from its SD card once.
    if (tried && tried->complete() && tried->cmdline != chain->cmdline) {
        const std::string text = files.read(tried->cmdline).value_or(std::string());
        bool rooted = text.find("nfsroot=") != std::string::npos ||
                      text.find("nbdroot=") != std::string::npos;
        if (rooted) {
            out.push_back(ok(
                tag, fmt::format("tryboot boot reads {}, which names the root", tried->cmdline)));
        } else {
            out.push_back(bad(tag,
                              fmt::format("a tryboot boot reads {}, which does not name the "
                                          "netboot root",
                                          tried->cmdline),
                              fmt::format("pinetboot client set {} (rewrites every cmdline file "
                                          "the board reads; the root is kept)",
                                          c.serial)));
        }
    }
    if (isNbdRootMode(c.rootMode)) {
        checkNbdClient(stateDir, s, c, *cmd, chain ? &*chain : nullptr,
                       inPlace ? &*inPlace : nullptr, out);
        return;
    }
    auto nfs = proto::netboot::nfsRootOf(*cmd);
    // client set rewrites the boot tree from the image and the current
    // settings and keeps the root: no fix here costs the board its files.
    std::string fixCmd =
        fmt::format("pinetboot client set {} (rewrites cmdline.txt; the root is kept)", c.serial);
    if (!nfs) {
        out.push_back(
            bad(tag, "cmdline.txt has no nfsroot= (the Pi will wait for its SD card)", fixCmd));
        return;
    }
    bool exported = false;
    for (const auto& e : exports) {
        exported = exported || e.path == nfs->exportPath;
    }
    if (!s.serverIp.empty() && nfs->server != s.serverIp) {
        out.push_back(bad(
            tag,
            fmt::format("cmdline.txt points at server {} but the server is {}", nfs->server,
                        s.serverIp),
            fmt::format("if {0} is right: pinetboot client set {1} (rewrites cmdline.txt; the "
                        "root is kept); if {2} is right: pinetboot settings set --server-ip {2}",
                        s.serverIp, c.serial, nfs->server)));
    } else if (!exported) {
        out.push_back(bad(
            tag, fmt::format("cmdline.txt nfsroot={} is not one of the exports", nfs->exportPath),
            fixCmd));
    } else if (!fs::is_directory(nfs->exportPath)) {
        out.push_back(bad(tag, fmt::format("nfsroot={} does not exist on disk", nfs->exportPath),
                          c.rootMode == "overlay" ? "pinetboot nfs apply (mounts the overlay)"
                                                  : "pinetboot client reset " + c.serial));
    } else if (c.rootMode == "overlay" && !io::isMountPoint(nfs->exportPath)) {
        out.push_back(bad(tag, fmt::format("overlay {} is not mounted", nfs->exportPath),
                          "pinetboot nfs apply (mounts it, whatever the NFS backend)"));
    } else {
        out.push_back(ok(tag, fmt::format("cmdline.txt -> {}:{} ({})", nfs->server, nfs->exportPath,
                                          nfs->options)));
    }
    if (c.rootMode == "overlay") {
        // Mounted now is not mounted after a reboot: the mount unit is.
        auto unit = mountUnitPath(stateDir, s, c);
        std::error_code ec;
        if (unit && !fs::exists(*unit, ec)) {
            out.push_back(warn(tag,
                               fmt::format("no mount unit {}: the overlay will not be mounted "
                                           "after a reboot",
                                           unit->string()),
                               "pinetboot nfs apply (writes it)"));
        }
    }
    auto fstab =
        readRootFile(c.rootMode == "overlay" ? fs::path(c.rootExport).parent_path() / "upper"
                                             : fs::path(c.rootExport),
                     "etc/fstab");
    if (fstab && *fstab) {
        std::istringstream in(**fstab);
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("PARTUUID=", 0) == 0 || line.rfind("/dev/mmcblk", 0) == 0) {
                out.push_back(warn(tag, "fstab still mounts an SD card partition: " + line,
                                   "pinetboot client reset " + c.serial));
                break;
            }
        }
    }
}

}  // namespace

std::string_view severityName(Severity s) {
    switch (s) {
        case Severity::Ok: return "ok";
        case Severity::Info: return "info";
        case Severity::Warn: return "warn";
        case Severity::Fail: break;
    }
    return "FAIL";
}

nlohmann::json findingJson(const Finding& f) {
    return {{"severity", std::string(severityName(f.severity))},
            {"check", f.check},
            {"message", f.message},
            {"fix", f.fix}};
}

std::vector<Finding> runDoctor(const fs::path& stateDir, io::Registry& reg, const ServerSettings& s,
                               const DoctorOptions& opts) {
    std::vector<Finding> out;
    checkInterface(s, out);
    if (!s.interface.empty()) {
        auto mtu = io::interfaceMtu(s.interface);
        out.push_back(checkMtu(s.interface, mtu ? std::optional<unsigned>(*mtu) : std::nullopt));
    }
    checkDhcp(s, opts, out);
    // What serve saw of the boards' switch ports (a late first DISCOVER, answers that never
    // reach a board): it cannot be probed from here, so serve records it.
    {
        std::ifstream in(stateDir / kNetworkFindingsFile);
        std::string line;
        std::size_t n = 0;
        while (std::getline(in, line) && n < 64) {  // serve keeps 32; bound a hostile file
            if (!line.empty()) {
                out.push_back(
                    warn("network", proto::text::safeText(line, 512), core::boot::linkFix()));
                ++n;
            }
        }
    }
    if (s.serverIp.empty()) {
        out.push_back(bad("settings", "no server address for nfsroot=",
                          "pinetboot settings set --server-ip A.B.C.D"));
    }
    auto clients = reg.list();
    if (!clients) {
        out.push_back(bad("registry", clients.error().message, "check the state directory"));
        return out;
    }
    std::vector<io::ClientRecord> enrolled;
    for (const auto& c : *clients) {
        if (c.state == io::ClientState::Enrolled) {
            enrolled.push_back(c);
        } else {
            out.push_back({Severity::Info, "client " + c.serial,
                           fmt::format("discovered but not enrolled (model {}, MAC {})",
                                       c.model.empty() ? "?" : c.model, c.mac.value_or("?")),
                           fmt::format("pinetboot client add --serial {} --image NAME", c.serial)});
        }
    }
    out.push_back(checkNeighbourTable(io::readNeighbourLimits(s.interface),
                                      std::max(opts.expectedBoards, clients->size())));
    checkNfs(stateDir, s, enrolled, out);
    auto exports = buildExports(enrolled, s);
    for (const auto& c : enrolled) {
        checkClient(stateDir, s, c, exports ? *exports : std::vector<proto::nfs::Export>{}, out);
    }
    if (enrolled.empty()) {
        out.push_back({Severity::Info, "clients", "no clients enrolled",
                       "pinetboot client add --serial S --image NAME"});
    }
    if (opts.store.backend == io::StoreLocation::Backend::Postgresql && !opts.tftpRoot.empty()) {
        auto trees = checkNodeTrees(stateDir, opts.store, opts.nodeId, opts.tftpRoot);
        out.insert(out.end(), trees.begin(), trees.end());
    }
    return out;
}

}  // namespace pinet::app
