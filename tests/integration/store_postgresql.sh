#!/usr/bin/env bash
# store_postgresql.sh - the registry on PostgreSQL (issue #19): a PostgreSQL 15
# server started here (lib/pg_server.sh: unix socket in the test's directory only,
# stopped by PID), `store migrate` twice (the second finds nothing to do), the CLI's
# client add/list/show/remove, settings set/show and image list/remove against it
# (the rows checked with psql: they are in PostgreSQL, and no registry.db appears),
# PINETBOOT_STORE_URL for commands without --config, and a store whose schema is
# newer than this build refused by `store migrate`, `client list` and `serve` with
# the version and what to do; `store copy-from-sqlite` moves a SQLite registry's clients
# and settings into an empty PostgreSQL database (field by field the same, the SQLite
# registry unchanged, a second copy refused). SQLite stays the default. No network: backend "none"
# for NFS (exports printed), documentation addresses, serve refused before it binds.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
# shellcheck source=lib/pg_server.sh
source "$HERE/lib/pg_server.sh"
W=$(mktemp -d /tmp/pnb-store-pg.XXXXXX)
trap 'pg_down; rm -rf "$W"' EXIT
unset PINETBOOT_STATE_DIR PINETBOOT_STORE_URL
S=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect_eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2' want '$3'"; }
has() { grep -qF -- "$2" <<< "$1"; }

mkdir "$W/pg"
chmod 0711 "$W"  # the server's user (nobody, as root) passes through to its own directory
pg_up "$W/pg" || { echo "FAIL cannot start the test's PostgreSQL server"; exit 1; }
ok "postgres started (pid $PG_PID, socket in $W/pg only)"
psql_() { "$PG_BIN/psql" "$PG_URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE DATABASE reg"
URL="postgresql:///reg?host=$W/pg&user=pinet"
pq() { "$PG_BIN/psql" "$URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

cat > "$W/pinetboot.toml" <<EOT
[server]
state_dir = "$S"

[nfs]
server = "192.0.2.10"
backend = "none"

[store]
backend = "postgresql"
url = "$URL"
EOT
CFG=$W/pinetboot.toml
out=$("$PINETBOOT" check-config --no-dhcp-probe "$CFG" 2>&1) || true
has "$out" "store." && bad "check-config objects to [store]: $out" || ok "check-config accepts [store]"

# ---- store migrate: creates the schema, then has nothing to do
out=$("$PINETBOOT" store migrate --config "$CFG" 2>&1) || bad "store migrate: $out"
echo "$out"
has "$out" "store: postgresql postgresql:///reg" && ok "migrate names the PostgreSQL store" || bad "store line: $out"
has "$out" "schema: version 0 -> " && ok "first migrate creates the schema" || bad "first migrate: $out"
LATEST=$(pq "SELECT max(version) FROM schema_version")
out=$("$PINETBOOT" store migrate --config "$CFG" 2>&1) || bad "store migrate again: $out"
expect_eq "second migrate: current, nothing to do" "$(sed -n 's/^schema: //p' <<< "$out")" \
  "version $LATEST, current (nothing to do)"
expect_eq "one schema_version row per version" "$(pq "SELECT count(*) FROM schema_version")" "$LATEST"
json=$("$PINETBOOT" store migrate --config "$CFG" --json)
expect_eq "migrate --json" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["from"], d["to"], d["latest"])' <<< "$json")" \
  "$LATEST $LATEST $LATEST"

# ---- the CLI on the PostgreSQL store
bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
"$PINETBOOT" image import "$W/pi.img" --name os --state-dir "$S" >/dev/null
has "$("$PINETBOOT" image list --state-dir "$S")" "os" && ok "image list" || bad "image list"
out=$("$PINETBOOT" client add --serial 12345678 --image os --root shared --address 192.0.2.21 \
      --name rack1 --notes "caf$(printf '\xe9') bad byte" --config "$CFG" 2>&1) \
  || bad "client add: $out"
expect_eq "the client is a row in PostgreSQL" "$(pq "SELECT serial, name, state FROM clients")" \
  "12345678|rack1|enrolled"
expect_eq "a non-UTF-8 note is stored escaped (PostgreSQL text is UTF-8)" \
  "$(pq "SELECT notes FROM clients")" 'caf\xe9 bad byte'
[ ! -e "$S/registry.db" ] && ok "no registry.db in the state directory" || bad "registry.db created"
expect_eq "client list --config" \
  "$("$PINETBOOT" client list --json --config "$CFG" | python3 -c 'import json,sys; print([(c["serial"], c["name"]) for c in json.load(sys.stdin)])')" \
  "[('12345678', 'rack1')]"
expect_eq "client show --config: notes read back as SQLite gives them" \
  "$("$PINETBOOT" client show 12345678 --json --config "$CFG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["notes"])')" \
  'caf\xe9 bad byte'
