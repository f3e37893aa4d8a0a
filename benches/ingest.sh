#!/usr/bin/env bash
# Ingest throughput: `regsync check` (decode + parse + map every row) against
# `iconv -f CP932 -t UTF-8` (decode only) on the same generated 1,000,000-row CP932 export,
# measured side by side in one run, alternating A/B, with peak RSS from /usr/bin/time.
#
# Usage: benches/ingest.sh [ROWS] [PAIRS]      (defaults: 1000000 rows, 5 pairs after a warm-up)
# Env:   BENCH_FILE=path  to measure another file (the generator is then skipped)
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${1:-1000000}
PAIRS=${2:-5}
FILE=${BENCH_FILE:-bench-data/registrar-$((ROWS / 1000))k.csv}
[ "$ROWS" = 1000000 ] && [ -z "${BENCH_FILE:-}" ] && FILE=bench-data/registrar-1m.csv
unset RAYON_NUM_THREADS # both cores

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (/usr/bin/time)" >&2
    apt-get install -y time >/dev/null
fi

cargo build --release --bin regsync --example gen_registrar >&2
if [ ! -s "$FILE" ]; then
    target/release/examples/gen_registrar --rows "$ROWS" --out "$FILE" --seed 1
fi
BYTES=$(stat -c %s "$FILE")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# One measured run: appends "wall_s peak_rss_kib user_s sys_s" to $TMP/$1.
run() {
    local name=$1
    shift
    /usr/bin/time -f '%e %M %U %S' -o "$TMP/one" "$@" >/dev/null
    cat "$TMP/one" >>"$TMP/$name"
}
iconv_run() { run iconv iconv -f CP932 -t UTF-8 "$FILE"; }
regsync_run() { run regsync target/release/regsync check "$FILE"; }

echo "file: $FILE ($BYTES bytes), $(nproc) cores, $PAIRS pairs after a warm-up" >&2
# Warm-up: page cache, binaries; not recorded.
iconv -f CP932 -t UTF-8 "$FILE" >/dev/null
target/release/regsync check "$FILE" >/dev/null
for i in $(seq 1 "$PAIRS"); do
    # Alternate which goes first, so drift in machine load hits both alike.
    if [ $((i % 2)) = 1 ]; then iconv_run; regsync_run; else regsync_run; iconv_run; fi
    echo "pair $i: iconv $(tail -1 "$TMP/iconv" | cut -d' ' -f1) s, regsync $(tail -1 "$TMP/regsync" | cut -d' ' -f1) s" >&2
done

# median of column $1 of a file
median() { sort -n -k"$1","$1" "$2" | awk -v c="$1" '{v[NR]=$c} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
maxcol() { awk -v c="$1" 'BEGIN{m=0} $c>m{m=$c} END{print m}' "$2"; }

IC_S=$(median 1 "$TMP/iconv"); RS_S=$(median 1 "$TMP/regsync")
IC_M=$(maxcol 2 "$TMP/iconv"); RS_M=$(maxcol 2 "$TMP/regsync")
# CPU seconds (user + sys) per run, as column 5: on a shared machine wall time includes waiting.
for f in iconv regsync; do awk '{print $0, $3 + $4}' "$TMP/$f" >"$TMP/$f.cpu"; done
IC_C=$(median 5 "$TMP/iconv.cpu"); RS_C=$(median 5 "$TMP/regsync.cpu")
awk -v bytes="$BYTES" -v rows="$ROWS" -v ic="$IC_S" -v rs="$RS_S" -v icm="$IC_M" -v rsm="$RS_M" -v icc="$IC_C" -v rsc="$RS_C" \
    -v load="$(cut -d' ' -f1-3 /proc/loadavg)" -v runs_i="$(tr '\n' ' ' <"$TMP/iconv")" -v runs_r="$(tr '\n' ' ' <"$TMP/regsync")" 'BEGIN {
    mb = bytes / 1e6
    printf "\nfile: %.1f MB (%.1f MiB), %d rows\n\n", mb, bytes / 1048576, rows
    printf "%-36s %9s %8s %13s %13s\n", "command", "median s", "MB/s", "peak RSS MiB", "median CPU s"
    printf "%-36s %9.2f %8.1f %13.1f %13.2f\n", "iconv -f CP932 -t UTF-8", ic, mb / ic, icm / 1024, icc
    printf "%-36s %9.2f %8.1f %13.1f %13.2f\n", "regsync check (decode+parse+map)", rs, mb / rs, rsm / 1024, rsc
    printf "\nratio throughput(regsync)/throughput(iconv) = %.2f  (>= 1.0 wanted)\n", ic / rs
    printf "load average at the end: %s\n", load
    printf "raw runs (wall s, peak KiB, user s, sys s): iconv [%s]  regsync [%s]\n", runs_i, runs_r
}'
