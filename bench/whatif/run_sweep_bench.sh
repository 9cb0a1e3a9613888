#!/usr/bin/env bash
# Sweep scale-out: the same 56-variant sweep with 1 and 2 local workers and under
# `mpirun -n 2`, wall time of each (best of 3) and the speed-ups; also checks that the three
# reports are byte-identical. Usage: bench/whatif/run_sweep_bench.sh [path/to/hivesim]
set -euo pipefail
cd "$(dirname "$0")/../.."
hivesim=${1:-build/sim/cli/hivesim}
scenario=bench/whatif/sweep50.yaml
args=(sweep "$scenario" --fail host,agent,link,nsdb,port --format json --quiet)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
best() {  # best wall time of 3 runs, in seconds; the last report is kept in $out/$1.json
  local name=$1; shift
  local t best=999
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    "$@" > "$out/$name.json" || [ $? -eq 1 ]
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    best=$(echo "if ($t < $best) $t else $best" | bc)
  done
  echo "$best"
}
t1=$(best jobs1 "$hivesim" "${args[@]}" --jobs 1)
t2=$(best jobs2 "$hivesim" "${args[@]}" --jobs 2)
echo "variants: $(grep -c '"name": "[a-z_]* ' "$out/jobs1.json" || true)"
echo "jobs 1: ${t1}s  jobs 2: ${t2}s  speed-up $(echo "scale=2; $t1 / $t2" | bc)x"
cmp "$out/jobs1.json" "$out/jobs2.json" && echo "jobs 1 and 2: byte-identical"
if command -v mpirun > /dev/null; then
  tm=$(best mpi mpirun --allow-run-as-root --oversubscribe -n 2 "$hivesim" "${args[@]}")
  echo "mpirun -n 2: ${tm}s  speed-up $(echo "scale=2; $t1 / $tm" | bc)x"
  cmp "$out/jobs1.json" "$out/mpi.json" && echo "mpirun -n 2: byte-identical"
fi