"$PINETBOOT" client add --serial 22345678 --image os --root shared --address 192.0.2.22 \
  --config "$CFG" --no-apply >/dev/null
expect_eq "settings stored in PostgreSQL by client add" \
  "$(pq "SELECT value FROM settings WHERE key = 'server_ip'")" "192.0.2.10"

# ---- commands without --config: PINETBOOT_STORE_URL selects the store
PINETBOOT_STORE_URL=$URL "$PINETBOOT" settings set --server-ip 192.0.2.11 --state-dir "$S" >/dev/null \
  || bad "settings set with PINETBOOT_STORE_URL"
expect_eq "settings set wrote PostgreSQL" "$(pq "SELECT value FROM settings WHERE key = 'server_ip'")" \
  "192.0.2.11"
expect_eq "settings show --config" \
  "$("$PINETBOOT" settings show --json --config "$CFG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server_ip"])')" \
  "192.0.2.11"
expect_eq "client list with PINETBOOT_STORE_URL" \
  "$(PINETBOOT_STORE_URL=$URL "$PINETBOOT" client list --json --state-dir "$S" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
err=$(PINETBOOT_STORE_URL=$URL "$PINETBOOT" image remove os --state-dir "$S" 2>&1) \
  && bad "image remove of an image two clients use" || true
has "$err" "12345678" && ok "image remove refused: the PostgreSQL registry's clients use it" || bad "image remove: $err"
out=$("$PINETBOOT" client remove 22345678 --config "$CFG" --no-apply --yes 2>&1) || bad "client remove: $out"
expect_eq "client remove deleted the row" "$(pq "SELECT string_agg(serial, ',') FROM clients")" "12345678"
"$PINETBOOT" client show 22345678 --config "$CFG" >/dev/null 2>&1 && bad "removed client still shown" \
  || ok "client show: the removed client is gone"

# ---- a password never appears in a message
err=$(PINETBOOT_STORE_URL="postgresql://pinet:s3cret@$W/nothing/db" "$PINETBOOT" client list \
      --state-dir "$S" 2>&1) && bad "client list on an unreachable server" || true
has "$err" "s3cret" && bad "the password is printed: $err" || ok "unreachable store: error without the password"
has "$err" "cannot connect" && ok "unreachable store: says it cannot connect" || bad "connect error: $err"

# ---- a schema newer than this build: refused everywhere, nothing changed
pq "INSERT INTO schema_version(version, applied_at, description) VALUES ($LATEST + 7, 0, 'future')"
NEWER=$((LATEST + 7))
set +e; err=$("$PINETBOOT" store migrate --config "$CFG" 2>&1); rc=$?; set -e
echo "$err"
[ "$rc" != 0 ] && ok "store migrate refuses a newer schema (exit $rc)" || bad "store migrate accepted version $NEWER"
has "$err" "schema version $NEWER is newer than this pinetboot understands ($LATEST)" \
  && has "$err" "Upgrade pinetboot" && ok "the refusal names both versions and what to do" || bad "refusal: $err"
err=$("$PINETBOOT" client list --config "$CFG" 2>&1) && bad "client list on a newer schema" || true
has "$err" "is newer than this pinetboot" && ok "client list refuses it too" || bad "client list: $err"
mkdir -p "$W/tftp"
set +e
err=$(timeout 20 "$PINETBOOT" serve --config "$CFG" --interface lo --root "$W/tftp" --dhcp off \
      --tftp-listen 127.0.0.1:16969 --http 127.0.0.1:18089 2>&1); rc=$?
set -e
[ "$rc" = 1 ] && has "$err" "schema version $NEWER is newer" && ok "serve refuses to start on it" \
  || bad "serve on a newer schema: rc=$rc $err"
expect_eq "nothing was changed by the refusals" "$(pq "SELECT max(version) FROM schema_version")" "$NEWER"
pq "DELETE FROM schema_version WHERE version = $NEWER"

# ---- [store] errors name what is missing
sed 's/^url = .*$//' "$CFG" > "$W/nourl.toml"
err=$("$PINETBOOT" client list --config "$W/nourl.toml" 2>&1) && bad "postgresql without a url accepted" || true
has "$err" "store.backend is \"postgresql\" but no database is named" && has "$err" "PINETBOOT_STORE_URL" \
  && ok "backend postgresql without url: says what to set" || bad "no url: $err"
