#include "io/nfs/nfs_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "io/fd.h"
#include "io/file.h"
#include "io/process/process.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {
constexpr std::uint16_t kNfsPort = 2049;  // RFC 7530 section 3.1
}

Result<std::string> applyKernelExports(const KernelNfsConfig& cfg,
                                       const std::vector<proto::nfs::Export>& exports) {
    auto text = proto::nfs::renderKernelExports(exports);
    if (!text) {
        return tl::unexpected(text.error());
    }
    std::error_code ec;
    fs::create_directories(cfg.exportsFile.parent_path(), ec);
    if (auto r = writeFileAtomic(cfg.exportsFile, *text); !r) {
        return tl::unexpected(r.error());
    }
    // exportfs comes with the kernel NFS server (Debian: nfs-kernel-server); when it cannot
    // be run, the usual cause is that the package is not installed.
    constexpr std::string_view kInstallHint =
        " (exportfs is in the Debian package nfs-kernel-server: apt install nfs-kernel-server; "
        "or use --nfs-backend ganesha)";
    auto out = runProcess({cfg.exportfsCommand, "-ra"}, std::chrono::seconds(60));
    if (!out) {
        return fail(
            fmt::format("{} -ra: {}{}", cfg.exportfsCommand, out.error().message, kInstallHint));
    }
    // 127: the child could not exec it (runProcess's "cannot run", as a shell's).
    if (out->exitCode == 127) {
        const auto& said = out->err.empty() ? out->out : out->err;
        return fail(
            fmt::format("{}{}", said.substr(0, said.find_last_not_of('\n') + 1), kInstallHint));
    }
    if (out->exitCode != 0) {
        return fail(fmt::format("{} -ra failed (exit {}): {}", cfg.exportfsCommand, out->exitCode,
                                out->err.empty() ? out->out : out->err));
    }
    return out->out + out->err;
}

int ganeshaPid(const GaneshaConfig& cfg) {
    auto raw = readFile(cfg.dir / "ganesha.pid");
    if (!raw) {
        return 0;
    }
    int pid = 0;
    try {
        pid = std::stoi(std::string(raw->begin(), raw->end()));
    } catch (const std::exception&) {
        return 0;
    }
    return processAlive(pid) ? pid : 0;
}

