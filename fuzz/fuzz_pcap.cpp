// libFuzzer target: the pcap / pcapng reader (sim/io/pcap_source) and what a replay does with
// its records. The input is a capture entering at `tap` of a replay scenario (as `hivesim replay
// scenarios/replay.yaml --port tap`): open() fails with a message, or every record comes out
// (times never going backwards, a message for each malformed one, counters that agree), and
// each good one is parsed, its extraction checked against the parse, and walked through the flow
// core against per-host flow state, as an agent does on a flow miss.
//
// Cost per input (fuzz/README.md): the scenario and its simulator are built once; each input is
// written to one file on a memory file system (the reader opens a path, as the user gives it),
// then read and simulated. A whole twin per input is not built: its event scheduler's first
// 2 MiB block alone cost ~8 ms per input under ASan (mapped and unmapped each time). The input's
// length picks the reader's modes: payload kept or not (`--pcap-out`), capture times or
// `--topspeed`.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/scratch_file.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/io/pcap_source.hpp"
#include "sim/packet/codec.hpp"
#include "sim/twin/flow_state.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

// scenarios/replay.yaml, shortened: a capture enters at `tap` and is routed to eight servers.
const char* kScenario = R"(name: replay
seed: 1
duration: 10s
hosts:
  - {name: hv1, ip: 192.168.0.1}
  - {name: hv2, ip: 192.168.0.2}
  - {name: hv3, ip: 192.168.0.3}
tunnel_zones:
  - {name: tz, type: vxlan, hosts: [hv1, hv2, hv3]}
chains:
  - name: servers-in
    rules:
      - {match: {proto: tcp, dport: 5432}, action: accept}
      - {match: {proto: udp, dport: 53}, action: accept}
      - {match: {proto: icmp}, action: accept}
      - {action: drop}
bridges:
  - name: clients
    ports:
      - {name: tap, host: hv1}
      - {name: clients-r1, peer: r1-clients}
  - name: servers
    ports:
      - {name: srv0, host: hv2, mac: "02:00:00:00:02:10", ip: 10.0.2.10, outbound_chain: servers-in}
      - {name: srv1, host: hv3, mac: "02:00:00:00:02:11", ip: 10.0.2.11, outbound_chain: servers-in}
      - {name: servers-r1, peer: r1-servers}
routers:
  - name: r1
    ports:
      - {name: r1-clients, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-servers, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
)";

const Scenario& scenario() {
  static const Scenario loaded = [] {
    LoadResult r = load_scenario_text(kScenario, "replay.yaml");
    if (!r.scenario) std::abort();
    return std::move(*r.scenario);
  }();
  return loaded;
}

const std::string& capture_path() {
  static const std::string path = fuzz::scratch_file("fuzz.pcap");
  return path;
}

const Simulator& simulator() {
  static const Simulator sim(scenario().topology);
  return sim;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Scenario& s = scenario();
  const Simulator& sim = simulator();
  const std::string& path = capture_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size != 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);

  PcapOptions options;
  options.port = s.topology.find_port("tap").value();
  options.read_ahead = false;  // one thread: the same records (pcap_source.hpp), reproducible
  options.keep_payload = size % 2 == 0;  // replay --pcap-out keeps it
  options.topspeed = size % 3 == 0;
  if (options.topspeed) options.line_rate_bps = s.underlay.bandwidth_bps;
  auto opened = PcapSource::open(path, options);
  std::remove(path.c_str());  // libpcap holds the file open
  if (!opened) {
    if (opened.error().empty()) std::abort();
    return 0;
  }
  PcapSource& source = **opened;

  // As the twin's agents do on a flow miss: each packet through the flow core, against the
  // flow state of the ingress host, what it writes pushed to the hosts of the return traffic.
  HostStates states(sim.topology(), s.seed);
  SimTime last = 0;
  std::uint64_t handed = 0;
  std::uint64_t malformed = 0;
  while (SourcePacket* p = source.next()) {
    ++handed;
    if (p->at < last) std::abort();
    last = p->at;
    if (p->malformed) {
      if (p->malformed->empty() || p->extracted) std::abort();
      ++malformed;
      continue;
    }
    p->parse();
    // What the reader extracted (the datapath's flow-table key) is the parsed packet's.
    if (!p->extracted || !(*p->extracted == extract(p->packet, options.port))) std::abort();
    const SimulationResult result = states.run(options.port, [&](SimState& state) {
      return sim.simulate(options.port, p->packet, state, SimulateOptions{.now = p->at});
    });
    for (const OutPacket& out : result.out) {
      // What `--pcap-out` writes of a packet leaving: its frame, as long as the underlay said.
      if (options.keep_payload && serialize(out.packet).size() != wire_length(out.packet)) {
        std::abort();
      }
    }
  }
  if (source.packets() != handed || source.malformed() != malformed) std::abort();
  if (source.error() && source.error()->empty()) std::abort();
  return 0;
}
