#include "app/client/client_manager.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "app/client/root_edit.h"
#include "app/image/boot_layout.h"
#include "app/image/image_store.h"
#include "app/image/in_place.h"
#include "app/nbd/nbd_manager.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/fs/mount.h"
#include "io/fs/tree_copy.h"
#include "proto/netboot/cmdline.h"
#include "proto/netboot/fstab.h"
#include "proto/netboot/ids.h"
#include "proto/nfs/exports.h"
#include "proto/text/safe_text.h"

namespace pinet::app {

namespace fs = std::filesystem;

namespace {

fs::path overlayDir(const fs::path& stateDir, const std::string& serial) {
    return StatePaths{stateDir}.roots() / serial;
}

/// /etc/hosts: the Debian 127.0.1.1 line names the host.
std::string rewriteHosts(const std::string& hosts, const std::string& name) {
    std::istringstream in(hosts);
    std::string line;
    std::string out;
    bool done = false;
    while (std::getline(in, line)) {
        if (line.rfind("127.0.1.1", 0) == 0) {
            out += "127.0.1.1\t" + name + "\n";
            done = true;
        } else {
            out += line + "\n";
        }
    }
    if (!done) {
        out += "127.0.1.1\t" + name + "\n";
    }
    return out;
}

/// The per-client edits inside the root: fstab, hostname, hosts, ssh.
/// @p readRoot is the tree as the client will see it below the edits (the
/// image root for overlays), @p writeRoot where files are written.
Result<std::vector<std::string>> applyRootEdits(const fs::path& readRoot, const fs::path& writeRoot,
                                                const ServerSettings& s,
                                                const io::ClientRecord& rec, bool perClient,
                                                bool enableSsh) {
    std::vector<std::string> msgs;
    auto fstab = readRootFile(writeRoot, "etc/fstab");
    if (!fstab) {
        return tl::unexpected(fstab.error());
    }
    if (!*fstab) {
        fstab = readRootFile(readRoot, "etc/fstab");
        if (!fstab) {
            return tl::unexpected(fstab.error());
        }
    }
    proto::netboot::FstabOptions fo;
    fo.nfsVersion = s.nfsVersion;
    if (s.bootExport && perClient) {
        fo.bootSource = s.serverIp + ":" + rec.bootDir;
    }
    auto fres = proto::netboot::rewriteFstab(fstab->value_or(""), fo);
    if (auto r = writeRootFile(writeRoot, readRoot, "etc/fstab", fres.text); !r) {
        return tl::unexpected(r.error());
    }
    msgs.push_back(fmt::format(
        "fstab: {} SD-card line(s) disabled{}", fres.commented,
        fo.bootSource ? ", /boot/firmware mounted from " + *fo.bootSource : std::string()));
    if (perClient) {
        if (auto r = writeRootFile(writeRoot, readRoot, "etc/hostname", rec.name + "\n"); !r) {
            return tl::unexpected(r.error());
        }
        auto hosts = readRootFile(writeRoot, "etc/hosts");
        if (hosts && !*hosts) {
            hosts = readRootFile(readRoot, "etc/hosts");
        }
        if (!hosts) {
            return tl::unexpected(hosts.error());
        }
        if (auto r =
                writeRootFile(writeRoot, readRoot, "etc/hosts",
                              rewriteHosts(hosts->value_or("127.0.0.1\tlocalhost\n"), rec.name));
            !r) {
            return tl::unexpected(r.error());
        }
        msgs.push_back("hostname: " + rec.name);
    }
    if (enableSsh) {
        std::string unit;
        for (const char* cand :
             {"usr/lib/systemd/system/ssh.service", "lib/systemd/system/ssh.service"}) {
            if (rootPathExists(readRoot, cand)) {
                unit = std::string("/") + cand;
                break;
            }
        }
        if (unit.empty()) {
            return fail(
                "--ssh: the image has no ssh.service (install openssh-server in the image)");
        }
        if (auto r =
                writeRootSymlink(writeRoot, readRoot,
                                 "etc/systemd/system/multi-user.target.wants/ssh.service", unit);
            !r) {
            return tl::unexpected(r.error());
        }
        msgs.push_back("ssh enabled (" + unit + ")");
    }
    return msgs;
}

Result<void> writeBootTree(const fs::path& stateDir, const ImageInfo& img, const ServerSettings& s,
                           const io::ClientRecord& rec, bool enableSsh,
                           std::vector<std::string>& msgs) {
    StatePaths paths{stateDir};
    std::error_code ec;
    fs::create_directories(paths.tftp(), ec);
    if (ec) {
        return fail(fmt::format("{}: {}", paths.tftp().string(), ec.message()));
    }
    io::TempDir tmp(".new-" + rec.serial, paths.tftp());
    fs::path build = tmp.path() / "boot";
    // An in-place image: the client's folder holds only the files written below, and
    // serve reads every other one out of the image (app/tftp/in_place_source.h).
    std::optional<MapBootFiles> inPlace;
    std::uint64_t linked = 0;
    if (img.inPlace) {
        auto files = openInPlace(img);
        if (!files) {
            return tl::unexpected(files.error());
        }
        inPlace.emplace(std::move(*files));
        std::error_code mk;
        fs::create_directories(build, mk);
        if (mk) {
            return fail(fmt::format("{}: {}", build.string(), mk.message()));
        }
    } else {
        // Boot files are shared with the image by hard links; the files written
        // per client below are replaced by rename, which breaks the link.
        auto stats = io::copyTree(img.boot(), build,
                                  [](const std::string&) { return io::FileShare::Hardlink; });
        if (!stats) {
            return tl::unexpected(stats.error());
        }
        linked = stats->hardlinked;
    }
    // The cmdline files the board reads for its model, normal and tryboot boots: the
    // flat cmdline.txt, or where config.txt's os_prefix / cmdline= send it
    // (app/image/boot_layout). Every other file stays a link to the image's.
    auto targets = inPlace ? cmdlineTargets(*inPlace, rec.model, rec.serial)
                           : cmdlineTargets(img.boot(), rec.model, rec.serial);
    if (!targets) {
        return fail(fmt::format("image {}: {}", img.name, targets.error().message));
    }
    std::string rootLine;
    for (const auto& target : *targets) {
        std::optional<std::string> text;
        if (inPlace) {
            text = inPlace->read(target);
        } else if (auto cmdline = io::readFile(img.boot() / target)) {
            text = std::string(cmdline->begin(), cmdline->end());
        }
        if (!text) {
            return fail(fmt::format("image {} has no {} in its boot partition", img.name, target));
        }
        const std::string& original = *text;
        if (auto dir = (build / target).parent_path(); dir != build) {
            std::error_code mk;
            fs::create_directories(dir, mk);
        }
        Result<std::string> rewritten = fail("no root");
        if (isNbdRootMode(rec.rootMode)) {
            auto port = nbdPortOf(stateDir, rec.serial);
            if (!port) {
                return tl::unexpected(port.error());
            }
            rewritten = proto::netboot::rewriteCmdlineNbd(
                original,
                proto::netboot::NbdRoot{s.serverIp, *port, rec.serial, nbdRootDevice(img)});
            rootLine = fmt::format("nbdroot={}:{}/{}", s.serverIp, *port, rec.serial);
        } else {
            rewritten = proto::netboot::rewriteCmdline(
                original,
                // A shared root is exported ro (app/nfs): cmdline.txt says so too.
                proto::netboot::NfsRoot{s.serverIp, rec.rootExport, s.nfsVersion,
                                        rec.rootMode == "shared"});
            rootLine =
                fmt::format("nfsroot={}:{},vers={}", s.serverIp, rec.rootExport, s.nfsVersion);
        }
        if (!rewritten) {
            return tl::unexpected(rewritten.error());
        }
        if (auto r = io::writeFileAtomic(build / target, *rewritten); !r) {
            return r;
        }
    }
    std::string names;
    for (const auto& t : *targets) {
        names += (names.empty() ? "" : ", ") + t;
    }
    if (enableSsh) {
        // Raspberry Pi OS's sshswitch.service enables sshd when boot has "ssh".
        if (auto r = io::writeFileAtomic(build / "ssh", std::string_view("")); !r) {
            return r;
        }
    }
    (void)io::setMode(build, 0755);
    fs::path dest = rec.bootDir;
    fs::path old = tmp.path() / "old";
    if (fs::exists(dest, ec)) {
        if (auto r = io::renamePath(dest, old); !r) {
            return r;
        }
    }
    if (auto r = io::renamePath(build, dest); !r) {
        return r;
    }
    if (inPlace) {
        msgs.push_back(
            fmt::format("boot: {} ({} written; the image's {} files served out of "
                        "{}), {}",
                        dest.string(), names, inPlace->files().size(), img.source, rootLine));
    } else {
        msgs.push_back(fmt::format("boot: {} ({} files linked to the image), {} -> {}",
                                   dest.string(), linked, names, rootLine));
    }
    return {};
}

Result<void> writeMacLink(const fs::path& stateDir, const io::ClientRecord& rec) {
    if (!rec.mac) {
        return {};
    }
    fs::path link = StatePaths{stateDir}.tftp() / proto::netboot::macPrefixDir(*rec.mac);
    auto st = io::statNoFollow(link);
    if (st && *st) {
        if ((*st)->kind != io::EntryKind::Symlink) {
            return fail(fmt::format("{} exists and is not a pinetboot link", link.string()));
        }
        (void)io::removeLink(link);
    }
    return io::makeSymlink(rec.serial, link);
}

/// A copy-mode root is writable by its client as root: no regular file may share an inode
/// with the image or another client (a hard link would let one board rewrite every other
/// board's binaries). Reflinks share blocks, not inodes; copyTree falls back to a copy that
/// keeps holes where the file system has none.
io::FileShare copyShare(const std::string&) {
    return io::FileShare::Reflink;
}

Result<std::string> buildCopyRoot(const fs::path& stateDir, const ImageInfo& img,
                                  const fs::path& dest, const RootCopyProgress& progress) {
    StatePaths paths{stateDir};
    io::TempDir tmp(".new-" + dest.filename().string(), paths.roots());
    io::TreeCopyProgress onFile;
    if (progress) {
        onFile = [&](std::uint64_t done) {
            progress(done, img.rootBytes);
        };
    }
    auto stats = io::copyTree(img.root(), tmp.path() / "root", copyShare, onFile);
    if (!stats) {
        return tl::unexpected(stats.error());
    }
    if (auto r = io::renamePath(tmp.path() / "root", dest); !r) {
        return tl::unexpected(r.error());
    }
    return fmt::format("root: private copy {} ({} reflinked, {} copied, {:.1f} MiB of copies)",
                       dest.string(), stats->reflinked, stats->copied,
                       static_cast<double>(stats->bytesCopied) / 1048576.0);
}

Result<void> unmountIfMounted(const fs::path& p) {
    if (io::isMountPoint(p)) {
        return io::unmountDetach(p);
    }
    return {};
}

}  // namespace

std::optional<std::string> modelDtb(const std::string& model) {
    if (model == "pi4") {
        return "bcm2711-rpi-4-b.dtb";
    }
    if (model == "cm4") {
        return "bcm2711-rpi-cm4.dtb";
    }
    if (model == "pi400") {
        return "bcm2711-rpi-400.dtb";
    }
    if (model == "pi5") {
        return "bcm2712-rpi-5-b.dtb";
    }
    if (model == "cm5") {
        return "bcm2712-rpi-cm5-cm5io.dtb";
    }
    return std::nullopt;
}

Result<proto::netboot::OverlayMount> overlayMountOf(const fs::path& stateDir,
                                                    const io::ClientRecord& rec) {
    auto img = findImage(stateDir, rec.image);
    if (!img) {
        return tl::unexpected(img.error());
    }
    fs::path base = overlayDir(stateDir, rec.serial);
    return proto::netboot::OverlayMount{rec.serial, img->root().string(), (base / "upper").string(),
                                        (base / "work").string(), (base / "merged").string()};
}

Result<bool> ensureOverlayMounted(const fs::path& stateDir, const io::ClientRecord& rec) {
    if (rec.rootMode != "overlay") {
        return false;
    }
    auto m = overlayMountOf(stateDir, rec);
    if (!m) {
        return tl::unexpected(m.error());
    }
    if (io::isMountPoint(m->merged)) {
        return false;
    }
    // index=on,nfs_export=on: overlayfs must hand out stable file handles to
    // be exportable over NFS (Documentation/filesystems/overlayfs.rst). The
    // mount unit (proto/netboot/mount_unit) mounts with the same options.
    std::string opts = fmt::format("lowerdir={},upperdir={},workdir={},index=on,nfs_export=on",
                                   m->lower, m->upper, m->work);
    if (auto r = io::mountOverlay(m->merged, opts); !r) {
        return tl::unexpected(r.error());
    }
    return true;
}

namespace {

constexpr const char* kRootModeChoices = "shared, copy, overlay, nbd or nbd-image";

bool isRootMode(const std::string& m) {
    return m == "shared" || m == "copy" || m == "overlay" || isNbdRootMode(m);
}

/// The imported images, for a message: "a, b" or how to import the first.
std::string imageChoices(const fs::path& stateDir) {
    auto all = listImages(stateDir);
    if (!all || all->empty()) {
        return "no images imported yet: pinetboot image import FILE --name NAME";
    }
    std::string names;
    for (const auto& i : *all) {
        names += (names.empty() ? "" : ", ") + i.name;
    }
    return "imported: " + names;
}

/// Makes @p rec's root in its rootMode from @p img and sets rec.rootExport:
/// the image's root (shared), a private copy or an overlay at
/// roots/SERIAL, which must not exist. A failure leaves no roots/SERIAL.
Result<void> buildRoot(const fs::path& stateDir, io::Registry& reg, const ImageInfo& img,
                       const ServerSettings& s, io::ClientRecord& rec, bool enableSsh,
                       std::vector<std::string>& msgs, const RootCopyProgress& progress) {
    std::error_code ec;
    fs::path root = StatePaths{stateDir}.roots() / rec.serial;
    if (isNbdRootMode(rec.rootMode) && img.inPlace) {
        // The whole image is the board's disk, never written: its fstab's PARTUUID
        // lines name the partitions of that disk, so the root needs no edits.
        auto others = reg.list();
        if (!others) {
            return tl::unexpected(others.error());
        }
        auto msg = buildNbdRoot(stateDir, img, rec, *others);
        if (!msg) {
            return tl::unexpected(msg.error());
        }
        msgs.push_back(*msg);
        msgs.emplace_back(
            "note: the board's disk is the whole image, so /boot/firmware on the board is its "
            "own copy-on-write view of the FAT partition; the image's initramfs needs "
            "nbd-client (apt install nbd-client in the image)");
        return {};
    }
    if (isNbdRootMode(rec.rootMode)) {
        // The base is built once per image from its root, which gets the edits
        // every client shares first, as a shared root does (fstab: no SD card).
        auto edits = applyRootEdits(img.root(), img.root(), s, rec, false, enableSsh);
        if (!edits) {
            return tl::unexpected(edits.error());
        }
        auto others = reg.list();
        if (!others) {
            return tl::unexpected(others.error());
        }
        auto msg = buildNbdRoot(stateDir, img, rec, *others);
        if (!msg) {
            return tl::unexpected(msg.error());
        }
        msgs.push_back(*msg);
        msgs.insert(msgs.end(), edits->begin(), edits->end());
        msgs.emplace_back(
            "note: the root is a block device, so its hostname comes from DHCP; the image's "
            "initramfs needs nbd-client (apt install nbd-client in the image)");
        return {};
    }
    if (rec.rootMode == "shared") {
        rec.rootExport = img.root().string();
        auto edits = applyRootEdits(img.root(), img.root(), s, rec, false, enableSsh);
        if (!edits) {
            return tl::unexpected(edits.error());
        }
        msgs.emplace_back("root: the image's root, shared read-only by all its clients");
        msgs.insert(msgs.end(), edits->begin(), edits->end());
        msgs.emplace_back(
            "note: a shared root has no per-client hostname or boot mount; the "
            "hostname comes from DHCP; the kernel mounts it read-only (ro in cmdline.txt, as "
            "it is exported), so the OS must cope with a read-only / (--root overlay gives a "
            "writable one at little cost)");
    } else if (rec.rootMode == "copy") {
        rec.rootExport = root.string();
        auto msg = buildCopyRoot(stateDir, img, root, progress);
        if (!msg) {
            return tl::unexpected(msg.error());
        }
        msgs.push_back(*msg);
        auto edits = applyRootEdits(root, root, s, rec, true, enableSsh);
        if (!edits) {
            (void)io::removeTree(root);
            return tl::unexpected(edits.error());
        }
        msgs.insert(msgs.end(), edits->begin(), edits->end());
    } else {
        rec.rootExport = (root / "merged").string();
        for (const char* d : {"", "upper", "work", "merged"}) {
            fs::create_directories(root / d, ec);
            if (ec) {
                return fail(fmt::format("{}: {}", (root / d).string(), ec.message()));
            }
        }
        // The merged root shows the lower root's top directory attributes
        // through the upper dir: give it the image root's.
        (void)io::copyMetadata(img.root(), root / "upper");
        auto edits = applyRootEdits(img.root(), root / "upper", s, rec, true, enableSsh);
        if (!edits) {
            (void)io::removeTree(root);
            return tl::unexpected(edits.error());
        }
        msgs.push_back(fmt::format("root: overlay {} (lower {}, upper {})", rec.rootExport,
                                   img.root().string(), (root / "upper").string()));
        msgs.insert(msgs.end(), edits->begin(), edits->end());
    }
    return {};
}

}  // namespace

Result<ClientResult> addClient(const fs::path& stateDir, io::Registry& reg, const ServerSettings& s,
                               const AddClientRequest& req) {
    // Every missing or malformed input at once, each with what to pass: a
    // first-time user should not need one run per flag.
    std::vector<std::string> problems;
    auto shown = [](const std::string& v) {
        return proto::text::safeText(v, 100);
    };
    std::optional<std::string> serial;
    if (req.serial.empty()) {
        problems.emplace_back(
            "--serial SERIAL: the board's serial number, 8 hex digits (pinetboot client list "
            "shows the boards that asked to boot; on a running Pi: the Serial line of "
            "/proc/cpuinfo)");
    } else if (serial = proto::netboot::normalizeSerial(req.serial); !serial) {
        problems.push_back(fmt::format("--serial: \"{}\" is not 8 hex digits", shown(req.serial)));
    }
    std::optional<std::string> mac;
    if (req.mac) {
        mac = proto::netboot::normalizeMac(*req.mac);
        if (!mac) {
            problems.push_back(fmt::format("--mac: \"{}\" is not a MAC address (aa:bb:cc:dd:ee:ff)",
                                           shown(*req.mac)));
        }
    }
    if (!isRootMode(req.rootMode)) {
        problems.push_back(
            fmt::format("--root: \"{}\" is not {}", shown(req.rootMode), kRootModeChoices));
    }
    if (!req.model.empty() && !modelDtb(req.model)) {
        problems.push_back(
            fmt::format("--model: \"{}\" is not pi4, cm4, pi400, pi5 or cm5", shown(req.model)));
    }
    std::string name = req.name.empty() && serial ? "pi-" + *serial : req.name;
    if (!name.empty() && !proto::netboot::isValidHostLabel(name)) {
        problems.push_back(fmt::format(
            "--name: \"{}\" is not a valid host name (letters, digits, '-', at most 63)",
            shown(name)));
    }
    if (s.serverIp.empty()) {
        problems.emplace_back(
            "--server-ip A.B.C.D: this server's address on the boot network, which the "
            "board's nfsroot= names (stored for later commands; or store it once: pinetboot "
            "settings set --server-ip A.B.C.D)");
    }
    std::string address = req.address.empty() ? s.clientSubnet : req.address;
    if (address.empty()) {
        problems.emplace_back(
            "--address A.B.C.D: the board's address, the only one its NFS export lets in; or, "
            "for every board at once: pinetboot settings set --client-subnet A.B.C.0/24");
    } else if (!proto::nfs::isIpv4OrSubnet(address)) {
        problems.push_back(
            fmt::format("--address: \"{}\" is not an IPv4 address or subnet", shown(address)));
    }
    Result<ImageInfo> img = fail("no image");
    if (req.image.empty()) {
        problems.push_back("--image NAME: the imported image the board boots (" +
                           imageChoices(stateDir) + ")");
    } else if (img = findImage(stateDir, req.image); !img) {
        problems.push_back(
            fmt::format("--image: no image \"{}\" ({})", shown(req.image), imageChoices(stateDir)));
    } else if (img->inPlace && isRootMode(req.rootMode) && !isNbdRootMode(req.rootMode)) {
        // No extracted root to export over NFS: the image's root partition is a block
        // device, served whole over NBD.
        problems.push_back(fmt::format(
            "--root: \"{}\" is served in place, so its root is a partition, not a folder: "
            "use --root nbd (a copy-on-write view of the image per board) or --root "
            "nbd-image (a copy of it per board), or import it for an NFS root "
            "(pinetboot image import {} --name NAME)",
            shown(req.image), img->source));
    }
    if (!problems.empty()) {
        std::string msg = problems.size() == 1
                              ? "client add needs one more thing:"
                              : fmt::format("client add needs {} more things:", problems.size());
        for (const auto& p : problems) {
            msg += "\n  " + p;
        }
        return fail(msg);
    }
    auto existing = reg.findBySerial(*serial);
    if (!existing) {
        return tl::unexpected(existing.error());
    }
    if (*existing && (*existing)->state == io::ClientState::Enrolled) {
        return fail(fmt::format("client {} already exists (pinetboot client remove {} first)",
                                *serial, *serial));
    }
    if (mac) {
        auto other = reg.findByMac(*mac);
        if (!other) {
            return tl::unexpected(other.error());
        }
        if (*other && (*other)->serial != *serial) {
            return fail(fmt::format("MAC {} already belongs to client {}", *mac, (*other)->serial));
        }
    }
    StatePaths paths{stateDir};
    std::error_code ec;
    // Root only: private roots hold the image's setuid files and devices (ensurePrivateDir).
    if (auto r =
            ensurePrivateDir(stateDir).and_then([&] { return ensurePrivateDir(paths.roots()); });
        !r) {
        return tl::unexpected(r.error());
    }

    ClientResult res;
    io::ClientRecord& rec = res.record;
    if (*existing) {
        rec = **existing;  // a discovered Pi being enrolled keeps its first/last seen
    }
    rec.serial = *serial;
    rec.mac = mac ? mac : rec.mac;
    rec.model = req.model.empty() ? rec.model : req.model;
    rec.name = name;
    rec.image = img->name;
    rec.rootMode = req.rootMode;
    rec.bootDir = (paths.tftp() / *serial).string();
    rec.address = address;
    // A user's free text goes to the dashboard and the API: made safe where it enters.
    rec.notes = proto::text::safeText(req.notes, 4096, proto::text::Backslash::Keep);
    rec.state = io::ClientState::Enrolled;
    fs::path root = paths.roots() / *serial;
    if (fs::exists(root, ec) || fs::exists(rec.bootDir, ec)) {
        return fail(fmt::format("{} or {} already exists (left over from an earlier client?)",
                                root.string(), rec.bootDir));
    }

    // Root first: the boot tree's cmdline.txt names its export.
    if (auto r = buildRoot(stateDir, reg, *img, s, rec, req.enableSsh, res.messages, req.progress);
        !r) {
        return tl::unexpected(r.error());
    }
    if (auto r = writeBootTree(stateDir, *img, s, rec, req.enableSsh, res.messages); !r) {
        (void)io::removeTree(root);
        return tl::unexpected(r.error());
    }
    if (auto r = writeMacLink(stateDir, rec); !r) {
        (void)io::removeTree(root);
        (void)io::removeTree(rec.bootDir);
        return tl::unexpected(r.error());
    }
    if (auto r = reg.enroll(rec); !r) {
        (void)io::removeTree(root);
        (void)io::removeTree(rec.bootDir);
        return tl::unexpected(r.error());
    }
    auto stored = reg.findBySerial(rec.serial);
    if (stored && *stored) {
        rec = **stored;
    }
    return res;
}

Result<ClientResult> resetClient(const fs::path& stateDir, io::Registry& reg,
                                 const ServerSettings& s, const std::string& serialIn,
                                 const RootCopyProgress& progress) {
    auto serial = proto::netboot::normalizeSerial(serialIn);
    auto found = reg.findBySerial(serial.value_or(serialIn));
    if (!found) {
        return tl::unexpected(found.error());
    }
    if (!*found || (*found)->state != io::ClientState::Enrolled) {
        return fail(fmt::format("no enrolled client {}", serialIn));
    }
    ClientResult res;
    res.record = **found;
    const auto& rec = res.record;
    if (rec.rootMode == "shared") {
        return fail(
            fmt::format("client {} uses the shared read-only root: nothing to reset", rec.serial));
    }
    auto img = findImage(stateDir, rec.image);
    if (!img) {
        return tl::unexpected(img.error());
    }
    bool ssh = rootPathExists(fs::path(rec.bootDir), "ssh");
    fs::path root = StatePaths{stateDir}.roots() / rec.serial;
    if (isNbdRootMode(rec.rootMode)) {
        // The export holds the disk open: stopped first, started again by
        // nbd apply (client reset runs it). The port stays the board's.
        auto port = nbdPortOf(stateDir, rec.serial);
        if (!port) {
            return tl::unexpected(port.error());
        }
        if (auto r = stopNbdExport(stateDir, rec.serial); !r) {
            return tl::unexpected(r.error());
        }
        fs::path trash = StatePaths{stateDir}.roots() / (".trash-" + rec.serial);
        (void)io::removeTree(trash);
        if (auto r = io::renamePath(root, trash); !r) {
            return tl::unexpected(r.error());
        }
        io::ClientRecord fresh = rec;
        auto msg = buildNbdRoot(stateDir, *img, fresh, {}, *port);
        if (!msg) {
            (void)io::renamePath(trash, root);
            return tl::unexpected(msg.error());
        }
        if (auto r = io::removeTree(trash); !r) {
            return tl::unexpected(r.error());
        }
        res.messages.push_back("root: the board's NBD disk was dropped and made fresh");
        res.messages.push_back(*msg);
    } else if (rec.rootMode == "copy") {
        fs::path fresh = StatePaths{stateDir}.roots() / (".reset-" + rec.serial);
        (void)io::removeTree(fresh);
        auto msg = buildCopyRoot(stateDir, *img, fresh, progress);
        if (!msg) {
            return tl::unexpected(msg.error());
        }
        auto edits = applyRootEdits(fresh, fresh, s, rec, true, ssh);
        if (!edits) {
            (void)io::removeTree(fresh);
            return tl::unexpected(edits.error());
        }
        // Swap: the old root disappears in one rename, then is deleted.
        fs::path trash = StatePaths{stateDir}.roots() / (".trash-" + rec.serial);
        (void)io::removeTree(trash);
        auto swapped =
            io::renamePath(root, trash).and_then([&] { return io::renamePath(fresh, root); });
        if (!swapped) {
            return fail(fmt::format("{}: cannot swap in the fresh root: {}", root.string(),
                                    swapped.error().message));
        }
        if (auto r = io::removeTree(trash); !r) {
            return tl::unexpected(r.error());
        }
        res.messages.push_back(*msg);
        res.messages.insert(res.messages.end(), edits->begin(), edits->end());
    } else {
        if (auto r = unmountIfMounted(root / "merged"); !r) {
            return tl::unexpected(r.error());
        }
        for (const char* d : {"upper", "work"}) {
            if (auto r = io::removeTree(root / d); !r) {
                return tl::unexpected(r.error());
            }
            std::error_code ec;
            fs::create_directories(root / d, ec);
        }
        (void)io::copyMetadata(img->root(), root / "upper");
        auto edits = applyRootEdits(img->root(), root / "upper", s, rec, true, ssh);
        if (!edits) {
            return tl::unexpected(edits.error());
        }
        res.messages.push_back("root: overlay upper layer cleared");
        res.messages.insert(res.messages.end(), edits->begin(), edits->end());
    }
    return res;
}

Result<RemovalPlan> planRemoval(const fs::path& stateDir, io::Registry& reg,
                                const std::string& serialIn) {
    auto serial = proto::netboot::normalizeSerial(serialIn);
    auto found = reg.findBySerial(serial.value_or(serialIn));
    if (!found) {
        return tl::unexpected(found.error());
    }
    if (!*found) {
        return fail(fmt::format("no client {} (pinetboot client list shows them)",
                                proto::text::safeText(serialIn, 100)));
    }
    RemovalPlan plan;
    plan.record = **found;
    if (plan.record.state == io::ClientState::Enrolled && plan.record.rootMode != "shared") {
        fs::path root = StatePaths{stateDir}.roots() / plan.record.serial;
        std::error_code ec;
        if (fs::exists(root, ec)) {
            plan.privateRoot = root;
        }
    }
    return plan;
}

Result<std::vector<std::string>> removeClient(const fs::path& stateDir, io::Registry& reg,
                                              const std::string& serialIn, bool keepRoot,
                                              std::int64_t now) {
    auto plan = planRemoval(stateDir, reg, serialIn);
    if (!plan) {
        return tl::unexpected(plan.error());
    }
    const auto& rec = plan->record;
    std::vector<std::string> msgs;
    StatePaths paths{stateDir};
    if (rec.state == io::ClientState::Enrolled) {
        fs::path root = paths.roots() / rec.serial;
        if (rec.rootMode == "overlay") {
            if (auto r = unmountIfMounted(root / "merged"); !r) {
                return tl::unexpected(r.error());
            }
        }
        if (isNbdRootMode(rec.rootMode)) {
            auto stopped = stopNbdExport(stateDir, rec.serial);
            if (!stopped) {
                return tl::unexpected(stopped.error());
            }
            if (*stopped) {
                msgs.push_back("stopped its NBD export");
            }
        }
        if (rec.rootMode != "shared" && keepRoot && plan->privateRoot) {
            // Aside, not in place: a later `client add` of this serial
            // builds a fresh roots/SERIAL, and must not find this one there.
            fs::path kept = paths.roots() / fmt::format("{}.kept-{}", rec.serial, now);
            if (auto r = io::renamePath(root, kept); !r) {
                return tl::unexpected(r.error());
            }
            msgs.push_back(
                fmt::format("kept the root: {} (the board's files; delete it with "
                            "rm -r when no longer needed)",
                            kept.string()));
        } else if (rec.rootMode != "shared") {
            if (auto r = io::removeTree(root); !r) {
                return tl::unexpected(r.error());
            }
            msgs.push_back("removed " + root.string());
        }
        // Only remove the boot dir if it is ours (inside the state dir's tftp/).
        fs::path boot = paths.tftp() / rec.serial;
        if (auto r = io::removeTree(boot); !r) {
            return tl::unexpected(r.error());
        }
        msgs.push_back("removed " + boot.string());
        if (rec.mac) {
            fs::path link = paths.tftp() / proto::netboot::macPrefixDir(*rec.mac);
            auto st = io::statNoFollow(link);
            if (st && *st && (*st)->kind == io::EntryKind::Symlink && io::removeLink(link)) {
                msgs.push_back("removed " + link.string());
            }
        }
    }
    auto r = reg.remove(rec.serial);
    if (!r) {
        return tl::unexpected(r.error());
    }
    msgs.push_back("removed client " + rec.serial + " from the registry");
    return msgs;
}

Result<ClientResult> setClient(const fs::path& stateDir, io::Registry& reg, const ServerSettings& s,
                               const SetClientRequest& req) {
    auto serial = proto::netboot::normalizeSerial(req.serial);
    auto found = reg.findBySerial(serial.value_or(req.serial));
    if (!found) {
        return tl::unexpected(found.error());
    }
    auto shown = [](const std::string& v) {
        return proto::text::safeText(v, 100);
    };
    if (!*found || (*found)->state != io::ClientState::Enrolled) {
        return fail(fmt::format(
            "no enrolled client {} (pinetboot client list; a discovered board: pinetboot "
            "client add --serial {} ...)",
            shown(req.serial), shown(req.serial)));
    }
    const io::ClientRecord old = **found;
    ClientResult res;
    io::ClientRecord& rec = res.record;
    rec = old;
    std::vector<std::string> problems;
    if (req.name) {
        if (!proto::netboot::isValidHostLabel(*req.name)) {
            problems.push_back(
                fmt::format("--name: \"{}\" is not a valid host name", shown(*req.name)));
        }
        rec.name = *req.name;
    }
    if (req.rootMode) {
        if (!isRootMode(*req.rootMode)) {
            problems.push_back(
                fmt::format("--root: \"{}\" is not {}", shown(*req.rootMode), kRootModeChoices));
        }
        rec.rootMode = *req.rootMode;
    }
    if (req.model) {
        if (!req.model->empty() && !modelDtb(*req.model)) {
            problems.push_back(fmt::format("--model: \"{}\" is not pi4, cm4, pi400, pi5 or cm5",
                                           shown(*req.model)));
        }
        rec.model = *req.model;
    }
    if (req.address) {
        if (!proto::nfs::isIpv4OrSubnet(*req.address)) {
            problems.push_back(fmt::format("--address: \"{}\" is not an IPv4 address or subnet",
                                           shown(*req.address)));
        }
        rec.address = *req.address;
    }
    if (req.notes) {
        rec.notes = proto::text::safeText(*req.notes, 4096, proto::text::Backslash::Keep);
    }
    if (req.image) {
        rec.image = *req.image;
    }
    auto img = findImage(stateDir, rec.image);
    if (!img) {
        problems.push_back(
            fmt::format("--image: no image \"{}\" ({})", shown(rec.image), imageChoices(stateDir)));
    }
    if (s.serverIp.empty()) {
        problems.emplace_back(
            "no server address for cmdline.txt: pinetboot settings set --server-ip A.B.C.D");
    }
    if (!problems.empty()) {
        std::string msg = "client set: nothing changed:";
        for (const auto& p : problems) {
            msg += "\n  " + p;
        }
        return fail(msg);
    }
    rec.image = img->name;
    const bool privateRoot = old.rootMode != "shared";
    const bool rootChanges = rec.image != old.image || rec.rootMode != old.rootMode;
    if (rootChanges && privateRoot && !req.resetRoot) {
        return fail(fmt::format(
            "client set: nothing changed: client {} has a private {} root ({}) holding the "
            "board's own files, and a new {} needs a new root built from the image. Pass "
            "--reset-root to replace it (its files are deleted; `pinetboot client remove {} "
            "--keep-root` first keeps a copy), or leave --image and --root as they are",
            old.serial, old.rootMode, (StatePaths{stateDir}.roots() / old.serial).string(),
            rec.image != old.image ? "image" : "root mode", old.serial));
    }
    if (req.resetRoot && !privateRoot && !rootChanges) {
        return fail(fmt::format(
            "client set: nothing changed: client {} uses the image's shared read-only root; "
            "--reset-root has nothing to reset",
            old.serial));
    }
    // The board's ssh switch lives in its boot tree (Raspberry Pi OS sshswitch).
    const bool ssh = rootPathExists(fs::path(old.bootDir), "ssh");
    StatePaths paths{stateDir};
    fs::path root = paths.roots() / old.serial;
    if (rootChanges || req.resetRoot) {
        if (auto r = ensurePrivateDir(paths.roots()); !r) {
            return tl::unexpected(r.error());
        }
        // The old root goes aside first and comes back if the new one fails.
        fs::path trash = paths.roots() / (".trash-" + old.serial);
        std::error_code ec;
        bool moved = false;
        if (privateRoot && fs::exists(root, ec)) {
            if (old.rootMode == "overlay") {
                if (auto r = unmountIfMounted(root / "merged"); !r) {
                    return tl::unexpected(r.error());
                }
            }
            if (isNbdRootMode(old.rootMode)) {
                if (auto r = stopNbdExport(stateDir, old.serial); !r) {
                    return tl::unexpected(r.error());
                }
            }
            (void)io::removeTree(trash);
            if (auto r = io::renamePath(root, trash); !r) {
                return tl::unexpected(r.error());
            }
            moved = true;
        } else if (fs::exists(root, ec)) {
            return fail(fmt::format("{} already exists (left over from an earlier client?)",
                                    root.string()));
        }
        if (auto r = buildRoot(stateDir, reg, *img, s, rec, ssh, res.messages, req.progress); !r) {
            if (moved) {
                (void)io::renamePath(trash, root);
            }
            return tl::unexpected(r.error());
        }
        if (moved) {
            if (auto r = io::removeTree(trash); !r) {
                return tl::unexpected(r.error());
            }
            res.messages.push_back(
                fmt::format("the old {} root was replaced (--reset-root)", old.rootMode));
        }
    } else if (rec.name != old.name) {
        if (old.rootMode == "shared" || isNbdRootMode(old.rootMode)) {
            res.messages.emplace_back(
                old.rootMode == "shared"
                    ? "name: in the registry only (a shared root has no per-client hostname)"
                    : "name: in the registry only (an NBD root's hostname comes from DHCP)");
        } else {
            // Written into the existing root: the board's other files stay.
            // An overlay that is mounted is written through its merged view
            // (overlayfs: the layers must not change under a mounted overlay).
            fs::path readRoot = root;
            fs::path writeRoot = root;
            if (old.rootMode == "overlay") {
                if (io::isMountPoint(root / "merged")) {
                    readRoot = writeRoot = root / "merged";
                } else {
                    readRoot = img->root();
                    writeRoot = root / "upper";
                }
            }
            auto edits = applyRootEdits(readRoot, writeRoot, s, rec, true, false);
            if (!edits) {
                return tl::unexpected(edits.error());
            }
            res.messages.push_back(
                fmt::format("root kept ({}), hostname rewritten", root.string()));
            res.messages.insert(res.messages.end(), edits->begin(), edits->end());
        }
    } else {
        res.messages.push_back(fmt::format("root kept ({})", rec.rootExport));
    }
    if (auto r = writeBootTree(stateDir, *img, s, rec, ssh, res.messages); !r) {
        return tl::unexpected(r.error());
    }
    if (auto r = reg.enroll(rec); !r) {
        return tl::unexpected(r.error());
    }
    auto stored = reg.findBySerial(rec.serial);
    if (stored && *stored) {
        rec = **stored;
    }
    return res;
}

}  // namespace pinet::app
