#!/usr/bin/env bash
# The scale benchmark of issue 4: generates the 10,000-host / 100,000-port / 1,000,000-flow
# scenario, runs it, and prints peak RSS and wall time against the 60 s of simulated time.
# usage: bench/scale/run_scale.sh [HIVESIM_BINARY] [WORKDIR] [gen_scale.py options...]
#   e.g. run_scale.sh build/sim/cli/hivesim /tmp/scale --tenants 20 --hosts 200 (a small run)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../build/sim/cli/hivesim}"
work="${2:-$(mktemp -d)}"
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$work"
python3 "$here/gen_scale.py" "$work/scale.yaml" "$@"
/usr/bin/time -f '%e %M' -o "$work/time.txt" "$bin" run "$work/scale.yaml" --format json \
  > "$work/report.json"
read -r wall rss_kb < "$work/time.txt"
python3 - "$work/report.json" "$wall" "$rss_kb" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
wall, rss_kb = float(sys.argv[2]), int(sys.argv[3])
sim_s = report["sim_time_ns"] / 1e9
f = report["flows"]
print(json.dumps({
    "workload": f"scale scenario {report['scenario']}, {sim_s:g} s simulated",
    "wall_s": wall, "sim_s": sim_s, "sim_over_wall": round(sim_s / wall, 3),
    "peak_rss_mib": round(rss_kb / 1024, 1),
    "packets": report["packets"]["injected"], "events": report["events"],
    "simulations": f["simulations"], "flows_installed": f["installed"],
}, indent=2))
PY
