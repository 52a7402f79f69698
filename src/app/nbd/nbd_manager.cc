#include "app/nbd/nbd_manager.h"

#include <charconv>
#include <chrono>
#include <map>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "io/fd.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/fs/tree_copy.h"
#include "io/net/filtered_listener.h"
#include "io/process/process.h"
#include "proto/netboot/ids.h"

namespace pinet::app {

namespace fs = std::filesystem;

namespace {

// Constant program names looked up in PATH (docs/security.md: never from a file).
constexpr const char* kQemuNbd = "qemu-nbd";
constexpr const char* kQemuImg = "qemu-img";
constexpr const char* kMke2fs = "mke2fs";

/// One MiB: the base size is rounded up to it (mke2fs sizes in blocks).
constexpr std::uint64_t kMiB = 1ULL << 20;
constexpr std::uint64_t kGiB = 1ULL << 30;

std::string missingProgram(const char* program, const char* package) {
    return fmt::format("{} is not installed: apt install {} (Debian/Ubuntu)", program, package);
}

/// qemu's option syntax doubles a ',' inside a value; refusing one is simpler
/// and a state directory never needs it.
Result<void> usableInQemuOptions(const fs::path& p) {
    if (p.string().find_first_of(",\n") != std::string::npos) {
        return fail(fmt::format("{}: a path with ',' cannot be passed to qemu-nbd", p.string()));
    }
    return {};
}

std::optional<int> readPid(const fs::path& pidFile) {
    auto text = io::readFile(pidFile);
    if (!text) {
        return std::nullopt;
    }
    std::string_view v(reinterpret_cast<const char*>(text->data()), text->size());
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
    }
    int pid = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), pid);
    if (ec != std::errc() || p != v.data() + v.size() || pid <= 1) {
        return std::nullopt;
    }
    return pid;
}

/// The pid file's process, if it is qemu-nbd serving @p disk: a stale file
/// (the PID reused by another program) must not get it killed.
std::optional<int> runningExport(const fs::path& pidFile, const fs::path& disk) {
    auto pid = readPid(pidFile);
    if (!pid || !io::processAlive(*pid)) {
        return std::nullopt;
    }
    auto args = io::processArguments(*pid);
    if (args.empty()) {
        return std::nullopt;
    }
    bool isQemuNbd = fs::path(args.front()).filename() == kQemuNbd;
    bool servesDisk = false;
    for (const auto& a : args) {
        servesDisk = servesDisk ||
                     a.find("file.filename=" + disk.string() + ",") != std::string::npos ||
                     a.ends_with("file.filename=" + disk.string());
    }
    if (!isQemuNbd || !servesDisk) {
        return std::nullopt;
    }
    return pid;
}

/// The qemu-nbd command for @p rec: the disk and, for an overlay, its backing
/// file given on the command line (so the path written in the overlay's
/// header is never followed) and opened read-only.
Result<std::vector<std::string>> qemuNbdArgv(const NbdPaths& paths, const io::ClientRecord& rec,
                                             const fs::path& base) {
    fs::path disk = paths.disk(rec.serial, rec.rootMode);
    if (auto r = usableInQemuOptions(disk); !r) {
        return tl::unexpected(r.error());
    }
    std::string opts;
    if (rec.rootMode == "nbd") {
        if (auto r = usableInQemuOptions(base); !r) {
            return tl::unexpected(r.error());
        }
        opts = fmt::format(
            "driver=qcow2,file.driver=file,file.filename={},backing.driver=raw,"
            "backing.file.driver=file,backing.file.filename={},backing.read-only=on",
            disk.string(), base.string());
    } else {
        opts = fmt::format("driver=raw,file.driver=file,file.filename={}", disk.string());
    }
    // --persistent: serve the next connection after a board disconnects (a
    // reboot); --shared=1: one board at a time (two writers would corrupt ext4);
    // --cache=writeback with flush from the client keeps the board's fsync honest.
    return std::vector<std::string>{kQemuNbd,
                                    "--persistent",
                                    "--shared=1",
                                    "--export-name=" + rec.serial,
                                    "--cache=writeback",
                                    "--discard=unmap",
                                    "--image-opts",
                                    opts};
}

}  // namespace

