# pg_server.sh - a PostgreSQL 15 server of the test's own (issue #19), sourced by
# tests that run pinetboot against the PostgreSQL store.
#   pg_up DIR   (DIR's parents must be searchable by nobody when root runs the test)
#               initdb into DIR/data and start postgres listening only on a unix
#               socket in DIR (listen_addresses=''); sets PG_URL and PG_PID.
#   pg_down     stops that server by its PID (SIGINT: fast shutdown) and waits.
#   pg_start DIR  starts it again on the same data (a database that comes back).
# As root the server runs as nobody (postgres refuses uid 0), through setpriv, which
# execs in place: $! is the postmaster itself. A missing server binary is a FAIL
# with the package to install (scripts/setup.sh installs postgresql-15), never a skip.
PG_BIN=${PINET_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PID=
PG_URL=

pg_up() {
    local dir=$1 p
    for p in initdb postgres; do
        if [ ! -x "$PG_BIN/$p" ]; then
            echo "FAIL PostgreSQL 15 server not found ($PG_BIN/$p): install the Debian package" \
                 "postgresql-15 (scripts/setup.sh does) or set PINET_PG_BIN" >&2
            return 1
        fi
    done
    local as=()
    if [ "$(id -u)" = 0 ]; then
        chown nobody:nogroup "$dir"
        as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    fi
    "${as[@]}" "$PG_BIN/initdb" -D "$dir/data" -A trust -U pinet -E UTF8 --locale=C --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
    pg_start "$dir"
}

# pg_start DIR: start the server again on the data pg_up made in DIR (after pg_down).
pg_start() {
    local dir=$1
    local as=()
    if [ "$(id -u)" = 0 ]; then
        as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    fi
    # Tests want speed, not durability (the data dies with the test); PG_DURABLE=1
    # (bench/store-bench.sh) keeps PostgreSQL's durable defaults.
    local fast=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    [ "${PG_DURABLE:-0}" = 1 ] && fast=()
    "${as[@]}" "$PG_BIN/postgres" -D "$dir/data" -k "$dir" -c listen_addresses= "${fast[@]}" \
        >"$dir/server.log" 2>&1 &
    PG_PID=$!
    PG_URL="postgresql:///postgres?host=$dir&user=pinet"
    local i
    for i in $(seq 1 300); do
        if "$PG_BIN/pg_isready" -q -h "$dir" -U pinet 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$PG_PID" 2>/dev/null; then
            echo "postgres exited at start:" >&2
            cat "$dir/server.log" >&2
            PG_PID=
            return 1
        fi
        sleep 0.1
    done
    echo "postgres not ready after 30 s" >&2
    return 1
}

pg_down() {
    [ -n "$PG_PID" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
        kill -0 "$PG_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$PG_PID" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=
}
