#!/usr/bin/env bash
# Sweep scale-out: the same 56-variant sweep (bench/whatif/sweep50.yaml) with 1 and 2 local
# workers and under `mpirun -n 2`, with Open MPI's defaults and without its 2 s wait on a
# non-zero exit (and MPI's fixed cost, from a tiny sweep), in RUNS rounds;
# for each, the best wall time and the CPU time (user + sys, of the process and its children)
# of that run, then the speed-ups and the parallelism reached (CPU seconds per wall second:
# 2.0 means both cores were ours). Also checks that the three reports are byte-identical, and
# prints the load average before and after, since on a shared machine the wall figures mean
# little without it.
# Usage: bench/whatif/run_sweep_bench.sh [path/to/hivesim] [RUNS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/../.."
hivesim=${1:-build/sim/cli/hivesim}
runs=${2:-3}
scenario=bench/whatif/sweep50.yaml
args=(sweep "$scenario" --fail host,agent,link,nsdb,port --format json --quiet)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# once NAME CMD...: runs CMD; keeps in wall_NAME and cpu_NAME (seconds) the fastest run so far
# and the CPU time of that run; the report of the last run is kept in $out/NAME.json.
once() {
  local name=$1; shift
  local wall_var="wall_$name"
  /usr/bin/time -f "%e %U %S" -o "$out/time" "$@" > "$out/$name.json" || [ $? -eq 1 ]
  read -r wall user sys < <(tail -1 "$out/time")
  if [ -z "${!wall_var:-}" ] || (( $(echo "$wall < ${!wall_var}" | bc) )); then
    printf -v "wall_$name" '%s' "$wall"
    printf -v "cpu_$name" '%s' "$(echo "$user + $sys" | bc)"
  fi
}
report() {  # NAME LABEL
  local wall_var="wall_$1" cpu_var="cpu_$1"
  local w=${!wall_var} c=${!cpu_var}
  printf '%-14s wall %6.2fs  cpu %6.2fs  parallelism %.2f  speed-up vs --jobs 1: %.2fx\n' \
    "$2" "$w" "$c" "$(echo "scale=4; $c / $w" | bc)" "$(echo "scale=4; $wall_jobs1 / $w" | bc)"
}
# The anchor: what this machine gives two independent copies of the same work. Two `--jobs 1`
# sweeps start together; their speed-up is 2 x (one alone) / (the later of the two), which is
# 2.0 only when two processes on the two cores slow each other by nothing (no shared cache,
# memory bandwidth or SMT sibling). A sweep can do no better with two workers than this.
two_at_once='one() { "$0" "$@" --jobs 1 > /dev/null; [ $? -le 1 ]; }
  one "$@" & one "$@" || exit 3; wait $! || exit 3'
# Rounds, each running every configuration once: this VM's speed drifts by 20% over a minute
# (the same --jobs 1 sweep took 19 to 24 s in a row), so runs of one configuration in a row
# would compare one phase against another.
tiny=(sweep scenarios/whatif/before.yaml --fail nsdb --format json --quiet)
mpi=()
command -v mpirun > /dev/null && mpi=(mpirun --allow-run-as-root --oversubscribe -n 2)
for _ in $(seq "$runs"); do
  once jobs1 "$hivesim" "${args[@]}" --jobs 1
  once pairs bash -c "$two_at_once" "$hivesim" "${args[@]}"
  once jobs2 "$hivesim" "${args[@]}" --jobs 2
  if [ ${#mpi[@]} -gt 0 ]; then
    once mpi "${mpi[@]}" "$hivesim" "${args[@]}"
    # The sweep exits 1 (a variant breaks an expectation): Open MPI takes a non-zero exit for an
    # abort and waits odls_base_sigkill_timeout (1 s) twice before mpirun returns.
    once mpi_fast "${mpi[@]}" --mca odls_base_sigkill_timeout 0 "$hivesim" "${args[@]}"
    # MPI's own cost, paid once per sweep whatever its size: the same tiny sweep (3 variants,
    # ~0.1 s) under mpirun and alone.
    once tiny_mpi "${mpi[@]}" "$hivesim" "${tiny[@]}"
    once tiny "$hivesim" "${tiny[@]}"
  fi
done
echo "variants: $(grep -c '"name": "[a-z_]* ' "$out/jobs1.json" || true)"
report jobs1 "--jobs 1"
ceiling=$(echo "scale=4; 2 * $wall_jobs1 / $wall_pairs" | bc)
printf '%-14s wall %6.2fs  (the machine anchor: two --jobs 1 at once, ceiling %.2fx)\n' \
  "2 x --jobs 1" "$wall_pairs" "$ceiling"
report jobs2 "--jobs 2"
printf '%-14s %.0f%% of the machine ceiling\n' "--jobs 2" \
  "$(echo "scale=4; 100 * $wall_jobs1 / $wall_jobs2 / $ceiling" | bc)"
cmp "$out/jobs1.json" "$out/jobs2.json" && echo "--jobs 1 and 2: byte-identical"
if [ ${#mpi[@]} -gt 0 ]; then
  report mpi "mpirun -n 2"
  printf '%-14s %.0f%% of the machine ceiling\n' "mpirun -n 2" \
    "$(echo "scale=4; 100 * $wall_jobs1 / $wall_mpi / $ceiling" | bc)"
  cmp "$out/jobs1.json" "$out/mpi.json" && echo "mpirun -n 2: byte-identical"
  report mpi_fast "... sigkill 0"
  printf '%-14s %.0f%% of the machine ceiling (mpirun --mca odls_base_sigkill_timeout 0: no\n' \
    "" "$(echo "scale=4; 100 * $wall_jobs1 / $wall_mpi_fast / $ceiling" | bc)"
  printf '%-14s wait before returning the sweep'"'"'s exit code 1)\n' ""
  cmp "$out/jobs1.json" "$out/mpi_fast.json" && echo "mpirun -n 2 (sigkill 0): byte-identical"
  fixed=$(echo "scale=4; $wall_tiny_mpi - $wall_tiny" | bc)
  printf '%-14s %.2fs of it is MPI itself (launch, MPI_Init, MPI_Finalize: a 3-variant sweep\n' \
    "mpirun -n 2" "$fixed"
  printf '%-14s took %.2fs under mpirun, %.2fs alone); the variants alone: %.2fx\n' "" \
    "$wall_tiny_mpi" "$wall_tiny" "$(echo "scale=4; $wall_jobs1 / ($wall_mpi - $fixed)" | bc)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