bool isNbdRootMode(const std::string& mode) {
    return mode == "nbd" || mode == "nbd-image";
}

fs::path NbdPaths::disk(const std::string& serial, const std::string& mode) const {
    return stateDir / "roots" / serial / (mode == "nbd" ? "root.qcow2" : "root.img");
}

Result<std::string> runNbdTool(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout) {
    auto out = io::runProcess(argv, timeout);
    if (!out) {
        return tl::unexpected(out.error());
    }
    if (out->exitCode != 0) {
        std::string err = out->err.empty() ? out->out : out->err;
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) {
            err.pop_back();
        }
        // "qemu-img map failed": the subcommand too, when there is one.
        const std::string what =
            argv.size() > 1 && !argv[1].starts_with('-') ? argv[0] + " " + argv[1] : argv[0];
        return fail(fmt::format("{} failed (exit {}): {}", what, out->exitCode, err));
    }
    return std::move(out->out);
}

std::uint64_t nbdBaseSize(std::uint64_t rootBytes) {
    std::uint64_t size = 2 * rootBytes + kGiB;
    return (size + kMiB - 1) / kMiB * kMiB;
}

Result<std::string> ensureNbdBase(const fs::path& stateDir, const ImageInfo& img) {
    NbdPaths paths{stateDir};
    fs::path base = paths.base(img.name);
    std::error_code ec;
    if (fs::exists(base, ec)) {
        return fmt::format("base: {} (already built)", base.string());
    }
    if (!io::programExists(kMke2fs)) {
        return fail(missingProgram(kMke2fs, "e2fsprogs"));
    }
    fs::path tmp = img.dir / ".nbd-base.ext4.tmp";
    (void)io::removeLink(tmp);
    std::uint64_t size = nbdBaseSize(img.rootBytes);
    if (auto r = io::createSparseFile(tmp, size, 0600); !r) {
        return tl::unexpected(r.error());
    }
    // -d copies the extracted tree (owners, modes, xattrs, device nodes, hard
    // links) into the new file system; no mount, no loop device. The root's
    // size bounds the time: 60 s plus 1 s per 20 MiB, as the import's reader.
    auto timeout = std::chrono::seconds(60 + img.rootBytes / (20 * kMiB));
    auto made = runNbdTool({kMke2fs, "-q", "-F", "-t", "ext4", "-L", "rootfs", "-d",
                            img.root().string(), tmp.string()},
                           timeout);
    if (!made) {
        (void)io::removeLink(tmp);
        return fail(
            fmt::format("building the NBD base of image {}: {}", img.name, made.error().message));
    }
    if (auto r = io::renamePath(tmp, base); !r) {
        (void)io::removeLink(tmp);
        return tl::unexpected(r.error());
    }
    return fmt::format("base: {} built from the image's root ({} MiB file system, {} MiB on disk)",
                       base.string(), size / kMiB, io::allocatedBytes(base) / kMiB);
}

Result<std::string> inPlaceNbdBase(const ImageInfo& img) {
    if (img.rootPartition <= 0) {
        return fail(fmt::format("image {} ({}) has no Linux root partition for an NBD root",
                                img.name, img.source));
    }
    if (img.rootFs != "ext4") {
        return fail(fmt::format(
            "image {}: root partition {} of {} is not ext4 (no ext2/3/4 superblock), and the "
            "board's initramfs mounts an NBD root as ext4: use an image with an ext4 root",
            img.name, img.rootPartition, img.source));
    }
    // Checked as every use of the image is: changed since `image add`, it is refused.
    auto id = io::fileIdentity(img.source);
    if (!id || id->size != img.sourceSize || id->mtimeNs != img.sourceMtime) {
        return fail(fmt::format(
            "image {}: {} is gone or changed since `image add` (pinetboot image remove {} and "
            "add it again)",
            img.name, img.source, img.name));
    }
    return fmt::format(
        "base: {} itself, read-only (in place; the board sees the whole disk, "
        "its root on partition {})",
        img.source, img.rootPartition);
}

std::string nbdRootDevice(const ImageInfo& img) {
    // The whole image is the board's disk: its root is a partition of /dev/nbd0, which the
    // kernel scans (the nbd module's max_part). nbd-client's scripts strip a "pN" suffix
    // to find the device to connect (its init script: ${nbdrootdev%p*}).
    return img.inPlace ? fmt::format("/dev/nbd0p{}", img.rootPartition) : "/dev/nbd0";
}

