#!/usr/bin/env bash
# The fuzz campaign (fuzz/README.md): every target (or those named) at once, each one libFuzzer
# process under `nice -n 19` (idle CPU only), until FUZZ_RUNS executions (default 10 million)
# or SECONDS (FUZZ_CAMPAIGN_SECONDS, default 86400), growing build-fuzz/campaign/<target>/ from
# the seeds.
# Logs: build-fuzz/campaign/<target>.log, with the final counts (-print_final_stats=1).
# FUZZ_MAX_LEN (default 4096) bounds the inputs libFuzzer makes, raised to the largest committed
# seed of the target: libFuzzer cuts every input it reads to -max_len, and a Neutron dump cut to
# 4 KiB never reaches the load balancers (CI fuzzes up to 65536). ASan keeps the last 16 MiB of freed memory poisoned (quarantine_size_mb,
# 256 by default): a use after free within an input is still caught, and cycling 256 MiB cost a
# third of the time of the scenario and Neutron targets (fuzz/README.md). ASAN_OPTIONS, if set,
# replaces that.
# FUZZ_WORKER=K (K >= 2) runs another process of the same targets on the same corpora, as
# libFuzzer's -jobs does, with its own seed and log (<target>.K.log): two cores on one target.
# Needs the targets built (fuzz/run_ci.sh, or the build commands in fuzz/README.md).
set -euo pipefail
# One function, read whole before it runs, and `exit` on the line that calls it: editing this
# file during a campaign of hours does not change the running script. (Without the `exit`, bash
# went on reading the edited file at the old offset when main returned, and ran a fragment of
# it: a redirection that emptied a finished target's log.)
main() {
  cd "$(dirname "$0")/.."
  # Linux groups a session's processes (autogroup) and shares the CPU between groups before nice
  # counts: `nice -n 19` alone left the campaign half the machine against any other session's
  # job. In a session of its own, the whole group is lowered. libFuzzer's -timeout counts wall
  # time, and a campaign at that priority waits whenever anything else runs: an input that takes
  # 0.1 s of CPU took 10 s on a busy machine. FUZZ_TIMEOUT (default 300 s) is what the campaign
  # calls a hang; replay any timeout artifact alone before believing it (CI uses 10 s).
  if [ -w /proc/self/autogroup ] && [ "${FUZZ_CAMPAIGN_SESSION:-}" != 1 ]; then
    FUZZ_CAMPAIGN_SESSION=1 exec setsid --wait "$0" "$@"
  fi
  echo 19 2>/dev/null > /proc/self/autogroup || true
  . fuzz/targets.sh
  seconds=${FUZZ_CAMPAIGN_SECONDS:-86400}
  max_len=${FUZZ_MAX_LEN:-4096}
  timeout=${FUZZ_TIMEOUT:-300}
  runs=${FUZZ_RUNS:-10000000}
  worker=${FUZZ_WORKER:-}
  seed=()
  [ -n "$worker" ] && seed=(-seed="$worker")
  if [ $# -gt 0 ]; then
    targets=("$@")
  else
    mapfile -t targets < <(fuzz_targets)
  fi
  export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0
  export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16}
  mkdir -p build-fuzz/artifacts
  for t in "${targets[@]}"; do
    mapfile -t dict < <(fuzz_dict "$t")
    mkdir -p "build-fuzz/campaign/$t"
    largest=$(find "fuzz/corpus/$t" -type f -printf '%s\n' | sort -n | tail -1)
    len=$((largest > max_len ? largest : max_len))
    nice -n 19 "build-fuzz/fuzz/$t" "${dict[@]}" "${seed[@]}" -runs="$runs" \
      -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -max_len="$len" \
      -artifact_prefix="build-fuzz/artifacts/$t-" -print_final_stats=1 "build-fuzz/campaign/$t" "fuzz/corpus/$t" \
      >"build-fuzz/campaign/$t${worker:+.$worker}.log" 2>&1 &
  done
  wait
  grep -H 'stat::number_of_executed_units\|ERROR\|Done' build-fuzz/campaign/*.log || true
}
main "$@"; exit
