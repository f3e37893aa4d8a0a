#!/usr/bin/env bash
# The scale benchmark of issue 5 (benches/SCALE.md): on one generated world (an N-row registrar
# export, CP932, against a store of about 0.95·N accounts in steady state), in one run, with a
# warm page cache, alternating, RUNS repetitions of each of
#   iconv      iconv -f CP932 -t UTF-8 registrar.csv > /dev/null
#   duckdb     benches/duckdb_ref.py: Python transcodes to UTF-8, DuckDB reads and joins
#   plan       regsync plan registrar.csv --as-of 2026-04-02 --out DIR   (RAYON_NUM_THREADS=2)
#   plan-1t    the same with RAYON_NUM_THREADS=1 (its plan.json must be byte-identical)
#   apply      regsync apply of that plan, on a fresh copy of the imported store
#   run        regsync run --as-of 2026-04-03 on that applied store (after `regsync mail` has
#              delivered night 1's notices), with registrar-next.csv in the inbox: the same
#              export a day later, a night with no changes
# then prints the median wall time and peak RSS of each (/usr/bin/time -f '%e %M'), the ratios
# the issue's acceptance names, and writes them to bench-data/results-LABEL.txt.
#
# Usage: benches/scale.sh                       # 1,000,000 rows in bench-data/world-1m/
#        ROWS=3000000 benches/scale.sh          # 3M rows in bench-data/world-3m/ (7-digit
#                                               # ECS-IDs); compares with results-1m.txt
#        ROWS=50000 RUNS=1 benches/scale.sh     # a quick check of the script
# Environment: ROWS (1000000), RUNS (5), SEED (1), NAME (world-LABEL), COMPARE (a results file
# of another size to divide by; default bench-data/results-1m.txt when ROWS > 1M).
# Needs: a Rust toolchain, iconv, python3 with venv (apt-get install python3-venv), GNU time
# (installed when missing), PyPI for `pip install duckdb` on the first run, and disk: see SCALE.md.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
SEED=${SEED:-1}
AS_OF=2026-04-02
NEXT_NIGHT=2026-04-03

if ((ROWS % 1000000 == 0)); then
    LABEL=$((ROWS / 1000000))m
elif ((ROWS % 1000 == 0)); then
    LABEL=$((ROWS / 1000))k
else
    LABEL=$ROWS
fi
NAME=${NAME:-world-$LABEL}
DIR=$ROOT/bench-data/$NAME
RESULTS=$ROOT/bench-data/results-$LABEL.txt
if [[ -z ${COMPARE:-} && $ROWS -gt 1000000 && -f $ROOT/bench-data/results-1m.txt ]]; then
    COMPARE=$ROOT/bench-data/results-1m.txt
fi
COMPARE=${COMPARE:-}
# `a0` + 6 digits ends at a0999999: a world past ~1M accounts and admissions needs 7 digits.
ID_DIGITS=6
if ((ROWS > 1000000)); then
    ID_DIGITS=7
fi

die() {
    echo "scale.sh: $*" >&2
    exit 1
}

# ---- tools ----------------------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
    echo "installing GNU time (/usr/bin/time)" >&2
    apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
command -v iconv >/dev/null || die "iconv is missing (Debian: libc-bin)"
VENV=$ROOT/bench-data/venv
PY=$VENV/bin/python
if ! "$PY" -c 'import duckdb' 2>/dev/null; then
    echo "== setting up $VENV with duckdb (pip)" >&2
    mkdir -p "$ROOT/bench-data"
    python3 -m venv "$VENV" ||
        die "python3 -m venv failed; install it (Debian: apt-get install python3-venv) and retry"
    "$VENV/bin/pip" install --quiet duckdb || die "pip install duckdb failed"
fi

cargo build --release --quiet --bin regsync --example gen_world
BIN=$ROOT/target/release/regsync
# As cron/regsync.service runs it: glibc's malloc asks for transparent huge pages.
export GLIBC_TUNABLES=${GLIBC_TUNABLES-glibc.malloc.hugetlb=1}