Result<std::uint16_t> nbdPortOf(const fs::path& stateDir, const std::string& serial) {
    fs::path pf = NbdPaths{stateDir}.portFile(serial);
    auto text = io::readFile(pf);
    if (!text) {
        return fail(fmt::format("{}: {} (pinetboot client reset {} makes it again)", pf.string(),
                                text.error().message, serial));
    }
    std::string_view v(reinterpret_cast<const char*>(text->data()), text->size());
    while (!v.empty() && v.back() == '\n') {
        v.remove_suffix(1);
    }
    unsigned port = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
    if (ec != std::errc() || p != v.data() + v.size() || port < kNbdFirstPort || port > 65535) {
        return fail(
            fmt::format("{}: not a port number from {} to 65535", pf.string(), kNbdFirstPort));
    }
    return static_cast<std::uint16_t>(port);
}

Result<std::string> buildNbdRoot(const fs::path& stateDir, const ImageInfo& img,
                                 io::ClientRecord& rec, const std::vector<io::ClientRecord>& others,
                                 std::optional<std::uint16_t> port) {
    NbdPaths paths{stateDir};
    if (!isNbdRootMode(rec.rootMode)) {
        return fail(fmt::format("root mode \"{}\" is not nbd or nbd-image", rec.rootMode));
    }
    if (rec.rootMode == "nbd" && !io::programExists(kQemuImg)) {
        return fail(missingProgram(kQemuImg, "qemu-utils"));
    }
    auto baseMsg = img.inPlace ? inPlaceNbdBase(img) : ensureNbdBase(stateDir, img);
    if (!baseMsg) {
        return tl::unexpected(baseMsg.error());
    }
    const fs::path base = img.inPlace ? fs::path(img.source) : paths.base(img.name);
    if (!port) {
        std::set<unsigned> used;
        for (const auto& o : others) {
            if (o.serial != rec.serial && o.state == io::ClientState::Enrolled &&
                isNbdRootMode(o.rootMode)) {
                if (auto p = nbdPortOf(stateDir, o.serial)) {
                    used.insert(*p);
                }
            }
        }
        unsigned p = kNbdFirstPort;
        while (used.count(p) != 0) {
            ++p;
        }
        if (p > 65535) {
            return fail("no free NBD port left");
        }
        port = static_cast<std::uint16_t>(p);
    }
    fs::path root = stateDir / "roots" / rec.serial;
    io::TempDir tmp(".new-" + rec.serial, stateDir / "roots");
    fs::path build = tmp.path() / "root";
    std::error_code ec;
    fs::create_directories(build, ec);
    if (ec) {
        return fail(fmt::format("{}: {}", build.string(), ec.message()));
    }
    fs::path disk = build / paths.disk(rec.serial, rec.rootMode).filename();
    std::string what;
    if (rec.rootMode == "nbd") {
        // The header names the base for qemu-img info and humans; qemu-nbd is
        // given it on its command line (qemuNbdArgv).
        // 4 KiB clusters, ext4's block size: a board's write costs the blocks
        // it writes. With qcow2's default 64 KiB, 7 scattered blocks (one small
        // file) cost 708 KiB per board, measured (docs/benchmarks.md "NBD roots").
        auto made = runNbdTool({kQemuImg, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096",
                                "-F", "raw", "-b", base.string(), disk.string()},
                               std::chrono::seconds(60));
        if (!made) {
            return tl::unexpected(made.error());
        }
        what = fmt::format("root: NBD copy-on-write overlay {} over {}",
                           paths.disk(rec.serial, rec.rootMode).string(), base.string());
    } else {
        auto in = io::openReadOnly(base);
        if (!in) {
            return tl::unexpected(in.error());
        }
        auto out = io::createExclusive(disk, 0600);
        if (!out) {
            return tl::unexpected(out.error());
        }
        auto copied = io::cloneOrCopyData(in->get(), out->get(), true);
        if (!copied) {
            return tl::unexpected(copied.error());
        }
        what = fmt::format(
            "root: NBD disk image {} of the board's own ({})",
            paths.disk(rec.serial, rec.rootMode).string(),
            copied->reflinked
                ? "reflinked"
                : fmt::format("{:.1f} MiB copied", static_cast<double>(copied->bytesCopied) /
                                                       static_cast<double>(kMiB)));
    }
    if (auto r = io::writeFileAtomic(build / "port", fmt::format("{}\n", *port)); !r) {
        return tl::unexpected(r.error());
    }
    if (auto r = io::renamePath(build, root); !r) {
        return tl::unexpected(r.error());
    }
    rec.rootExport = paths.disk(rec.serial, rec.rootMode).string();
    return fmt::format("{}\n{}; port {}", *baseMsg, what, *port);
}

