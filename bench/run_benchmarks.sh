#!/usr/bin/env bash
# The benchmark suite: hivesim side by side with its peers (../shared/bench-peers), same machine,
# same run. Installs the Debian packages it needs, builds hivesim (Release) and the peers, runs
# every pair, prints one table (workload, hivesim, anchor, ratio, target, met) and writes it as
# JSON. See bench/README.md.
#
# usage: bench/run_benchmarks.sh [--quick] [--json PATH] [--build-dir DIR] [--peers DIR]
#   --quick      small sizes (about a minute; for developing the suite, not for the targets)
#   --json PATH  where the JSON goes (default: BUILD_DIR/bench-results.json)
#   --build-dir  the Release build directory (default: build-bench)
#   --peers DIR  the peer sources (default: ../shared/bench-peers next to the repository)
#
# Exit status: 0 when everything built and ran, whether or not the targets were met (this is a
# measurement); non-zero when a build, an install or a benchmark run failed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
quick=0
build="$repo/build-bench"
peers_src="$repo/../shared/bench-peers"
json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --json) json="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    --peers) peers_src="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
json="${json:-$build/bench-results.json}"
case "$json" in /*) ;; *) json="$PWD/$json" ;; esac
peers_src="$(cd "$peers_src" && pwd)"

# Sizes. Full mode is what the README's figures and the issue's targets use.
if [ "$quick" = 1 ]; then
  sched_small_events=500000;  sched_large_events=2000000
  gbench_args=(--benchmark_repetitions=1 --benchmark_min_time=0.05)
  replay_packets=200000
  scale_args=(--tenants 20 --hosts 200 --flows-per-source 20)
  growth_sizes=100,300
  load_sizes=1000
else
  sched_small_events=5000000; sched_large_events=20000000
  gbench_args=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
  replay_packets=2000000
  scale_args=()  # gen_scale.py defaults: 1,000 tenants, 10,000 hosts, 1,000,000 connections
  # Instructions per connection at the issue's two cloud sizes, the same load per host (100
  # connections per source; valgrind's cachegrind without cache simulation: ~2 + ~6 minutes of
  # CPU for the runs, a sixth more for the loads).
  growth_sizes=10000,30000
  load_sizes=10000,30000  # the 13 MB and 40 MB clouds of issue 22
fi
replay_flows=10000

log() { echo "== $*" >&2; }
started=$(date +%s)

# --- 1. Packages ------------------------------------------------------------------------------
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log "packages"
as_root bash "$repo/.ci/deps.sh"
missing=()
for p in libns3-dev libpcap-dev python3 time valgrind; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- 2. Builds --------------------------------------------------------------------------------
log "building hivesim (Release) in $build"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHIVESIM_TESTS=OFF \
  -DHIVESIM_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target hivesim scheduler_bench flow_core_bench yaml_events
hivesim="$build/sim/cli/hivesim"

peers="$build/bench-peers"
mkdir -p "$peers"
log "building the peers in $peers"
# pkg-config's ns3 files are broken on Debian 12; the library links by name.
g++ -O2 -std=c++17 "$peers_src/ns3_events.cc" -o "$peers/ns3_events" -lns3-core
gcc -O2 "$peers_src/pcap_gen.c" -o "$peers/pcap_gen" -lpcap
gcc -O2 "$peers_src/pcap_read.c" -o "$peers/pcap_read" -lpcap

# Raw outputs of every run stay here, for the parser and for a second look.
work="$build/bench-work"
rm -rf "$work"
mkdir -p "$work"
echo "$quick" > "$work/quick"

# --- 3. Scheduler: hivesim vs ns-3's schedulers ----------------------------------------------
log "scheduler: hivesim"
"$build/bench/scheduler_bench" --benchmark_format=json "${gbench_args[@]}" \
  > "$work/scheduler_bench.json"
for sched in MapScheduler HeapScheduler CalendarScheduler PriorityQueueScheduler; do
  log "scheduler: ns-3 $sched, 10,000 pending"
  "$peers/ns3_events" --sched=ns3::$sched --agents=10000 --events=$sched_small_events \
    >> "$work/ns3_10k.txt"
done
# Calendar (and List) degenerate with 1,000,000 pending; they are not candidates for "best".
for sched in MapScheduler HeapScheduler PriorityQueueScheduler; do
  log "scheduler: ns-3 $sched, 1,000,000 pending"
  "$peers/ns3_events" --sched=ns3::$sched --agents=1000000 --events=$sched_large_events \
    >> "$work/ns3_1m.txt"
done

# --- 4. First-packet simulations (absolute targets) -------------------------------------------
log "first-packet simulations"
"$build/bench/flow_core_bench" --benchmark_format=json "${gbench_args[@]}" \
  --benchmark_filter='BM_FirstPacket_(BridgeRouterBridge|3Tier_.*)$' > "$work/flow_core_bench.json"

# --- 5. Replay vs libpcap ---------------------------------------------------------------------
log "replay: $replay_packets packets over $replay_flows flows"
pcap="$work/replay.pcap"
"$peers/pcap_gen" "$pcap" "$replay_packets" "$replay_flows"
"$peers/pcap_read" "$pcap" > "$work/pcap_read_cold.txt"  # the first read warms the page cache
# Nine pairs, side by side (this machine's runs vary by 15-40% from one minute to the next):
# compare.py takes the median of each side and reports the spread of the per-pair ratios.
: > "$work/pcap_read.txt"
: > "$work/replay_wall_us.txt"
for _ in 1 2 3 4 5 6 7 8 9; do
  "$peers/pcap_read" "$pcap" >> "$work/pcap_read.txt"
  t0=$(date +%s%N)
  "$hivesim" replay "$repo/scenarios/replay.yaml" --pcap "$pcap" --port tap --topspeed \
    --format json > "$work/replay.json" 2> "$work/replay.stderr"
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000 ))" >> "$work/replay_wall_us.txt"
done
rm -f "$pcap"

# --- 6. Scale ---------------------------------------------------------------------------------
log "scale"
bash "$repo/bench/scale/run_scale.sh" "$hivesim" "$work/scale" "${scale_args[@]}" \
  > "$work/scale_summary.json"
cp "$work/scale/time.txt" "$work/scale_time.txt"
cp "$work/scale/report.json" "$work/scale_report.json"
rm -f "$work/scale/scale.yaml"
log "scale growth (cachegrind: instructions per connection at $growth_sizes hosts)"
python3 "$repo/bench/scale/growth.py" --hivesim "$hivesim" --sizes "" \
  --instr-sizes "$growth_sizes" --work "$work/growth" --out "$work/scale_growth" \
  > "$work/scale_growth.txt"

log "loading large scenarios (check vs libfyaml's event parser alone, $load_sizes hosts)"
python3 "$repo/bench/scale/run_load.py" --hivesim "$hivesim" --events "$build/bench/yaml_events" \
  --sizes "$load_sizes" --runs 5 --work "$work/load" --out "$work/load.json" > "$work/load.txt"

# --- 7. The table -----------------------------------------------------------------------------
echo "$(( $(date +%s) - started ))" > "$work/suite_wall_s.txt"
python3 "$repo/bench/compare.py" "$work" --json "$json"
