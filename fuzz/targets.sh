# Sourced by run_ci.sh and campaign.sh: the fuzz targets and each one's dictionary.
# fuzz_targets: every target listed in fuzz/CMakeLists.txt, one per line.
fuzz_targets() {
  sed -n 's/^hivesim_fuzz_target(\(fuzz_[a-z_]*\).*/\1/p' fuzz/CMakeLists.txt
}
# fuzz_dict TARGET: the -dict= argument of a text format's target, nothing for a binary one.
fuzz_dict() {
  case $1 in
    fuzz_scenario) echo "-dict=fuzz/yaml.dict" ;;
    fuzz_spec) echo "-dict=fuzz/spec.dict" ;;
    fuzz_batch) echo "-dict=fuzz/batch.dict" ;;
    fuzz_neutron) echo "-dict=fuzz/neutron.dict" ;;
    fuzz_sweep_merge) echo "-dict=fuzz/sweep.dict" ;;
  esac
}