Result<bool> stopNbdExport(const fs::path& stateDir, const std::string& serial) {
    NbdPaths paths{stateDir};
    bool stopped = false;
    for (const char* mode : {"nbd", "nbd-image"}) {
        auto pid = runningExport(paths.pidFile(serial), paths.disk(serial, mode));
        if (!pid) {
            continue;
        }
        // qemu-nbd flushes and exits at SIGTERM; 5 s is ample for a flush.
        if (!io::terminateProcess(*pid, std::chrono::seconds(5))) {
            return fail(fmt::format("qemu-nbd pid {} of client {} does not stop", *pid, serial));
        }
        stopped = true;
    }
    (void)io::removeLink(paths.pidFile(serial));
    return stopped;
}

Result<NbdApplyReport> applyNbd(const fs::path& stateDir, io::Registry& reg,
                                const ServerSettings& s,
                                const std::optional<std::string>& onlySerial) {
    NbdPaths paths{stateDir};
    auto all = reg.list();
    if (!all) {
        return tl::unexpected(all.error());
    }
    NbdApplyReport rep;
    std::vector<io::ClientRecord> nbdClients;
    for (const auto& c : *all) {
        if (c.state == io::ClientState::Enrolled && isNbdRootMode(c.rootMode)) {
            nbdClients.push_back(c);
        }
    }
    // Exports of clients gone from the registry (removed, or no longer nbd).
    std::error_code ec;
    if (fs::is_directory(paths.runDir(), ec)) {
        std::set<std::string> wanted;
        for (const auto& c : nbdClients) {
            wanted.insert(c.serial);
        }
        for (const auto& e : fs::directory_iterator(paths.runDir(), ec)) {
            std::string n = e.path().filename().string();
            if (n.size() != 12 || n.substr(8) != ".pid") {
                continue;
            }
            std::string serial = n.substr(0, 8);
            if (wanted.count(serial) == 0) {
                auto st = stopNbdExport(stateDir, serial);
                if (st && *st) {
                    rep.lines.push_back(
                        fmt::format("stopped the export of {} (not an nbd client)", serial));
                }
            }
        }
    }
    if (nbdClients.empty()) {
        rep.lines.emplace_back("no nbd clients: nothing to serve");
        return rep;
    }
    if (!io::programExists(kQemuNbd)) {
        return fail(missingProgram(kQemuNbd, "qemu-utils"));
    }
    if (s.serverIp.empty()) {
        return fail("no server address to listen on: pinetboot settings set --server-ip A.B.C.D");
    }
    if (auto r = ensurePrivateDir(paths.runDir()); !r) {
        return tl::unexpected(r.error());
    }
    std::map<std::uint16_t, std::string> ports;
    for (const auto& c : nbdClients) {
        // The row's paths are not used: the disk is where the serial says.
        if (proto::netboot::normalizeSerial(c.serial) != c.serial) {
            rep.refused.push_back(fmt::format(
                "client {}: serial is not 8 lower-case hex digits; not served", c.serial));
            continue;
        }
        fs::path disk = paths.disk(c.serial, c.rootMode);
        auto port = nbdPortOf(stateDir, c.serial);
        if (!port) {
            rep.refused.push_back(
                fmt::format("client {}: {}; not served", c.serial, port.error().message));
            continue;
        }
        if (auto [it, fresh] = ports.emplace(*port, c.serial); !fresh) {
            rep.refused.push_back(fmt::format("client {}: port {} is client {}'s too; not served",
                                              c.serial, *port, it->second));
            continue;
        }
        // An in-place image is its own base (read-only backing); an imported one has
        // images/NAME/nbd-base.ext4. Both come from pinetboot's own state, never the row.
        auto img = findImage(stateDir, c.image);
        const fs::path base = img && img->inPlace ? fs::path(img->source) : paths.base(c.image);
        if (!fs::is_regular_file(disk, ec) ||
            (c.rootMode == "nbd" && !fs::is_regular_file(base, ec))) {
            rep.refused.push_back(fmt::format(
                "client {}: {} or its base is missing (pinetboot client reset {} makes a fresh "
                "one); not served",
                c.serial, disk.string(), c.serial));
            continue;
        }
        if (c.address.empty()) {
            rep.refused.push_back(
                fmt::format("client {}: no address to limit its export to; not served", c.serial));
            continue;
        }
        if (onlySerial && *onlySerial != c.serial) {
            if (auto pid = runningExport(paths.pidFile(c.serial), disk)) {
                continue;  // serving its board: left alone
            }
        }
        if (auto r = stopNbdExport(stateDir, c.serial); !r) {
            rep.refused.push_back(fmt::format("client {}: {}", c.serial, r.error().message));
            continue;
        }
        auto argv = qemuNbdArgv(paths, c, base);
        if (!argv) {
            rep.refused.push_back(
                fmt::format("client {}: {}; not served", c.serial, argv.error().message));
            continue;
        }
        // Made after the old process is gone (it held the port).
        auto sock = io::listenTcpOnlyFrom(s.serverIp, *port, c.address);
        if (!sock) {
            rep.refused.push_back(
                fmt::format("client {}: {}; not served", c.serial, sock.error().message));
            continue;
        }
        auto pid =
            io::spawnDetachedWithListener(*argv, paths.logFile(c.serial).string(), sock->get());
        if (!pid) {
            rep.refused.push_back(
                fmt::format("client {}: {}; not served", c.serial, pid.error().message));
            continue;
        }
        if (auto r = io::writeFileAtomic(paths.pidFile(c.serial), fmt::format("{}\n", *pid)); !r) {
            rep.refused.push_back(fmt::format("client {}: {}", c.serial, r.error().message));
        }
        rep.lines.push_back(fmt::format("{}: {} on {}:{} for {} only (qemu-nbd pid {})", c.serial,
                                        disk.string(), s.serverIp, *port, c.address, *pid));
    }
    return rep;
}