# ---- the world ------------------------------------------------------------------------------
# world.txt names the generator's arguments; a world made with others is made again.
WORLD_ARGS="--rows $ROWS --seed $SEED --id-digits $ID_DIGITS --next-night"
if [[ ! -f $DIR/world.txt || $(cat "$DIR/world.txt") != "$WORLD_ARGS" ||
    ! -f $DIR/registrar.csv || ! -f $DIR/registrar-next.csv || ! -f $DIR/accounts.csv ]]; then
    echo "== generating $DIR ($WORLD_ARGS)"
    rm -rf "$DIR"
    mkdir -p "$DIR"
    # shellcheck disable=SC2086
    "$ROOT/target/release/examples/gen_world" $WORLD_ARGS --out "$DIR"
    echo "$WORLD_ARGS" >"$DIR/world.txt"
fi

# One config for every step; its paths are relative to the folder it is in.
write_config() { # write_config FILE
    {
        printf '[paths]\nstore = "regsync.sqlite"\ninbox = "inbox"\narchive = "archive"\n'
        printf 'rejected = "rejected"\nreports = "reports"\n\n'
        printf '[policy]\nid_digits = %d\n\n' "$ID_DIGITS"
        printf '[mail]\ntransport = "file"\ndir = "mail-out"\n'
    } >"$1"
}
write_config "$DIR/scale.toml"

# time_cmd LOG CMD...: runs CMD under /usr/bin/time, appends "wall_seconds peak_kib" to LOG,
# keeps its output in LOG.out / LOG.err; a failing command ends the benchmark.
time_cmd() {
    local log=$1
    shift
    if ! /usr/bin/time -o "$log.tmp" -f '%e %M' "$@" >"$log.out" 2>"$log.err"; then
        echo "FAILED: $*" >&2
        tail -n 20 "$log.out" "$log.err" >&2
        exit 1
    fi
    tail -n 1 "$log.tmp" >>"$log"
    rm -f "$log.tmp"
}

# copy_store SRC DST: an SQLite store with its write-ahead log, if any (no process has it open),
# then everything written out to disk (`sync`, not only the copy: an earlier step's writeback
# still in flight made the next apply's commit vary by half a second), so the timed step after it
# does not pay for another step's writeback.
copy_store() {
    rm -f "$2" "$2-wal" "$2-shm"
    cp "$1" "$2"
    if [[ -s $1-wal ]]; then
        cp "$1-wal" "$2-wal"
    fi
    sync
}

if [[ ! -f $DIR/regsync.sqlite ]]; then
    echo "== importing accounts into $DIR/regsync.sqlite (once; the copies below start from it)"
    rm -f "$DIR/regsync.sqlite-wal" "$DIR/regsync.sqlite-shm"
    time_cmd "$DIR/import" "$BIN" --config "$DIR/scale.toml" accounts import "$DIR/accounts.csv"
    read -r secs kib <"$DIR/import"
    tail -n 1 "$DIR/import.out"
    awk -v s="$secs" -v k="$kib" 'BEGIN { printf "import: %.1f s wall, %.0f MiB peak RSS\n", s, k / 1024 }' |
        tee "$DIR/import-time.txt"
    rm -f "$DIR/import" "$DIR/import.out" "$DIR/import.err"
fi

# A store imported by an older regsync: brought to this one's schema (any command that writes
# migrates it; `mail` finds nothing queued and sends nothing).
"$BIN" --config "$DIR/scale.toml" mail >/dev/null ||
    die "regsync mail (to migrate $DIR/regsync.sqlite) failed"
rm -rf "$DIR/mail-out"

accounts=$(($(wc -l <"$DIR/accounts.csv") - 1))
rows=$(($(wc -l <"$DIR/registrar.csv") - 4))
reg_mib=$(du -m "$DIR/registrar.csv" | cut -f1)
store_mib=$(du -m "$DIR/regsync.sqlite" | cut -f1)
echo "== world $NAME: $rows registrar rows ($reg_mib MiB, CP932), $accounts accounts, store $store_mib MiB"
echo "   $(cat "$DIR/import-time.txt" 2>/dev/null || echo 'import: not recorded')"

# The steps below need two more stores (the applied copy grows a little) and the outputs.
free_mib=$(df -Pm "$DIR" | awk 'NR == 2 { print $4 }')
need_mib=$((store_mib * 3 / 2 + reg_mib * 10))
((free_mib > need_mib)) || die "about $need_mib MiB of free disk needed in $DIR, $free_mib MiB free"

