#!/usr/bin/env bash
# The demo of the main job on the shipped samples: a fresh store in demo/ (gitignored), the
# existing accounts imported, and the dry run of the night of 2026-04-02 with its report.
# Tracked files are not touched; run it again at will (it starts over each time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/regsync"
rm -rf demo && mkdir -p demo
cd demo
"$bin" accounts import ../samples/accounts.csv
"$bin" check ../samples/*-2026-04-02.csv || true
"$bin" plan --as-of 2026-04-02 --out reports/2026-04-02 \
  ../samples/registrar-2026-04-02.csv ../samples/hr-2026-04-02.csv \
  ../samples/renewals-2026-04-02.csv ../samples/activations-2026-04-02.csv
echo
echo "Open demo/reports/2026-04-02/report.html in a browser (report.csv for Excel, plan.json for machines)."