Result<std::vector<NbdExportStatus>> nbdStatus(const fs::path& stateDir, io::Registry& reg) {
    NbdPaths paths{stateDir};
    auto all = reg.list();
    if (!all) {
        return tl::unexpected(all.error());
    }
    std::vector<NbdExportStatus> out;
    for (const auto& c : *all) {
        if (c.state != io::ClientState::Enrolled || !isNbdRootMode(c.rootMode) ||
            proto::netboot::normalizeSerial(c.serial) != c.serial) {
            continue;
        }
        NbdExportStatus st;
        st.serial = c.serial;
        st.mode = c.rootMode;
        st.address = c.address;
        st.disk = paths.disk(c.serial, c.rootMode);
        st.diskBytes = io::allocatedBytes(st.disk);
        if (auto p = nbdPortOf(stateDir, c.serial)) {
            st.port = *p;
        } else {
            st.problem = p.error().message;
        }
        st.pid = runningExport(paths.pidFile(c.serial), st.disk);
        std::error_code ec;
        if (!fs::exists(st.disk, ec)) {
            // Deleted by hand under a running export: qemu-nbd still serves the unlinked
            // file, so the board runs on, but what it writes is lost when the export stops.
            st.problem = st.pid ? fmt::format(
                                      "its disk {} was deleted while qemu-nbd (pid {}) serves it: "
                                      "the board's writes go to a deleted file and are lost when "
                                      "the export stops; pinetboot client reset {} makes a fresh "
                                      "disk (dropping them)",
                                      st.disk.string(), *st.pid, c.serial)
                                : fmt::format(
                                      "its disk {} is missing; pinetboot client reset {} makes a "
                                      "fresh one",
                                      st.disk.string(), c.serial);
        } else if (!st.pid && st.problem.empty()) {
            st.problem = "not running (pinetboot nbd apply starts it)";
        }
        out.push_back(std::move(st));
    }
    return out;
}

}  // namespace pinet::app