WORK=$DIR/work
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
T=$WORK/times
mkdir -p "$T"
write_config "$WORK/regsync.toml"

step_iconv() { time_cmd "$1" iconv -f CP932 -t UTF-8 "$DIR/registrar.csv" -o /dev/null; }
step_duckdb() {
    time_cmd "$1" "$PY" "$ROOT/benches/duckdb_ref.py" "$DIR/registrar.csv" "$DIR/accounts.csv" \
        --tmp-dir "$WORK"
}
step_plan() { # step_plan THREADS LOG
    rm -rf "$WORK/plan-$1"
    RAYON_NUM_THREADS=$1 time_cmd "$2" "$BIN" --config "$DIR/scale.toml" plan "$DIR/registrar.csv" \
        --as-of "$AS_OF" --out "$WORK/plan-$1"
}
# Night 1 applied (by hand, as after the mass-change guard) on a fresh copy of the imported
# store, its notices delivered (not timed), then night 2 through `regsync run`.
step_apply_run() { # step_apply_run APPLY_LOG RUN_LOG
    rm -rf "$WORK/apply-out" "$WORK/inbox" "$WORK/archive" "$WORK/reports" "$WORK/mail-out" "$WORK/rejected"
    copy_store "$DIR/regsync.sqlite" "$WORK/regsync.sqlite"
    time_cmd "$1" "$BIN" --config "$WORK/regsync.toml" apply "$WORK/plan-2/plan.json" --out "$WORK/apply-out"
    "$BIN" --config "$WORK/regsync.toml" mail >"$WORK/mail.out" 2>&1 ||
        { cat "$WORK/mail.out" >&2; die "regsync mail failed"; }
    rm -rf "$WORK/mail-out" "$WORK/apply-out"
    mkdir -p "$WORK/inbox"
    ln "$DIR/registrar-next.csv" "$WORK/inbox/registrar-next.csv" 2>/dev/null ||
        cp "$DIR/registrar-next.csv" "$WORK/inbox/registrar-next.csv"
    sync
    RAYON_NUM_THREADS=2 time_cmd "$2" "$BIN" --config "$WORK/regsync.toml" run --as-of "$NEXT_NIGHT"
    rm -rf "$WORK/archive" "$WORK/reports"
}

echo "== warm-up (iconv, duckdb, plan at 2 and 1 threads; not counted)"
step_iconv "$T/warm"
step_duckdb "$T/warm"
step_plan 2 "$T/warm"
step_plan 1 "$T/warm"

last() { tail -n 1 "$1" | awk '{ printf "%.2f s %.0f MiB", $1, $2 / 1024 }'; }
for i in $(seq 1 "$RUNS"); do
    echo "== repetition $i of $RUNS"
    step_iconv "$T/iconv"
    echo "   iconv     $(last "$T/iconv")"
    step_duckdb "$T/duckdb"
    echo "   duckdb    $(last "$T/duckdb")   $(tail -n 1 "$T/duckdb.err")"
    step_plan 2 "$T/plan"
    echo "   plan      $(last "$T/plan")"
    step_plan 1 "$T/plan1"
    echo "   plan-1t   $(last "$T/plan1")"
    cmp -s "$WORK/plan-1/plan.json" "$WORK/plan-2/plan.json" ||
        die "plan.json differs between 1 and 2 threads (repetition $i)"
    step_apply_run "$T/apply" "$T/run"
    echo "   apply     $(last "$T/apply")"
    echo "   run       $(last "$T/run")"
done