printf '[store]\nurl = "%s"\n' "$URL" > "$W/sqlite-url.toml"
err=$("$PINETBOOT" check-config --no-dhcp-probe "$W/sqlite-url.toml" 2>&1) || true
has "$err" "store.url is set but store.backend is \"sqlite\"" && ok "url without backend: refused" || bad "url alone: $err"

# ---- SQLite is still the default
out=$("$PINETBOOT" store migrate --state-dir "$W/sqlite-state" 2>&1) || bad "sqlite migrate: $out"
has "$out" "store: sqlite $W/sqlite-state/registry.db" && [ -f "$W/sqlite-state/registry.db" ] \
  && ok "without [store]: SQLite registry.db in the state directory" || bad "sqlite default: $out"
out=$("$PINETBOOT" store migrate --state-dir "$W/sqlite-state" 2>&1)
has "$out" "current (nothing to do)" && ok "sqlite: second migrate has nothing to do" || bad "sqlite again: $out"

# ---- store copy-from-sqlite: a SQLite registry moved into PostgreSQL
SQ=$W/sq-state
"$PINETBOOT" image import "$W/pi.img" --name os --state-dir "$SQ" >/dev/null 2>&1 || bad "sqlite image import"
"$PINETBOOT" settings set --server-ip 192.0.2.12 --client-subnet 192.0.2.0/24 --state-dir "$SQ" >/dev/null \
  || bad "sqlite settings set"
for n in 1 2; do
  out=$("$PINETBOOT" client add --serial "3234567$n" --image os --root shared --address "192.0.2.3$n" \
        --mac "dc:a6:32:00:00:3$n" --name "node$n" --state-dir "$SQ" --no-apply 2>&1) \
    || bad "sqlite client add $n: $out"
done
listing() { python3 -c 'import json,sys; print(json.dumps(sorted(({k: v for k, v in c.items() if k != "id"} for c in json.load(sys.stdin)), key=lambda c: c["serial"]), sort_keys=True))'; }
before=$("$PINETBOOT" client list --json --state-dir "$SQ" | listing)
psql_ -c "CREATE DATABASE reg2"
printf '[server]\nstate_dir = "%s"\n\n[store]\nbackend = "postgresql"\nurl = "postgresql:///reg2?host=%s/pg&user=pinet"\n' \
  "$SQ" "$W" > "$W/copy.toml"
rc=0; out=$("$PINETBOOT" store copy-from-sqlite --config "$W/copy.toml" 2>&1) || rc=$?
[ "$rc" = 0 ] && has "$out" "copied 2 enrolled client(s), 0 discovered board(s) and" \
  && ok "copy-from-sqlite copied both clients" || bad "copy-from-sqlite: rc=$rc $out"
after=$("$PINETBOOT" client list --json --config "$W/copy.toml" | listing)
[ -n "$before" ] && [ "$after" = "$before" ] && ok "client list on PostgreSQL equals the SQLite one, field by field" \
  || bad "copied clients differ: sqlite $before postgresql $after"
expect_eq "settings copied" \
  "$("$PINETBOOT" settings show --json --config "$W/copy.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server_ip"])')" \
  192.0.2.12
expect_eq "SQLite registry unchanged" "$("$PINETBOOT" client list --json --state-dir "$SQ" | listing)" "$before"
rc=0; out=$("$PINETBOOT" store copy-from-sqlite --config "$W/copy.toml" 2>&1) || rc=$?
[ "$rc" != 0 ] && has "$out" "already holds 2 client(s)" && has "$out" "nothing there is overwritten" \
  && ok "a second copy into a store with clients is refused" || bad "second copy: rc=$rc $out"
expect_eq "still two clients in PostgreSQL" \
  "$("$PG_BIN/psql" "postgresql:///reg2?host=$W/pg&user=pinet" -XAtq -c 'SELECT count(*) FROM clients')" 2
rc=0; out=$("$PINETBOOT" store copy-from-sqlite --state-dir "$SQ" 2>&1) || rc=$?
[ "$rc" != 0 ] && has "$out" "copy into PostgreSQL" && ok "copy into SQLite is refused, saying why" \
  || bad "copy into sqlite: rc=$rc $out"

pid=$PG_PID
pg_down
kill -0 "$pid" 2>/dev/null && bad "postgres $pid still running" || ok "postgres $pid stopped"
if [ "$fails" -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all passed"
