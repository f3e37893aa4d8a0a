#!/usr/bin/env bash
# Benchmark of `regsync plan` on a generated world: an N-row registrar export against a store of
# about 0.95·N accounts (see examples/gen_world.rs). Prints the import time, then the median wall
# time and peak RSS of `plan` at RAYON_NUM_THREADS=1 and =2 (alternating, RUNS each after one
# warm-up of each), the speed-up, and checks that both thread counts write the same plan.json.
#
# Usage: benches/plan.sh            # N = 1,000,000 in bench-data/world-1m/
#        ROWS=50000 NAME=world-50k RUNS=3 benches/plan.sh
# Data lives under bench-data/ (gitignored); delete the folder to regenerate.
set -euo pipefail

cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
NAME=${NAME:-world-1m}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
AS_OF=2026-04-02
DIR=bench-data/$NAME

if [[ ! -x /usr/bin/time ]]; then
    echo "installing GNU time (/usr/bin/time)" >&2
    apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

cargo build --release --quiet --bin regsync --example gen_world
BIN=$PWD/target/release/regsync
# As cron/regsync.service runs it: glibc's malloc asks for transparent huge pages.
export GLIBC_TUNABLES=${GLIBC_TUNABLES-glibc.malloc.hugetlb=1}

if [[ ! -f $DIR/registrar.csv || ! -f $DIR/accounts.csv ]]; then
    echo "== generating $DIR ($ROWS rows, seed $SEED)"
    target/release/examples/gen_world --rows "$ROWS" --out "$DIR" --seed "$SEED"
fi
printf '[paths]\nstore = "regsync.sqlite"\n' >"$DIR/regsync.toml"
CONFIG=$DIR/regsync.toml

# time_cmd LOG CMD...: runs CMD under /usr/bin/time, appends "wall_seconds peak_kib" to LOG.
time_cmd() {
    local log=$1
    shift
    /usr/bin/time -o "$log.tmp" -f '%e %M' "$@" >"$log.out" 2>"$log.err" || {
        echo "failed: $*" >&2
        cat "$log.err" >&2
        exit 1
    }
    tail -n 1 "$log.tmp" >>"$log"
    rm -f "$log.tmp"
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [[ ! -f $DIR/regsync.sqlite ]]; then
    echo "== importing accounts into $DIR/regsync.sqlite"
    time_cmd "$WORK/import" "$BIN" --config "$CONFIG" accounts import "$DIR/accounts.csv"
    read -r secs kib <"$WORK/import"
    tail -n 1 "$WORK/import.out"
    awk -v s="$secs" -v k="$kib" 'BEGIN { printf "import: %.1f s wall, %.0f MiB peak RSS\n", s, k / 1024 }' |
        tee "$DIR/import-time.txt"
else
    echo "== store exists ($DIR/regsync.sqlite); import time of its creation:"
    cat "$DIR/import-time.txt" 2>/dev/null || echo "(not recorded)"
fi

accounts=$(($(wc -l <"$DIR/accounts.csv") - 1))
rows=$(($(wc -l <"$DIR/registrar.csv") - 4))
size=$(du -m "$DIR/registrar.csv" | cut -f1)
echo "== world: $rows registrar rows ($size MiB, CP932), $accounts accounts, store $(du -m "$DIR/regsync.sqlite" | cut -f1) MiB"

plan() { # plan THREADS LOG
    RAYON_NUM_THREADS=$1 time_cmd "$2" "$BIN" --config "$CONFIG" plan "$DIR/registrar.csv" \
        --as-of "$AS_OF" --out "$WORK/out-$1"
}

echo "== warm-up"
plan 1 "$WORK/warm"
plan 2 "$WORK/warm"
for i in $(seq 1 "$RUNS"); do
    for t in 1 2; do
        plan "$t" "$WORK/t$t"
        echo "run $i, $t thread(s): $(tail -n 1 "$WORK/t$t")"
    done
done
grep '^plan for' "$WORK/t1.out"

# median of column $1 over the lines of a file
median() {
    sort -n -k"$1","$1" "$2" | awk -v c="$1" '{ v[NR] = $c } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
w1=$(median 1 "$WORK/t1")
w2=$(median 1 "$WORK/t2")
m1=$(median 2 "$WORK/t1")
m2=$(median 2 "$WORK/t2")
awk -v w1="$w1" -v w2="$w2" -v m1="$m1" -v m2="$m2" -v n="$RUNS" 'BEGIN {
    printf "plan, 1 thread:  %.2f s wall (median of %d), %.0f MiB peak RSS\n", w1, n, m1 / 1024
    printf "plan, 2 threads: %.2f s wall (median of %d), %.0f MiB peak RSS\n", w2, n, m2 / 1024
    printf "speed-up 1 -> 2 threads: %.2fx\n", w1 / w2
}'

if cmp "$WORK/out-1/plan.json" "$WORK/out-2/plan.json"; then
    echo "plan.json identical at 1 and 2 threads ($(du -m "$WORK/out-1/plan.json" | cut -f1) MiB)"
else
    echo "plan.json DIFFERS between 1 and 2 threads" >&2
    exit 1
fi