# ---- results --------------------------------------------------------------------------------
median() { # median COLUMN FILE
    sort -n -k"$1","$1" "$2" | awk -v c="$1" '{ v[NR] = $c } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
{
    echo "rows $rows"
    echo "accounts $accounts"
    echo "runs $RUNS"
    for s in iconv duckdb plan plan1 apply run; do
        echo "$s $(median 1 "$T/$s") $(median 2 "$T/$s")"
    done
} >"$RESULTS"

plan_line=$(grep -m1 '^plan for' "$T/plan.out" || true)
run_line=$(grep -m1 '^regsync run' "$T/run.out" || true)
night2_actions=$(grep -o 'on 1 input file(s): [0-9]* action' "$T/run.out" | grep -o '[0-9]* action' | cut -d' ' -f1 || true)
duckdb_counts=$(tr '\n' ' ' <"$T/duckdb.out")

echo
echo "== results: $NAME, $rows rows, $accounts accounts, median of $RUNS (written to $RESULTS)"
echo "plan:    $plan_line"
echo "night 2: $run_line"
echo "duckdb:  $duckdb_counts"
echo "plan.json identical at 1 and 2 threads in every repetition ($(du -m "$WORK/plan-2/plan.json" | cut -f1) MiB)"
night2_reviews=$(grep -o ' — review [0-9]*' <<<"$run_line" | grep -o '[0-9]*' || true)
if [[ $night2_actions != 0 && $night2_actions == "${night2_reviews:-x}" ]]; then
    echo "night 2: $night2_actions action(s), all review items (night 1's open R2 candidates, raised again; no account changes)"
elif [[ $night2_actions != 0 ]]; then
    echo "NOTE: the no-change night had $night2_actions action(s), not 0: see its report"
fi
awk -v compare="$COMPARE" -v rows="$rows" '
    FNR == 1 { file++ }
    file == 1 && NF == 3 { wall[$1] = $2; rss[$1] = $3 }
    file == 2 && NF == 3 { cwall[$1] = $2; crss[$1] = $3 }
    file == 2 && $1 == "rows" { crows = $2 }
    function check(ok) { return ok ? "ok" : "NOT MET" }
    END {
        split("iconv duckdb plan plan1 apply run", order, " ")
        name["iconv"] = "iconv -f CP932 -t UTF-8"
        name["duckdb"] = "Python transcode + DuckDB join"
        name["plan"] = "regsync plan (2 threads)"
        name["plan1"] = "regsync plan (1 thread)"
        name["apply"] = "regsync apply (night 1)"
        name["run"] = "regsync run (night 2, no changes)"
        printf "\n%-36s %9s %12s\n", "step", "wall s", "peak RSS"
        for (i = 1; i <= 6; i++) {
            s = order[i]
            printf "%-36s %9.2f %8.0f MiB\n", name[s], wall[s], rss[s] / 1024
        }
        p = wall["plan"]
        printf "\n%-44s %7s  %s\n", "acceptance", "value", ""
        printf "%-44s %7.2f  %s\n", "plan / duckdb (<= 1.0)", p / wall["duckdb"], check(p <= wall["duckdb"])
        printf "%-44s %7.2f  %s\n", "plan / iconv (orientation)", p / wall["iconv"], ""
        printf "%-44s %7.2f  %s\n", "speed-up plan 1 -> 2 threads (>= 1.6)", wall["plan1"] / p, check(wall["plan1"] / p >= 1.6)
        printf "%-44s %7.2f  %s\n", "run (no changes) / plan (<= 1.2)", wall["run"] / p, check(wall["run"] <= 1.2 * p)
        printf "%-44s %7.2f  %s\n", "apply / plan (<= 2.0)", wall["apply"] / p, check(wall["apply"] <= 2 * p)
        if (rows > 1500000) {
            # 3M: every regsync step within 1.2 GiB.
            for (i = 3; i <= 6; i++) {
                s = order[i]
                printf "%-44s %7.0f  %s\n", "peak RSS MiB, " s " (<= 1229 = 1.2 GiB)", rss[s] / 1024, check(rss[s] <= 1.2 * 1024 * 1024)
            }
        } else {
            printf "%-44s %7.0f  %s\n", "peak RSS MiB, plan (<= 400)", rss["plan"] / 1024, check(rss["plan"] <= 400 * 1024)
        }
        if (compare != "" && crows > 0) {
            printf "\nagainst %s (%d rows; x%.2f rows): each time <= 3.3x\n", compare, crows, rows / crows
            for (i = 1; i <= 6; i++) {
                s = order[i]
                if (s in cwall && cwall[s] > 0)
                    printf "%-44s %7.2f  %s\n", name[s] " time ratio", wall[s] / cwall[s], (s == "iconv" || s == "duckdb") ? "" : check(wall[s] <= 3.3 * cwall[s])
            }
        }
    }' "$RESULTS" ${COMPARE:+"$COMPARE"}
