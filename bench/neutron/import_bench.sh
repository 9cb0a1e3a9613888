#!/bin/sh
# The import benchmark (not a test): a generated dump of PORTS VM ports (default 10000)
# imported RUNS times (default 5); prints wall and cpu (user + system) times, and the medians.
# Needs GNU time (/usr/bin/time) and bc. and the median against the 2 s target.
#   bench/neutron/import_bench.sh [HIVESIM] [PORTS] [RUNS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hivesim=${1:-$here/../../build/sim/cli/hivesim}
ports=${2:-10000}
runs=${3:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_dump.py" "$ports" "$work/dump.json"
i=0
while [ "$i" -lt "$runs" ]; do
  # wall, user and system seconds of one import
  /usr/bin/time -f "%e %U %S" "$hivesim" import neutron "$work/dump.json" -o "$work/out.yaml" \
    2>&1 >/dev/null | tail -1 | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' >> "$work/times"
  i=$((i + 1))
done
sed 's/^/wall s, cpu s: /' "$work/times"
mid=$(((runs + 1) / 2))
wall=$(cut -d' ' -f1 "$work/times" | sort -n | sed -n "${mid}p")
cpu=$(cut -d' ' -f2 "$work/times" | sort -n | sed -n "${mid}p")
met=$(echo "$wall <= 2.0" | bc -l)
echo "import of $ports ports: median wall $wall s (target <= 2 s: $([ "$met" = 1 ] && echo met || echo NOT met)), median cpu $cpu s"
"$hivesim" check "$work/out.yaml" > /dev/null && echo "the imported scenario passes check"
