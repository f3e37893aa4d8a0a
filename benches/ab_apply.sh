#!/usr/bin/env bash
# Alternating runs of `regsync apply` by two or more binaries on fresh copies of one store: what a
# change does to apply, on a machine whose speed drifts from minute to minute (benches/SCALE.md).
# One round runs every binary once, in the order given; compare medians over several rounds.
#
# Usage: benches/ab_apply.sh ROUNDS PLAN STORE LABEL=BINARY [LABEL=BINARY ...]
#   PLAN    a plan.json made on STORE by `regsync plan` (e.g. `regsync plan ... --out /tmp/p`)
#   STORE   the store the plan was made on; copied (with `sync`) before each run, never written
# Example: benches/ab_apply.sh 5 /tmp/p/plan.json bench-data/world-1m/regsync.sqlite \
#              old=/tmp/regsync-old new=target/release/regsync
#
# Prints one line per run: the label; wall, user and system seconds and peak RSS in KiB (GNU
# time); and apply's store phases from REGSYNC_LOG=info in ms: w (accounts and history written),
# o (outbox written), c (the commit with its checkpoint), tx (the whole store transaction). Each
# run works in bench-data/ab-LABEL/, removed after it (a 1M store and its log take ~1.6 GB).
set -euo pipefail

die() { echo "ab_apply: $*" >&2; exit 1; }
(($# >= 4)) || die "usage: benches/ab_apply.sh ROUNDS PLAN STORE LABEL=BINARY [LABEL=BINARY ...]"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=$1 PLAN=$(realpath "$2") STORE=$(realpath "$3")
shift 3
[[ -f $PLAN && -f $STORE ]] || die "no plan at $PLAN or no store at $STORE"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is needed"
# As cron/regsync.service runs it: glibc's malloc asks for transparent huge pages.
export GLIBC_TUNABLES=${GLIBC_TUNABLES-glibc.malloc.hugetlb=1}

for ((round = 1; round <= ROUNDS; round++)); do
    for spec in "$@"; do
        label=${spec%%=*} bin=$(realpath "${spec#*=}")
        dir=$ROOT/bench-data/ab-$label
        rm -rf "$dir"
        mkdir -p "$dir"
        printf '[paths]\nstore = "regsync.sqlite"\n\n[mail]\ntransport = "file"\ndir = "mail-out"\n' \
            >"$dir/regsync.toml"
        # The world's policy (its ECS-ID shape), when the store sits in a scale.sh world.
        if [[ -f $(dirname "$STORE")/scale.toml ]]; then
            awk '/^\[/ { keep = ($0 == "[policy]") } keep' "$(dirname "$STORE")/scale.toml" \
                >>"$dir/regsync.toml"
        fi
        cp "$STORE" "$dir/regsync.sqlite"
        sync
        REGSYNC_LOG=info /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$bin" \
            --config "$dir/regsync.toml" apply "$PLAN" --out "$dir/out" >"$dir/log" 2>&1 ||
            { tail -n 3 "$dir/log" >&2; die "$label: apply failed"; }
        phases=$(sed 's/\x1b\[[0-9;]*m//g' "$dir/log" |
            grep -oE '(accounts and history written|outbox written|store transaction committed|committed) ms=[0-9]+' |
            sed -E 's/accounts and history written/w/; s/outbox written/o/; s/store transaction committed/tx/; s/committed/c/; s/ ms=/ /' |
            tr '\n' ' ')
        echo "$label $(cat "$dir/time") | $phases"
        rm -rf "$dir"
    done
done
