#!/usr/bin/env bash
# The demo of the main job on the shipped samples, in demo/ (gitignored): the existing accounts
# are imported into a fresh store, then `regsync run` is the nightly job over a short timeline:
#   2026-04-02  the March graduation, admissions, staff conversions, renewals, activations
#   2026-04-17  the next export: a research student arrives (cancel_stop), the April 16 stops
#   2026-05-31  the staff reminders a month before June 30
#   2026-06-30  the June 30 staff shutdown
# Mail goes to files (demo/mail-out/*.eml). Tracked files are not touched; it starts over each time.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/regsync"
rm -rf demo && mkdir -p demo/inbox
cd demo
cat > regsync.toml <<'TOML'
# The sample world is small (about 170 accounts): a March graduation departs ~10% of it, over
# the default mass-change guard of 5%. A real deployment keeps the default.
[policy]
guard_share = 0.25

[mail]
transport = "file"
dir = "mail-out"

# The demo drops each night's files and runs at once; a real inbox keeps the settle window.
[inbox]
settle_secs = 0
TOML
"$bin" accounts import ../samples/accounts.csv
night() {
  local day=$1; shift
  for f in "$@"; do cp "../samples/$f" inbox/; done
  echo
  echo "== night of $day =="
  "$bin" run --as-of "$day" || echo "(exit $?)"
}
night 2026-04-02 registrar-2026-04-02.csv hr-2026-04-02.csv renewals-2026-04-02.csv activations-2026-04-02.csv
night 2026-04-17 registrar-2026-04-17.csv
night 2026-05-31
night 2026-06-30
echo
echo "Reports:  demo/reports/<night>-run<N>/report.html (report.csv, plan.json, letters/, actions.jsonl)"
echo "Mail:     demo/mail-out/*.eml ($(ls mail-out 2>/dev/null | wc -l) notices)"
echo "A person: target/release/regsync --config demo/regsync.toml show a0189508"
