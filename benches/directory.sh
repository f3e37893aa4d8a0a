#!/usr/bin/env bash
# The directory benchmark of issue 18 (benches/README.md, "Directory benchmark"): against one
# slapd (mdb, ppolicy and auditlog overlays, as the tests run it) in one run,
#   initial   regsync directory push of ACCOUNTS imported accounts into an empty people subtree
#             vs ldapadd -c of the same entries as LDIF (what `directory push --dry-run` prints)
#             into an empty sibling subtree
#   night     a night of CHANGES changes (stops: the lock and its description) pushed by regsync
#             vs ldapmodify -c of the same changes as LDIF
#   nochange  every journal row queued again with the desired state the entries already have
#             (what a crash after the writes leaves): regsync reads and writes nothing
#   diff      regsync directory diff over the whole subtree
# each under /usr/bin/time (wall seconds, peak RSS), and prints the throughputs and the ratio
# throughput(regsync) / throughput(ldapadd) for the first two.
#
# Usage: benches/directory.sh                 # 100,000 accounts, a night of 10,000 changes
#        ACCOUNTS=10000 CHANGES=1000 benches/directory.sh   # a quick check
# Needs: a Rust toolchain, slapd and ldap-utils (Debian), python3 (sqlite3 module), GNU time.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
ACCOUNTS=${ACCOUNTS:-100000}
CHANGES=${CHANGES:-10000}
CONNECTIONS=${CONNECTIONS:-4}
DIR=$ROOT/bench-data/directory-$ACCOUNTS
SUFFIX="dc=example,dc=ac,dc=jp"
PEOPLE="ou=people,$SUFFIX"
REF="ou=ref,$SUFFIX"
ROOT_DN="cn=admin,$SUFFIX"
export REGSYNC_BENCH_LDAP_PASSWORD=bench-secret

die() {
    echo "directory.sh: $*" >&2
    exit 1
}
command -v /usr/sbin/slapd >/dev/null || command -v slapd >/dev/null ||
    die "slapd is missing (Debian: apt-get install slapd ldap-utils)"
command -v ldapadd >/dev/null || die "ldapadd is missing (Debian: apt-get install ldap-utils)"
if [[ ! -x /usr/bin/time ]]; then
    apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
SLAPD=$(command -v /usr/sbin/slapd || command -v slapd)

cargo build --release --quiet --bin regsync --example gen_world
BIN=$ROOT/target/release/regsync

rm -rf "$DIR"
mkdir -p "$DIR/world" "$DIR/slapd/db" "$DIR/run"
# About 0.95 accounts per registrar row: enough rows for ACCOUNTS accounts.
"$ROOT/target/release/examples/gen_world" --rows $((ACCOUNTS * 100 / 95 + 100)) --seed 1 --out "$DIR/world" >/dev/null
# Exactly ACCOUNTS accounts: the header and the first ACCOUNTS rows.
head -n $((ACCOUNTS + 1)) "$DIR/world/accounts.csv" >"$DIR/accounts.csv"

# ---- slapd ----------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="ldap://127.0.0.1:$PORT/"
cat >"$DIR/slapd/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload auditlog
sizelimit unlimited
database mdb
suffix "$SUFFIX"
rootdn "$ROOT_DN"
rootpw $REGSYNC_BENCH_LDAP_PASSWORD
directory $DIR/slapd/db
# No fsync per write transaction, as for any bulk load; both sides write to this same server.
dbnosync
maxsize 4294967296
# Debian's default indexes: a directory found by uid is indexed on it.
index objectClass eq
index cn,uid eq
overlay ppolicy
overlay auditlog
auditlog $DIR/slapd/audit.ldif
EOF
"$SLAPD" -f "$DIR/slapd/slapd.conf" -h "$URL" -d 0 >/dev/null 2>&1 &
SLAPD_PID=$!
trap 'kill $SLAPD_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    ldapsearch -x -H "$URL" -b "" -s base >/dev/null 2>&1 && break
    sleep 0.1
done
LDAP=(-x -H "$URL" -D "$ROOT_DN" -w "$REGSYNC_BENCH_LDAP_PASSWORD")
ldapadd "${LDAP[@]}" >/dev/null <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: $PEOPLE
objectClass: organizationalUnit
ou: people

dn: $REF
objectClass: organizationalUnit
ou: ref
EOF

cat >"$DIR/run/regsync.toml" <<EOF
[mail]
transport = "file"

[directory]
url = "$URL"
bind_dn = "$ROOT_DN"
password_env = "REGSYNC_BENCH_LDAP_PASSWORD"
base = "$PEOPLE"
connections = $CONNECTIONS
EOF
R() { "$BIN" --config "$DIR/run/regsync.toml" "$@"; }
R accounts import "$DIR/accounts.csv" >/dev/null

