#include "gui/device_info.hpp"

#include <set>

#include "base/xml_escape.hpp"
#include "sim/flow/chain.hpp"

namespace hivesim::gui {

namespace {

std::string cell(const std::string& text) {
  return "<td>" + html_escape(text) + "</td>";
}

std::string chain_name(const Topology& topo, const std::optional<ChainId>& id) {
  return id ? topo.chain(*id).name : std::string("-");
}

std::string rules_html(const Simulator& sim, ChainId id) {
  const Topology& topo = sim.topology();
  const Chain& c = topo.chain(id);
  std::string html = "<p><b>chain " + html_escape(c.name) + "</b>";
  // Ports with the same security groups share one compiled chain, named after the groups;
  // drops and the ports table name it after each port.
  if (sim.is_port_chain(id)) {
    const bool ingress = c.name.rfind("sg-ingress:", 0) == 0;
    html += " <i>(the security groups in brackets, " +
            std::string(ingress ? "toward the VM" : "from the VM") + ": drops name it " +
            (ingress ? "sg-ingress" : "sg-egress") + ":PORT for each of their ports)</i>";
  }
  if (c.rules.empty()) return html + ": no rules (accepts)</p>";
  html +=
      "</p><table border=1 cellspacing=0 cellpadding=3><tr><th>#</th><th>match</th>"
      "<th>action</th></tr>";
  for (std::size_t i = 0; i < c.rules.size(); ++i) {
    const std::string match = describe(topo, c.rules[i].match);
    html += "<tr>" + cell(std::to_string(i)) + cell(match.empty() ? "any" : match) +
            cell(describe(topo, c.rules[i].action)) + "</tr>";
  }
  return html + "</table>";
}

/// Chains reached from `roots` through jumps, in first-seen order.
std::vector<ChainId> with_jumps(const Topology& topo, const std::vector<ChainId>& roots) {
  std::vector<ChainId> order;
  std::set<std::uint32_t> seen;
  std::vector<ChainId> todo(roots.rbegin(), roots.rend());
  while (!todo.empty()) {
    const ChainId id = todo.back();
    todo.pop_back();
    if (!seen.insert(id.value).second) continue;
    order.push_back(id);
    const auto& rules = topo.chain(id).rules;
    for (auto r = rules.rbegin(); r != rules.rend(); ++r) {
      if (r->action.kind == ActionKind::kJump) todo.push_back(r->action.jump);
    }
  }
  return order;
}

void add_chain(std::vector<ChainId>& list, const std::optional<ChainId>& id) {
  if (id) list.push_back(*id);
}

std::string ports_html(const Simulator& sim, const std::vector<PortId>& ports,
                       std::vector<ChainId>& chains) {
  const Topology& topo = sim.topology();
  std::string html =
      "<table border=1 cellspacing=0 cellpadding=3><tr><th>port</th><th>bound to</th>"
      "<th>MAC</th><th>IP</th><th>in chain</th><th>out chain</th><th>state</th></tr>";
  for (PortId id : ports) {
    const Port& p = topo.port(id);
    std::string bound = p.host   ? "host " + topo.host(*p.host).name
                        : p.peer ? "peer " + topo.port(*p.peer).name
                                 : std::string("-");
    std::string ip = p.ip ? p.ip->str() : "-";
    if (p.ip && p.on_router()) ip += "/" + std::to_string(p.prefix_len);
    // A port's security groups compile into chains of their own, applied after its own.
    std::string in = chain_name(topo, p.inbound_chain);
    std::string out = chain_name(topo, p.outbound_chain);
    if (const auto sg = sim.sg_from_vm(id)) in += ", " + sim.port_chain_name(*sg, id);
    if (const auto sg = sim.sg_to_vm(id)) out += ", " + sim.port_chain_name(*sg, id);
    add_chain(chains, p.inbound_chain);
    add_chain(chains, p.outbound_chain);
    add_chain(chains, sim.sg_from_vm(id));
    add_chain(chains, sim.sg_to_vm(id));
    html += "<tr>" + cell(p.name) + cell(bound) + cell(p.mac ? p.mac->str() : "-") + cell(ip) +
            cell(in) + cell(out) + cell(p.admin_up ? "up" : "admin down") + "</tr>";
  }
  return html + "</table>";
}

std::string arp_html(const std::vector<ArpEntry>& arp) {
  if (arp.empty()) return {};
  std::string html =
      "<p><b>ARP table</b></p><table border=1 cellspacing=0 cellpadding=3>"
      "<tr><th>IP</th><th>MAC</th></tr>";
  for (const ArpEntry& e : arp)
    html += "<tr>" + cell(e.ip.str()) + cell(e.mac.str()) + "</tr>";
  return html + "</table>";
}

std::string chains_html(const Simulator& sim, const std::vector<ChainId>& roots) {
  const auto chains = with_jumps(sim.topology(), roots);
  if (chains.empty()) return "<p><b>Chains</b>: none (everything is accepted)</p>";
  std::string html = "<p><b>Chains</b> (rules in order; the first that decides wins)</p>";
  for (ChainId id : chains)
    html += rules_html(sim, id);
  return html;
}

std::string route_type(RouteType t) {
  switch (t) {
    case RouteType::kPort:
      return "port";
    case RouteType::kBlackhole:
      return "blackhole";
    case RouteType::kReject:
      return "reject";
  }
  return "?";
}

std::string bridge_html(const Simulator& sim, const Bridge& b) {
  const Topology& topo = sim.topology();
  std::vector<ChainId> chains;
  add_chain(chains, b.inbound_chain);
  add_chain(chains, b.outbound_chain);
  std::string html = "<h3>bridge " + html_escape(b.name) + "</h3><p>" +
                     (b.admin_up ? "admin up" : "<b>admin down</b>") +
                     "; inbound chain: " + html_escape(chain_name(topo, b.inbound_chain)) +
                     "; outbound chain: " + html_escape(chain_name(topo, b.outbound_chain)) +
                     "</p><p><b>Ports</b></p>";
  html += ports_html(sim, b.ports, chains);
  html += arp_html(b.arp_table);
  return html + chains_html(sim, chains);
}

std::string router_html(const Simulator& sim, const Router& r) {
  const Topology& topo = sim.topology();
  std::vector<ChainId> chains;
  add_chain(chains, r.inbound_chain);
  add_chain(chains, r.outbound_chain);
  std::string html = "<h3>router " + html_escape(r.name) + "</h3><p>" +
                     (r.admin_up ? "admin up" : "<b>admin down</b>") +
                     "; inbound chain: " + html_escape(chain_name(topo, r.inbound_chain)) +
                     "; outbound chain: " + html_escape(chain_name(topo, r.outbound_chain)) +
                     "</p><p><b>Ports</b></p>";
  html += ports_html(sim, r.ports, chains);
  html +=
      "<p><b>Routes</b> (each port's subnet also has a connected route)</p>"
      "<table border=1 cellspacing=0 cellpadding=3><tr><th>dst</th><th>src</th>"
      "<th>via</th><th>port</th><th>type</th><th>weight</th></tr>";
  for (const Route& route : r.routes) {
    html += "<tr>" + cell(route.dst.str()) + cell(route.src.str()) +
            cell(route.via ? route.via->str() : "-") +
            cell(route.port ? topo.port(*route.port).name : "-") + cell(route_type(route.type)) +
            cell(std::to_string(route.weight)) + "</tr>";
  }
  html += "</table>";
  html += arp_html(r.arp_table);
  return html + chains_html(sim, chains);
}

std::string host_html(const Topology& topo, HostId id) {
  const Host& h = topo.host(id);
  std::string html = "<h3>host " + html_escape(h.name) + "</h3><p>underlay IP " +
                     html_escape(h.ip.str()) + "</p><p><b>Tunnel zones</b>: ";
  bool any = false;
  for (const TunnelZone& z : topo.tunnel_zones) {
    for (HostId member : z.hosts) {
      if (member == id) {
        html += (any ? ", " : "") + html_escape(z.name) +
                (z.type == TunnelType::kVxlan ? " (vxlan)" : " (gre)");
        any = true;
      }
    }
  }
  if (!any) html += "none";
  html +=
      "</p><p><b>Ports bound here</b></p><table border=1 cellspacing=0 cellpadding=3>"
      "<tr><th>port</th><th>device</th><th>IP</th></tr>";
  for (const Port& p : topo.ports) {
    if (p.host && *p.host == id) {
      html += "<tr>" + cell(p.name) + cell(topo.device_name(p)) + cell(p.ip ? p.ip->str() : "-") +
              "</tr>";
    }
  }
  return html + "</table>";
}

}  // namespace

std::string html_escape(const std::string& text) {
  return xml_escape(text, false);
}

std::optional<std::string> device_html(const Simulator& sim, ObjectKind kind,
                                       const std::string& name) {
  const Topology& topo = sim.topology();
  switch (kind) {
    case ObjectKind::kBridge:
      if (auto id = topo.find_bridge(name)) return bridge_html(sim, topo.bridge(*id));
      break;
    case ObjectKind::kRouter:
      if (auto id = topo.find_router(name)) return router_html(sim, topo.router(*id));
      break;
    case ObjectKind::kHost:
      if (auto id = topo.find_host(name)) return host_html(topo, *id);
      break;
    case ObjectKind::kPort:
      if (auto id = topo.find_port(name)) {
        const Port& p = topo.port(*id);
        std::vector<ChainId> chains;
        std::string html = "<h3>port " + html_escape(p.name) + "</h3><p>on " +
                           (p.on_bridge() ? "bridge " : "router ") +
                           html_escape(topo.device_name(p)) + "</p>";
        html += ports_html(sim, {*id}, chains);
        return html + chains_html(sim, chains);
      }
      break;
  }
  return std::nullopt;
}

std::string rule_text(const Simulator& sim, const std::string& chain,
                      std::optional<std::uint32_t> rule) {
  const Topology& topo = sim.topology();
  const auto id = sim.find_chain(chain);
  if (!id) return {};
  const Chain& c = topo.chain(*id);
  if (!rule || *rule >= c.rules.size()) return "chain " + chain;
  const std::string match = describe(topo, c.rules[*rule].match);
  return "rule " + std::to_string(*rule) + " of " + chain + ": " + (match.empty() ? "any" : match) +
         " -> " + describe(topo, c.rules[*rule].action);
}

}  // namespace hivesim::gui