Result<bool> stopGanesha(const GaneshaConfig& cfg) {
    int pid = ganeshaPid(cfg);
    if (pid == 0) {
        return false;
    }
    ::kill(pid, SIGTERM);
    // Ganesha shuts down its RPC threads in a few seconds; bounded wait.
    for (int i = 0; i < 100 && processAlive(pid); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (processAlive(pid)) {
        ::kill(pid, SIGKILL);
        for (int i = 0; i < 50 && processAlive(pid); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    std::error_code ec;
    fs::remove(cfg.dir / "ganesha.pid", ec);
    return true;
}

Result<int> applyGanesha(const GaneshaConfig& cfg, const std::vector<proto::nfs::Export>& exports) {
    std::error_code ec;
    fs::create_directories(cfg.dir / "recovery", ec);
    if (ec) {
        return fail(fmt::format("{}: {}", cfg.dir.string(), ec.message()));
    }
    auto text = proto::nfs::renderGaneshaConfig(
        exports, proto::nfs::GaneshaParams{(cfg.dir / "recovery").string(), kNfsPort});
    if (!text) {
        return tl::unexpected(text.error());
    }
    fs::path conf = cfg.dir / "ganesha.conf";
    if (auto r = writeFileAtomic(conf, *text); !r) {
        return tl::unexpected(r.error());
    }
    if (auto r = stopGanesha(cfg); !r) {
        return tl::unexpected(r.error());
    }
    if (exports.empty()) {
        return 0;  // nothing to serve
    }
    fs::path log = cfg.dir / "ganesha.log";
    fs::remove(log, ec);  // a fresh log, so "INITIALIZED" below is from this start
    auto pid = spawnDetached({cfg.command, "-F", "-L", log.string(), "-f", conf.string(), "-p",
                              (cfg.dir / "ganesha.pid.internal").string()},
                             (cfg.dir / "ganesha.out").string());
    if (!pid) {
        return tl::unexpected(pid.error());
    }
    if (auto r = writeFileAtomic(cfg.dir / "ganesha.pid", std::to_string(*pid) + "\n"); !r) {
        return tl::unexpected(r.error());
    }
    auto deadline = std::chrono::steady_clock::now() + cfg.startTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream in(log);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string content = ss.str();
        if (content.find("NFS SERVER INITIALIZED") != std::string::npos) {
            return *pid;
        }
        if (!processAlive(*pid)) {
            std::string why;
            std::istringstream ls(content);
            std::string line;
            while (std::getline(ls, line)) {
                if (line.find(":MAJ :") != std::string::npos ||
                    line.find(":FATAL :") != std::string::npos) {
                    why = line;
                }
            }
            std::string hint =
                why.find("Cannot register") != std::string::npos ? " (is rpcbind running?)" : "";
            fs::remove(cfg.dir / "ganesha.pid", ec);
            return fail(fmt::format("nfs-ganesha exited during start-up{}: {} (log {})", hint,
                                    why.empty() ? "no reason logged" : why, log.string()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail(
        fmt::format("nfs-ganesha (pid {}) did not report NFS SERVER INITIALIZED within "
                    "{} s (log {})",
                    *pid, cfg.startTimeout.count(), log.string()));
}

Result<std::string> pingNfs(const std::string& host, std::chrono::milliseconds timeout) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(kNfsPort);
    if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
        return fail(fmt::format("\"{}\" is not an IPv4 address", host));
    }
    std::string versions;
    for (std::uint32_t vers : {3U, 4U}) {
        Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!s) {
            return fail(fmt::format("socket: {}", std::strerror(errno)));
        }
        int rc = ::connect(s.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
        if (rc != 0 && errno != EINPROGRESS) {
            return fail(fmt::format("{}:{}: {}", host, kNfsPort, std::strerror(errno)));
        }
        pollfd p{s.get(), POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
            return fail(
                fmt::format("{}:{}: no answer within {} ms", host, kNfsPort, timeout.count()));
        }
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            return fail(fmt::format("{}:{}: {}", host, kNfsPort, std::strerror(err)));
        }
        std::uint32_t xid = 0x70696e00U + vers;
        auto call = proto::nfs::encodeNullCall(xid, proto::nfs::kNfsProgram, vers);
        if (::send(s.get(), call.data(), call.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(call.size())) {
            return fail(fmt::format("{}:{}: send failed", host, kNfsPort));
        }
        std::vector<std::uint8_t> buf(512);
        std::size_t got = 0;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (got < 28 && std::chrono::steady_clock::now() < deadline) {
            pollfd q{s.get(), POLLIN, 0};
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (::poll(&q, 1, static_cast<int>(std::max<long>(left.count(), 1))) != 1) {
                break;
            }
            ssize_t n = ::recv(s.get(), buf.data() + got, buf.size() - got, 0);
            if (n <= 0) {
                break;
            }
            got += static_cast<std::size_t>(n);
        }
        if (got == 0) {
            return fail(fmt::format(
                "{}:{}: NFSv{} NULL call: the connection was accepted but no RPC reply came "
                "within {} ms: is an NFS server on port {}? (`ss -ltnp 'sport = :{}'` names "
                "what listens)",
                host, kNfsPort, vers, timeout.count(), kNfsPort, kNfsPort));
        }
        auto st = proto::nfs::parseNullReply(std::span<const std::uint8_t>(buf.data(), got), xid);
        if (!st) {
            return fail(fmt::format(
                "{}:{}: NFSv{} NULL call: {} on port {}: stop it or move it "
                "off port {} (`ss -ltnp 'sport = :{}'` names it)",
                host, kNfsPort, vers, st.error().message, kNfsPort, kNfsPort, kNfsPort));
        }
        if (*st == proto::nfs::RpcReplyStatus::Success) {
            versions += (versions.empty() ? "v" : ", v") + std::to_string(vers);
        }
    }
    if (versions.empty()) {
        return fail(
            fmt::format("{}:{} answers but supports neither NFSv3 nor NFSv4", host, kNfsPort));
    }
    return "NFS " + versions + " answer at " + host + ":2049";
}

}  // namespace pinet::io
