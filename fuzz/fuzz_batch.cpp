// libFuzzer target: `trace --batch FILE` (SPEC section 2) on the demo topology. The input is a
// batch file: every line is checked, then the packets are simulated in order. Whatever the
// input, the command's batch code (sim/cli/trace_batch.hpp) returns 0 or 2 (never 3), prints a
// message for every 2, and prints a trace (or a JSON array) for every 0.
//
// Cost per input (fuzz/README.md): the scenario, its simulator, is built once, as `trace` builds
// it from the file; each input gets fresh per-host flow state (a batch starts from the
// scenario's initial state) and is written to one file on a memory file system (the batch reader
// opens a path, as the user gives it). The input's length picks the format: json or text.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "fuzz/scratch_file.hpp"
#include "sim/cli/trace_batch.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/twin/flow_state.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

const char* kScenario = R"(name: fuzz
hosts:
  - {name: hv1, ip: 192.168.0.1}
  - {name: hv2, ip: 192.168.0.2}
tunnel_zones:
  - {name: tz, type: vxlan, hosts: [hv1, hv2]}
chains:
  - name: green-in
    rules:
      - {match: {proto: tcp, dport: 22}, action: accept}
      - {match: {proto: icmp}, action: accept}
      - {action: drop}
bridges:
  - name: blue
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: vm2, host: hv2, mac: "02:00:00:00:01:14", ip: 10.0.1.20}
      - {name: blue-r1, peer: r1-blue}
  - name: green
    ports:
      - {name: vm3, host: hv2, mac: "02:00:00:00:02:1e", ip: 10.0.2.30, outbound_chain: green-in}
      - {name: green-r1, peer: r1-green}
routers:
  - name: r1
    ports:
      - {name: r1-blue, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-green, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
)";

const Scenario& scenario() {
  static const Scenario loaded = [] {
    LoadResult r = load_scenario_text(kScenario, "fuzz.yaml");
    if (!r.scenario) std::abort();
    return std::move(*r.scenario);
  }();
  return loaded;
}

const Simulator& simulator() {
  static const Simulator sim(scenario().topology);
  return sim;
}

const std::string& batch_path() {
  static const std::string path = fuzz::scratch_file("fuzz.batch");
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Simulator& sim = simulator();
  const std::string& path = batch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size != 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  HostStates states(sim.topology(), scenario().seed);
  std::ostringstream out;
  std::ostringstream err;
  const bool json = size % 2 == 0;
  const int code = hivesim::cli::trace_batch(path, sim, states, "fuzz.yaml", json, out, err);
  std::remove(path.c_str());
  if (code != 0 && code != 2) std::abort();
  if (code == 2 && err.str().empty()) std::abort();
  if (code == 0 && out.str().empty() && json) std::abort();  // at least "[]"
  return 0;
}
