#!/usr/bin/env bash
# CI fuzzing (fuzz/README.md), run by .ci/run: builds the libFuzzer targets with clang, ASan and
# UBSan in build-fuzz/ (only the targets and the libraries they link: no tests, benches, GUI or
# CLI), replays each target's committed corpus (every input must pass), then fuzzes each target
# for FUZZ_SECONDS (default 20) from that corpus. A crash, a leak, a timeout or an out-of-memory
# fails the script and leaves the input in build-fuzz/artifacts/. Prints the minutes it took.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
start=$(date +%s)
. fuzz/targets.sh
mapfile -t targets < <(fuzz_targets)

CXX=${CXX:-clang++} cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DHIVESIM_FUZZ=ON -DHIVESIM_TESTS=OFF -DHIVESIM_BENCH=OFF -DHIVESIM_GUI=OFF
cmake --build build-fuzz -j2 --target "${targets[@]}"
built=$(date +%s)

mkdir -p build-fuzz/artifacts
# Leaks inside Debian's libfyaml (an upstream bug, fixed after 0.8) are not ours: fuzz/lsan.supp.
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  mapfile -t dict < <(fuzz_dict "$t")
  echo "== $t: replaying $corpus"
  build-fuzz/fuzz/$t -runs=0 -timeout=10 -rss_limit_mb=2048 "$corpus"
  echo "== $t: fuzzing for ${seconds}s"
  # New inputs go to a scratch folder: the committed corpus changes only by hand. A fixed seed
  # (FUZZ_SEED) keeps a CI run's mutations the same from one clone to the next; new paths are
  # the campaign's job (fuzz/campaign.sh), not CI's.
  scratch=build-fuzz/corpus/$t
  mkdir -p "$scratch"
  build-fuzz/fuzz/$t "${dict[@]}" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="build-fuzz/artifacts/$t-" \
    -print_final_stats=1 "$scratch" "$corpus"
done
end=$(date +%s)
echo "fuzz: build $(((built - start + 30) / 60)) min, runs $(((end - built + 30) / 60)) min" \
  "(${#targets[@]} targets, ${seconds}s each)"
