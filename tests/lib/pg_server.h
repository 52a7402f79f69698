#pragma once
// A PostgreSQL 15 server of a test's own (issue #19): initdb into a temporary
// directory, listening on a unix socket in that directory only
// (listen_addresses = ''), stopped by its PID and removed when the object goes. As
// root the server runs as nobody (postgres refuses root); it gets SIGINT (fast
// shutdown) if the test process dies first (PR_SET_PDEATHSIG), so a crashed test
// leaves no server behind. The cluster is a copy of one initdb made once per build tree
// (binaryDir()/pg-template-15): initdb is most of a start. Binaries from $PINET_PG_BIN, else
// /usr/lib/postgresql/15/bin (Debian's postgresql-15, installed by scripts/setup.sh).

#include <memory>
#include <string>

#include <sys/types.h>

#include "io/file.h"

namespace pinet::test {

class PgServer {
public:
    /// Starts a server; nullptr and @p error set (which binary is missing, the log's
    /// tail) if it cannot. Tests FAIL on that, never skip: the store's tests must run.
    static std::unique_ptr<PgServer> start(std::string& error);
    ~PgServer();
    PgServer(const PgServer&) = delete;
    PgServer& operator=(const PgServer&) = delete;

    /// libpq URL of database @p db on this server.
    [[nodiscard]] std::string url(const std::string& db = "postgres") const;
    /// Creates an empty database and returns its URL ("" and @p error on failure).
    std::string createDatabase(std::string& error);
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_.path(); }

    /// The directory of initdb and postgres.
    static std::string binDir();

private:
    PgServer() : dir_("pnb-pg") {}
    io::TempDir dir_;
    pid_t pid_ = -1;
    int databases_ = 0;
};

/// One server for the whole test process, started at first use (tests share it and
/// each takes a database of its own). nullptr + @p error if it cannot start.
PgServer* sharedPgServer(std::string& error);

}  // namespace pinet::test
