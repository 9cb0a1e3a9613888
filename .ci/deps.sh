#!/usr/bin/env bash
# Installs what hivesim needs to build and test, from Debian 12 packages. Idempotent: when
# everything is present it changes nothing and needs no network.
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config
  libfyaml-dev nlohmann-json3-dev libboost-program-options-dev
  libpcap-dev libsqlite3-dev catch2 libbenchmark-dev libabsl-dev
  tshark  # tests check that every --pcap-out file reads cleanly in Wireshark's reader
  libgraphviz-dev  # hivesim graph: the dot layout through Graphviz's C library
  chromium  # the HTML report is checked in headless Chromium (screenshot, console errors)
  libopenmpi-dev openmpi-bin  # sweep's MPI scale-out (mpirun -n R hivesim sweep) and its test
  bc  # bench/whatif/run_sweep_bench.sh
  qt6-base-dev libgl-dev fonts-dejavu-core  # hivesim-gui (Qt 6 Widgets; a font offscreen)
  clang libclang-rt-14-dev libfuzzer-14-dev  # fuzz/ (libFuzzer targets, fuzz/run_ci.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
