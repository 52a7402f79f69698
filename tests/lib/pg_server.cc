#include "lib/pg_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "lib/test_env.h"

namespace pinet::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Account {
    uid_t uid;
    gid_t gid;
};

/// Whom the server runs as: nobody when we are root (postgres refuses uid 0).
std::optional<Account> serverAccount() {
    if (::geteuid() != 0) {
        return Account{::geteuid(), ::getegid()};
    }
    const passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr) {
        return std::nullopt;
    }
    return Account{pw->pw_uid, pw->pw_gid};
}

/// Forks @p argv as @p who, output to @p log; @p dieWithUs: SIGINT when this thread
/// ends (set after the uid change, which clears it). The child's pid, or -1.
pid_t spawn(const std::vector<std::string>& argv, const Account& who, const fs::path& log,
            bool dieWithUs) {
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) {
        return pid;
    }
    // Child: only async-signal-safe calls from here on.
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) {
        ::_exit(126);
    }
    ::setsid();
    if (::geteuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0)) {
        ::_exit(126);
    }
    if (dieWithUs && (::prctl(PR_SET_PDEATHSIG, SIGINT) != 0 || ::getppid() != parent)) {
        ::_exit(126);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
}

/// Waits for @p pid up to @p limit; its exit code, or -1 (then it is killed).
int waitFor(pid_t pid, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < end) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (r < 0) {
            return -1;
        }
        std::this_thread::sleep_for(20ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
}

std::string tail(const fs::path& log) {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

/// Runs @p argv (as root, no shell) and waits; its exit code, or -1.
int runAsUs(const std::vector<std::string>& argv, const fs::path& log) {
    const Account self{::geteuid(), ::getegid()};
    const pid_t pid = spawn(argv, self, log, false);
    return pid < 0 ? -1 : waitFor(pid, 60s);
}

/// A fresh cluster in @p data. initdb takes about a second of the two cores a test
/// has; each test process needs a cluster, so the first one made in this build tree
/// is kept (binaryDir()/pg-template-15, made under a lock, for the PostgreSQL version
/// at PG_VERSION) and later ones are copies (cp -a: owner and modes kept). "" or why not.
std::string makeDataDir(const fs::path& bin, const fs::path& data, const fs::path& dir,
                        const Account& who) {
    const fs::path cache = binaryDir() / "pg-template-15";
    const int lock =
        ::open((binaryDir() / "pg-template-15.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock >= 0) {
        ::flock(lock, LOCK_EX);
    }
    std::string error;
    std::error_code ec;
    bool copied = false;
    if (fs::exists(cache / "PG_VERSION", ec)) {
        // A template another user made may be unreadable here: then initdb after all.
        copied = runAsUs({"/bin/cp", "-a", cache.string(), data.string()}, dir / "copy.log") == 0;
        if (!copied) {
            fs::remove_all(data, ec);
        }
    }
    if (!copied) {
        // Trust on a socket only this directory's owner can reach: no password to manage.
        const pid_t init = spawn({(bin / "initdb").string(), "-D", data.string(), "-A", "trust",
                                  "-U", "pinet", "-E", "UTF8", "--locale=C", "--no-sync"},
                                 who, dir / "initdb.log", false);
        if (init < 0 || waitFor(init, 60s) != 0) {
            error = "initdb failed: " + tail(dir / "initdb.log");
        } else {
            // Kept for the next test process; a failed copy only costs the next one time.
            const fs::path tmp = binaryDir() / "pg-template-15.tmp";
            fs::remove_all(tmp, ec);
            if (!fs::exists(cache, ec) &&
                runAsUs({"/bin/cp", "-a", data.string(), tmp.string()}, dir / "copy.log") == 0) {
                fs::rename(tmp, cache, ec);
            }
        }
    }
    if (lock >= 0) {
        ::close(lock);
    }
    return error;
}

}  // namespace

std::string PgServer::binDir() {
    if (const char* env = std::getenv("PINET_PG_BIN"); env != nullptr && *env != '\0') {
        return env;
    }
    return "/usr/lib/postgresql/15/bin";
}

std::unique_ptr<PgServer> PgServer::start(std::string& error) {
    const fs::path bin = binDir();
    std::vector<std::string> missing;
    for (const char* p : {"initdb", "postgres"}) {
        if (::access((bin / p).c_str(), X_OK) != 0) {
            missing.push_back((bin / p).string());
        }
    }
    if (!missing.empty()) {
        error = fmt::format(
            "PostgreSQL 15 server not found ({}): install the Debian package postgresql-15 "
            "(scripts/setup.sh does), or point PINET_PG_BIN at its bin directory",
            fmt::join(missing, ", "));
        return nullptr;
    }
    auto who = serverAccount();
    if (!who) {
        error = "running as root and there is no user 'nobody' to run postgres as";
        return nullptr;
    }
    std::unique_ptr<PgServer> s(new PgServer());
    const fs::path dir = s->dir_.path();
    if (::chown(dir.c_str(), who->uid, who->gid) != 0) {
        error = fmt::format("chown {}: {}", dir.string(), std::strerror(errno));
        return nullptr;
    }
    const fs::path data = dir / "data";
    const fs::path log = dir / "server.log";
    if (auto e = makeDataDir(bin, data, dir, *who); !e.empty()) {
        error = e;
        return nullptr;
    }
    // fsync off: a test's database need not survive a power cut, and it is much faster.
    s->pid_ = spawn({(bin / "postgres").string(), "-D", data.string(), "-k", dir.string(), "-c",
                     "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
                     "full_page_writes=off", "-c", "max_connections=40"},
                    *who, log, true);
    if (s->pid_ < 0) {
        error = "cannot fork postgres";
        return nullptr;
    }
    const auto end = std::chrono::steady_clock::now() + 30s;
    while (PQping(s->url().c_str()) != PQPING_OK) {
        int status = 0;
        if (::waitpid(s->pid_, &status, WNOHANG) == s->pid_) {
            s->pid_ = -1;
            error = "postgres exited at start: " + tail(log);
            return nullptr;
        }
        if (std::chrono::steady_clock::now() > end) {
            error = "postgres not ready after 30 s: " + tail(log);
            return nullptr;  // the destructor stops it
        }
        std::this_thread::sleep_for(20ms);
    }
    return s;
}

PgServer::~PgServer() {
    if (pid_ > 0) {
        ::kill(pid_, SIGINT);  // fast shutdown: ends sessions, checkpoints, exits
        if (waitFor(pid_, 15s) < 0) {
            // waitFor killed it
        }
    }
}

std::string PgServer::url(const std::string& db) const {
    return fmt::format("postgresql:///{}?host={}&user=pinet", db, dir_.path().string());
}

std::string PgServer::createDatabase(std::string& error) {
    const std::string name = fmt::format("t{}", ++databases_);
    PGconn* c = PQconnectdb(url().c_str());
    std::string out;
    if (PQstatus(c) != CONNECTION_OK) {
        error = PQerrorMessage(c);
    } else {
        // An identifier cannot be a parameter; the name is ours ("t" and a counter).
        PGresult* r = PQexec(c, fmt::format("CREATE DATABASE \"{}\"", name).c_str());
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            out = url(name);
        } else {
            error = PQresultErrorMessage(r);
        }
        PQclear(r);
    }
    PQfinish(c);
    return out;
}

PgServer* sharedPgServer(std::string& error) {
    static std::string startError;
    static std::unique_ptr<PgServer> server = PgServer::start(startError);
    error = startError;
    return server.get();
}

}  // namespace pinet::test
