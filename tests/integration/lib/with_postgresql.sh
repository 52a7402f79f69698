#!/usr/bin/env bash
# with_postgresql.sh SCRIPT - runs the integration test SCRIPT with pinetboot's store on
# a PostgreSQL 15 server of its own (issue #19: "the same CLI and API suites pass against
# the PostgreSQL store"). The server listens on a unix socket in a scratch directory only
# (lib/pg_server.sh) and is stopped by PID when SCRIPT ends; PINETBOOT_STORE_URL points
# every pinetboot command SCRIPT runs at a database created for it. SCRIPT's exit status
# (77 = skip included) is this script's.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pg_server.sh
. "$HERE/pg_server.sh"
script=${1:?usage: with_postgresql.sh SCRIPT}
W=$(mktemp -d /tmp/pnb-withpg-XXXXXX)
chmod 0711 "$W"  # the server's user (nobody, as root) passes through to its own directory
trap 'pg_down; rm -rf "$W"' EXIT
mkdir "$W/pg"
pg_up "$W/pg" || { echo "FAIL cannot start the test's PostgreSQL server"; exit 1; }
"$PG_BIN/psql" "$PG_URL" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE reg" \
    || { echo "FAIL cannot create the test's database"; exit 1; }
export PINETBOOT_STORE_URL="postgresql:///reg?host=$W/pg&user=pinet"
echo "    store: $PINETBOOT_STORE_URL"
bash "$script"
rc=$?
# The suite really ran on PostgreSQL: its first command migrated this database.
if [ "$rc" = 0 ]; then
    n=$("$PG_BIN/psql" "$PINETBOOT_STORE_URL" -XAtq -c "SELECT count(*) FROM schema_version" 2>&1)
    if ! [ "${n:-0}" -gt 0 ] 2>/dev/null; then
        echo "FAIL the store was not migrated on PostgreSQL (schema_version: $n)"
        rc=1
    fi
fi
exit "$rc"