# timed NAME CMD...: runs CMD under /usr/bin/time; NAME.time holds "wall_seconds peak_kib".
timed() {
    local name=$1
    shift
    /usr/bin/time -o "$DIR/$name.time" -f '%e %M' "$@" >"$DIR/$name.out" 2>"$DIR/$name.err" || true
}
audit_writes() { grep -c '^# \(add\|modify\|delete\) ' "$DIR/slapd/audit.ldif" 2>/dev/null || true; }
count_people() { ldapsearch "${LDAP[@]}" -LLL -b "$1" -s one "(objectClass=*)" 1.1 | grep -c '^dn:' || true; }
sqlite() { python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()" "$DIR/run/regsync.sqlite" "$1"; }

# ---- initial push ---------------------------------------------------------------------------
R directory push --dry-run >"$DIR/initial.ldif" 2>/dev/null
sed "s/,$PEOPLE\$/,$REF/" "$DIR/initial.ldif" >"$DIR/initial-ref.ldif"
timed initial-ldapadd ldapadd "${LDAP[@]}" -c -f "$DIR/initial-ref.ldif"
timed initial-regsync "$BIN" --config "$DIR/run/regsync.toml" directory push
[[ $(count_people "$PEOPLE") == "$ACCOUNTS" ]] || die "regsync pushed $(count_people "$PEOPLE") entries, not $ACCOUNTS"
[[ $(count_people "$REF") == "$ACCOUNTS" ]] || die "ldapadd added $(count_people "$REF") entries, not $ACCOUNTS"

# ---- a night of CHANGES changes: stops ------------------------------------------------------
sqlite "UPDATE directory_journal SET desired_json = json_set(desired_json, '\$.state', 'stopped'),
        status = 'pending' WHERE ecs_id IN (SELECT ecs_id FROM directory_journal
        WHERE json_extract(desired_json, '\$.state') <> 'stopped' ORDER BY ecs_id LIMIT $CHANGES);
        UPDATE accounts SET state = 'stopped' WHERE ecs_id IN (SELECT ecs_id FROM directory_journal WHERE status = 'pending');"
R directory push --dry-run >"$DIR/night.ldif" 2>/dev/null
NIGHT=$(grep -c '^changetype: modify' "$DIR/night.ldif" || true)
sed "s/,$PEOPLE\$/,$REF/" "$DIR/night.ldif" >"$DIR/night-ref.ldif"
timed night-ldapmodify ldapmodify "${LDAP[@]}" -c -f "$DIR/night-ref.ldif"
timed night-regsync "$BIN" --config "$DIR/run/regsync.toml" directory push --allow-locks "$CHANGES"

# ---- a night with nothing to change ---------------------------------------------------------
sqlite "UPDATE directory_journal SET status = 'pending';"
BEFORE=$(audit_writes)
timed nochange-regsync "$BIN" --config "$DIR/run/regsync.toml" directory push
AFTER=$(audit_writes)

# ---- diff -----------------------------------------------------------------------------------
timed diff-regsync "$BIN" --config "$DIR/run/regsync.toml" directory diff --out "$DIR/diff"

# ---- results --------------------------------------------------------------------------------
line() { # line NAME OPS
    read -r secs kib <"$DIR/$1.time"
    awk -v n="$1" -v s="$secs" -v k="$kib" -v o="$2" \
        'BEGIN { printf "%-18s %8d ops %8.2f s %10.0f ops/s %7.0f MiB peak\n", n, o, s, (s > 0 ? o / s : 0), k / 1024 }'
}
ratio() { # ratio REGSYNC REFERENCE
    read -r a _ <"$DIR/$1.time"
    read -r b _ <"$DIR/$2.time"
    awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio throughput(regsync) / throughput(reference) = %.2f\n", b / a }'
}
{
    echo "accounts $ACCOUNTS, night changes $NIGHT, connections $CONNECTIONS, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    line initial-ldapadd "$ACCOUNTS"
    line initial-regsync "$ACCOUNTS"
    ratio initial-regsync initial-ldapadd
    line night-ldapmodify "$NIGHT"
    line night-regsync "$NIGHT"
    ratio night-regsync night-ldapmodify
    line nochange-regsync "$ACCOUNTS"
    echo "no-change push: audit log writes before $BEFORE, after $AFTER ($(tail -n 1 "$DIR/nochange-regsync.out"))"
    line diff-regsync "$ACCOUNTS"
    head -n 1 "$DIR/diff-regsync.out"
} | tee "$DIR/results.txt"
