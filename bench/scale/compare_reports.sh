#!/bin/sh
# Compares the `run --format json` reports (and exit codes) of two hivesim binaries on every
# scenario under scenarios/ and tests/data/scenarios, at each scenario's own seed and at seed 7,
# and on any scenario files given after them (a generated scale cloud): speed work must leave
# every report byte-identical.
#
# usage: bench/scale/compare_reports.sh REFERENCE_BINARY NEW_BINARY [SCENARIO...]
# Exit 0 when every report is the same, 1 when one differs (each is named).
set -u
[ $# -ge 2 ] || { echo "usage: $0 REFERENCE_BINARY NEW_BINARY [SCENARIO...]" >&2; exit 2; }
REF=$1
NEW=$2
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
fail=0
runs=0
for f in $(cd "$ROOT" && find scenarios tests/data/scenarios -name '*.yaml' | sort | sed "s|^|$ROOT/|") "$@"; do
  for seed in own 7; do
    if [ "$seed" = own ]; then set --; else set -- --seed "$seed"; fi
    "$REF" run "$f" --format json "$@" > "$OUT/ref.json" 2> /dev/null
    ref_rc=$?
    "$NEW" run "$f" --format json "$@" > "$OUT/new.json" 2> /dev/null
    new_rc=$?
    runs=$((runs + 1))
    if [ "$ref_rc" != "$new_rc" ] || ! cmp -s "$OUT/ref.json" "$OUT/new.json"; then
      echo "differs: $f (seed $seed; exit $ref_rc / $new_rc)"
      fail=1
    fi
  done
done
echo "$runs runs compared"
exit $fail
