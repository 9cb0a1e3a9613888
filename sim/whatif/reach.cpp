#include "sim/whatif/reach.hpp"

#include <fnmatch.h>

#include <map>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <set>

#include "sim/packet/spec.hpp"
#include "sim/render/trace_report.hpp"
#include "sim/twin/traffic.hpp"
#include "sim/twin/twin.hpp"

namespace hivesim::whatif {

namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::vector<std::string_view> split(std::string_view list) {
  std::vector<std::string_view> items;
  while (true) {
    const auto comma = list.find(',');
    items.push_back(list.substr(0, comma));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return items;
}

void add_spec_service(std::set<std::string>& names, std::vector<Service>& out,
                      std::string_view spec) {
  auto parsed = parse_packet_spec(spec);
  if (!parsed || !parsed->dport) return;
  if (parsed->proto != SpecProto::kTcp && parsed->proto != SpecProto::kUdp) return;
  Service s{parsed->proto == SpecProto::kTcp ? ipproto::kTcp : ipproto::kUdp, *parsed->dport};
  if (names.insert(s.name()).second) out.push_back(s);
}

void add_service(std::set<std::string>& names, std::vector<Service>& out,
                 std::optional<std::uint8_t> proto, std::optional<PortRange> port) {
  if (!proto || !port) return;
  if (*proto != ipproto::kTcp && *proto != ipproto::kUdp) return;
  Service s{*proto, port->lo};
  if (names.insert(s.name()).second) out.push_back(s);
}

/// The device that answered a consumed packet: the last router the walk entered (echo
/// replies), else the last device (a bridge answering ARP).
std::string answering_device(const SimulationResult& traced) {
  for (auto it = traced.hops.rbegin(); it != traced.hops.rend(); ++it) {
    if (it->kind == "router") return it->device;
  }
  return traced.hops.empty() ? std::string() : traced.hops.back().device;
}

}  // namespace

std::string Service::name() const {
  if (proto == ipproto::kIcmp) return std::string(ipproto::name(proto));
  return std::string(ipproto::name(proto)) + "/" + std::to_string(port);
}

Result<std::vector<Service>> parse_services(std::string_view list) {
  std::vector<Service> out;
  for (std::string_view item : split(list)) {
    if (ipproto::from_name(item) == ipproto::kIcmp) {
      out.push_back(Service{ipproto::kIcmp, 0});
      continue;
    }
    const auto slash = item.find('/');
    const auto proto = ipproto::from_name(item.substr(0, slash));
    if ((proto != ipproto::kTcp && proto != ipproto::kUdp) || slash == std::string_view::npos) {
      return Error{"bad service '" + std::string(item) +
                   "' (expected tcp/PORT, udp/PORT or icmp, e.g. tcp/22,udp/53,icmp)"};
    }
    const auto port = parse_port(item.substr(slash + 1));
    if (!port) return Error{"bad port in service '" + std::string(item) + "' (0-65535)"};
    out.push_back(Service{*proto, *port});
  }
  return out;
}

std::string_view to_string(Reach r) {
  switch (r) {
    case Reach::kOpen:
      return "open";
    case Reach::kOneWay:
      return "one_way";
    case Reach::kBlocked:
      return "blocked";
  }
  return "blocked";
}

std::vector<std::string> default_sources(const Topology& topo) {
  std::vector<std::string> names;
  for (const Port& p : topo.ports) {
    if (p.exterior()) names.push_back(p.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> default_destinations(const Scenario& scenario) {
  const Topology& topo = scenario.topology;
  std::set<std::string> ips;
  for (const Port& p : topo.ports) {
    if (p.exterior() && p.ip) ips.insert(p.ip->str());
  }
  for (const FloatingIp& f : topo.floating_ips)
    ips.insert(f.ip.str());
  for (const Vip& v : topo.vips)
    ips.insert(v.ip.str());
  return {ips.begin(), ips.end()};
}

std::vector<Service> default_services(const Scenario& scenario) {
  const Topology& topo = scenario.topology;
  std::set<std::string> names;
  std::vector<Service> out;
  for (const Chain& c : topo.chains) {
    for (const Rule& r : c.rules)
      add_service(names, out, r.match.proto, r.match.dport);
  }
  for (const SecurityGroup& g : topo.security_groups) {
    for (const SecurityGroupRule& r : g.rules)
      add_service(names, out, r.proto, r.port);
  }
  for (const Vip& v : topo.vips)
    add_service(names, out, v.proto, PortRange{v.port, v.port});
  for (const Traffic& t : scenario.traffic) {
    if (const auto* s = std::get_if<SyntheticTraffic>(&t.source)) {
      add_spec_service(names, out, s->packet);
    }
  }
  for (const Expectation& e : scenario.expectations) {
    if (const auto* t = std::get_if<ExpectTrace>(&e.what)) add_spec_service(names, out, t->packet);
  }
  const Service icmp{ipproto::kIcmp, 0};
  if (names.insert(icmp.name()).second) out.push_back(icmp);
  std::sort(out.begin(), out.end(),
            [](const Service& a, const Service& b) { return a.name() < b.name(); });
  return out;
}

Result<ReachPlan> plan_reach(const Scenario& scenario, const ReachQuery& query) {
  const Topology& topo = scenario.topology;
  ReachPlan plan;
  std::vector<std::string> candidates = query.sources ? *query.sources : default_sources(topo);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (const std::string& name : candidates) {
    if (query.from_glob && fnmatch(query.from_glob->c_str(), name.c_str(), 0) != 0) continue;
    const auto port = topo.find_port(name);
    if (!port || !topo.port(*port).exterior()) {
      return Error{"'" + name + "' is not an exterior port of " + scenario.file};
    }
    plan.sources.push_back(*port);
  }
  if (plan.sources.empty()) {
    return Error{query.from_glob ? "--from '" + *query.from_glob + "' matches no exterior port"
                                 : std::string("the scenario has no exterior port")};
  }
  const std::vector<std::string> labels = query.to ? *query.to : default_destinations(scenario);
  std::set<std::string> seen;
  for (const std::string& label : labels) {
    if (!seen.insert(label).second) continue;
    if (auto ip = Ipv4::parse(label)) {
      plan.destinations.push_back(Destination{label, *ip});
      continue;
    }
    const auto port = topo.find_port(label);
    if (!port) {
      return Error{"--to: '" + label + "' is neither a port of the scenario nor an IPv4 address"};
    }
    if (!topo.port(*port).ip) return Error{"--to: port '" + label + "' has no IP address"};
    plan.destinations.push_back(Destination{label, *topo.port(*port).ip});
  }
  std::sort(plan.destinations.begin(), plan.destinations.end(),
            [](const Destination& a, const Destination& b) { return a.label < b.label; });
  plan.services = query.services ? *query.services : default_services(scenario);
  std::sort(plan.services.begin(), plan.services.end(),
            [](const Service& a, const Service& b) { return a.name() < b.name(); });
  plan.services.erase(std::unique(plan.services.begin(), plan.services.end()), plan.services.end());
  if (plan.destinations.empty()) return Error{"no destination to test"};
  if (plan.services.empty()) return Error{"no service to test"};
  return plan;
}

namespace {

/// The state the connections of reach at time 0 walk against: one SimState for every host
/// (every host's tables are empty then, so where a key lives does not matter). A connection's
/// forward starts a checkpoint; reset() undoes everything since.
class SharedWalks {
 public:
  SharedWalks(const Simulator& sim, SimState& state, SimTime at)
      : sim_(sim), state_(state), at_(at) {}
  SimulationResult forward(PortId from, const Packet& p, bool trace) {
    state_.checkpoint();
    return sim_.simulate(from, p, state_, SimulateOptions{trace, at_});
  }
  SimulationResult answer(PortId to, const Packet& p, bool trace) {
    return sim_.simulate(to, p, state_, SimulateOptions{trace, at_});
  }
  void reset() { state_.rollback(); }

 private:
  const Simulator& sim_;
  SimState& state_;
  SimTime at_;
};

/// The state at a time T of a run, kept as the hive keeps it (SPEC section 6): the forward is
/// simulated against its ingress host's conntrack and NAT tables, and the answer against the
/// tables of the host it enters (the forward's egress host), which hold what that host had at T
/// plus the keys the forward pushed to it. reset() undoes every change of both walks (MAC and
/// ARP learning, both hosts' tables, SNAT leases, the random stream).
class HostWalks {
 public:
  HostWalks(const Simulator& sim, HostStates& states, SimTime at)
      : sim_(sim), states_(states), at_(at) {}
  SimulationResult forward(PortId from, const Packet& p, bool trace) {
    ingress_ = states_.host_of(from);
    scope_.emplace(states_.shared(), states_.tables(ingress_), &journal_);
    journal_.clear();
    states_.shared().checkpoint();
    return sim_.simulate(from, p, states_.shared(), SimulateOptions{trace, at_});
  }
  SimulationResult answer(PortId to, const Packet& p, bool trace) {
    const HostId host = states_.host_of(to);
    SimState& shared = states_.shared();
    if (host != ingress_) {
      // Undo the forward's writes on its ingress host (the MAC/ARP journal goes on), then
      // move to the answer's host and install there what the forward pushed to it.
      shared.conntrack.rollback();
      shared.nat.rollback();
      scope_.reset();
      scope_.emplace(shared, states_.tables(host), nullptr);
      shared.conntrack.checkpoint();
      shared.nat.checkpoint();
      for (const StateWrite& w : journal_) {
        if (w.kind == StateWrite::Kind::kConnTrack) {
          shared.conntrack.record(w.key, at_);
        } else {
          shared.nat.bind(w.kind == StateWrite::Kind::kSnat ? NatKind::kSnat : NatKind::kDnat,
                          w.key, NatEndpoint{w.to_ip, w.to_port}, at_);
        }
      }
    }
    return sim_.simulate(to, p, shared, SimulateOptions{trace, at_});
  }
  void reset() {
    states_.shared().rollback();
    scope_.reset();
  }

 private:
  const Simulator& sim_;
  HostStates& states_;
  SimTime at_;
  HostId ingress_;
  std::vector<StateWrite> journal_;
  std::optional<HostStateScope> scope_;
};

template <typename Walks>
ReachReport run_walks(const Scenario& scenario, const Simulator& sim, Walks& walks,
                      const ReachPlan& plan, SimTime at) {
  const Topology& topo = sim.topology();
  ReachReport report;
  report.scenario = scenario.name;
  report.scenario_file = scenario.file;
  report.at = at;
  for (PortId p : plan.sources)
    report.sources.push_back(topo.port(p).name);
  for (const Destination& d : plan.destinations)
    report.destinations.push_back(d.label);
  for (const Service& s : plan.services)
    report.services.push_back(s.name());
  for (const Port& p : topo.ports)
    report.port_names.push_back(p.name);

  auto decided = [&](const SimulationResult& r, bool reply, PortId in, const Packet& pkt) {
    ReachDrop d;
    d.reply = reply;
    if (r.drop) {
      d.info = *r.drop;
      d.source = r.drop_source;  // the device's declaration fills in after the loop
      return d;
    }
    // Consumed: answered by a device. Which one is only in the hop trace; rare enough to walk
    // again with tracing on (the state is rolled back first, so the walk is the same).
    d.consumed = true;
    walks.reset();
    SimulationResult traced = walks.forward(in, pkt, true);
    d.info.device = answering_device(traced);
    return d;
  };

  for (std::uint32_t s = 0; s < plan.sources.size(); ++s) {
    const PortId from = plan.sources[s];
    const Port& from_port = topo.port(from);
    const SpecDefaults defaults = sim.spec_defaults(from);
    // One packet per protocol and source, built from the spec `PROTO dst=D dport=1`; only the
    // destination address and MAC depend on the destination, and the port on the service.
    std::optional<Packet> base[3];
    std::string base_error[3];
    for (const Service& svc : plan.services) {
      const int slot = svc.proto == ipproto::kTcp ? 0 : svc.proto == ipproto::kUdp ? 1 : 2;
      if (base[slot] || !base_error[slot].empty()) continue;
      std::string spec =
          std::string(ipproto::name(svc.proto)) + " dst=" + plan.destinations.front().ip.str();
      if (svc.proto != ipproto::kIcmp) spec += " dport=1";
      auto parsed = parse_packet_spec(spec);
      auto built = parsed ? build_packet(*parsed, defaults) : Result<Packet>(Error{parsed.error()});
      if (built) {
        base[slot] = std::move(*built);
      } else {
        base_error[slot] = built.error();
      }
    }
    for (std::uint32_t t = 0; t < plan.destinations.size(); ++t) {
      const Destination& dest = plan.destinations[t];
      if (from_port.ip && *from_port.ip == dest.ip) continue;  // a port to its own address
      const Mac eth_dst = defaults.eth_dst_for(dest.ip);
      for (std::uint32_t v = 0; v < plan.services.size(); ++v) {
        const Service& svc = plan.services[v];
        const int slot = svc.proto == ipproto::kTcp ? 0 : svc.proto == ipproto::kUdp ? 1 : 2;
        if (!base[slot]) {
          // E.g. an uplink without a neighbour in its router's arp_table: no source address.
          report.notes.push_back(from_port.name + " -> " + dest.label + " " + svc.name() +
                                 ": left out: " + base_error[slot]);
          continue;
        }
        Packet pkt = *base[slot];
        pkt.dst = dest.ip;
        pkt.eth_dst = eth_dst;
        if (svc.proto != ipproto::kIcmp) pkt.dport = svc.port;

        ReachRow row{s, t, v, std::nullopt, Reach::kBlocked, std::nullopt};
        const SimulationResult fwd = walks.forward(from, pkt, false);
        if (fwd.verdict != Verdict::kDelivered) {
          row.drop = decided(fwd, false, from, pkt);
        } else {
          const OutPacket& delivered = fwd.out.front();
          row.to_port = delivered.port;
          const std::optional<Packet> answer = reply_to(delivered.packet);
          if (!answer) {
            row.result = Reach::kOneWay;
            row.drop = ReachDrop{true, false, DropInfo{DropReason::kUnsupported, {}, {}}, {}};
          } else {
            const SimulationResult back = walks.answer(delivered.port, *answer, false);
            if (back.verdict == Verdict::kDelivered) {
              row.result = Reach::kOpen;
            } else {
              row.result = Reach::kOneWay;
              // The reply walk of a consumed answer needs the forward's state: replay both.
              if (back.drop) {
                row.drop = decided(back, true, delivered.port, *answer);
              } else {
                walks.reset();
                (void)walks.forward(from, pkt, false);
                SimulationResult traced = walks.answer(delivered.port, *answer, true);
                ReachDrop d;
                d.reply = true;
                d.consumed = true;
                d.info.device = answering_device(traced);
                row.drop = d;
              }
            }
          }
        }
        walks.reset();
        switch (row.result) {
          case Reach::kOpen:
            ++report.open;
            break;
          case Reach::kOneWay:
            ++report.one_way;
            break;
          case Reach::kBlocked:
            ++report.blocked;
            break;
        }
        report.rows.push_back(std::move(row));
      }
    }
  }
  // Drops no rule or route decided point at their device's declaration: looked up once per
  // device, not per connection.
  std::map<std::pair<std::string, std::optional<std::uint32_t>>, SourceLoc> declared;
  for (ReachRow& row : report.rows) {
    if (!row.drop || row.drop->consumed || row.drop->source.line != 0) continue;
    const auto key = std::pair(row.drop->info.device, row.drop->info.rule);
    auto it = declared.find(key);
    if (it == declared.end()) {
      it = declared.emplace(key, drop_source(topo, row.drop->info, SourceLoc{})).first;
    }
    row.drop->source = it->second;
  }
  return report;
}

}  // namespace

ReachReport run_reach(const Scenario& scenario, const Simulator& sim, SimState& state,
                      const ReachPlan& plan, SimTime at) {
  SharedWalks walks(sim, state, at);
  return run_walks(scenario, sim, walks, plan, at);
}

ReachReport run_reach(const Scenario& scenario, const Simulator& sim, HostStates& states,
                      const ReachPlan& plan, SimTime at) {
  HostWalks walks(sim, states, at);
  return run_walks(scenario, sim, walks, plan, at);
}

Result<ReachReport> reach(const Scenario& scenario, const ReachQuery& query, SimTime at) {
  auto plan = plan_reach(scenario, query);
  if (!plan) return Error{plan.error()};
  if (at == 0) {
    Simulator sim(scenario.topology);
    SimState state(scenario.seed);
    return run_reach(scenario, sim, state, *plan, at);
  }
  // Later: the twin runs the scenario's traffic and failures up to `at`, and each connection
  // meets that moment's topology and the flow state of the hosts it enters (as `trace --at`).
  TwinOptions options;
  options.until = at;
  auto twin = Twin::make(scenario, options);
  if (!twin) return Error{twin.error()};
  (*twin)->advance(at);
  HostStates states = (*twin)->host_states();
  return run_reach(scenario, (*twin)->simulator(), states, *plan, at);
}

std::string drop_source_ref(const ReachReport& report, const ReachDrop& drop) {
  return source_ref(report.scenario_file, drop.source);
}

}  // namespace hivesim::whatif
