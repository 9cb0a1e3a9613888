#include "topology/load/loader.hpp"

#include "topology/load/yaml_doc.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "topology/load/loader_impl.hpp"

namespace hivesim {

namespace {

constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;

/// Asks for transparent huge pages under the whole 2 MB pages of [data, data + bytes): a large
/// buffer filled from end to end then costs one page fault per 2 MB instead of 512 (on this
/// 2-core VM the faults of a 13 MB load were a fifth of its CPU time). Only a hint.
void prefer_huge_pages(const void* data, std::size_t bytes) {
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t from = (begin + kHugePage - 1) / kHugePage * kHugePage;
  const std::uintptr_t to = (begin + bytes) / kHugePage * kHugePage;
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

}  // namespace

std::string Diagnostic::str() const {
  if (line == 0) return file + ": error: " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": error: " + message;
}

namespace scenario_loader {

using yaml_schema::peek;
using yaml_schema::peek_items;
using yaml_schema::peek_name;

// ---------------------------------------------------------------------------------------------
// Pass 1: names.

/// Sizes `objects` to the section's items and declares each item's name. Items that are not
/// maps or have no name still take their slot (pass 2 reports them), so ids stay aligned.
template <class T, class IdT>
void declare_section(Diagnostics& diags, const yaml::Node& section, std::vector<T>& objects,
                     NameTable<IdT>& table) {
  const auto items = peek_items(section);
  objects.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    objects[i].loc = Diagnostics::loc_of(items[i]);
    if (auto name = peek_name(items[i])) {
      objects[i].name = *name;
      table.declare(diags, peek(items[i], "name"), *name, static_cast<std::uint32_t>(i));
    }
  }
}

// Ports are named globally: bridge ports first, then router ports, in document order.
void Loader::declare_ports(const yaml::Node& device, DeviceKind kind, std::uint32_t index,
                           std::vector<PortId>& device_ports) {
  const auto items = peek_items(peek(device, "ports"));
  device_ports.reserve(items.size());
  for (const yaml::Node& item : items) {
    const PortId id(static_cast<std::uint32_t>(topo_.ports.size()));
    Port& port = topo_.ports.emplace_back();
    port.device_kind = kind;
    port.device = index;
    port.loc = Diagnostics::loc_of(item);
    // peek_name's rule: a non-empty scalar.
    if (const yaml::Node name = peek(item, "name"); name.is_scalar() && !name.scalar().empty()) {
      port.name.assign(name.scalar());
      ports_.declare(diags_, name, port.name, id.value);
    }
    device_ports.push_back(id);
  }
}

void Loader::declare(const MapReader& top) {
  auto section = [&](std::string_view key) {
    auto field = top.get(key);
    return field ? field->node() : yaml::Node();
  };
  auto early = [&](std::string_view key) {
    return std::find(declared_early_.begin(), declared_early_.end(), key) != declared_early_.end();
  };
  if (!early("hosts")) declare_section(diags_, section("hosts"), topo_.hosts, hosts_);
  declare_section(diags_, section("tunnel_zones"), topo_.tunnel_zones, tunnel_zones_);
  if (!early("chains")) declare_section(diags_, section("chains"), topo_.chains, chains_);
  if (!early("security_groups")) {
    declare_section(diags_, section("security_groups"), topo_.security_groups, security_groups_);
  }
  declare_section(diags_, section("port_groups"), topo_.port_groups, port_groups_);
  if (!streamed_) declare_section(diags_, section("bridges"), topo_.bridges, bridges_);
  if (!routers_early_) declare_section(diags_, section("routers"), topo_.routers, routers_);
  declare_section(diags_, section("load_balancers"), topo_.load_balancers, load_balancers_);

  const auto bridges = streamed_ ? std::vector<yaml::Node>() : peek_items(section("bridges"));
  const auto routers = routers_early_ ? std::vector<yaml::Node>() : peek_items(section("routers"));
  // The ports vector is sized once: grown by doubling, a cloud's million ports (250 bytes each)
  // would be copied as it grows and leave up to half of it unused. (Streamed bridges' ports are
  // in it already, in the room stream_start reserved.)
  std::size_t port_count = topo_.ports.size();
  for (const auto* devices : {&bridges, &routers}) {
    for (const yaml::Node& device : *devices)
      port_count += peek_items(peek(device, "ports")).size();
  }
  topo_.ports.reserve(port_count);
  for (std::uint32_t i = 0; i < bridges.size(); ++i) {
    declare_ports(bridges[i], DeviceKind::kBridge, i, topo_.bridges[i].ports);
  }
  for (std::uint32_t i = 0; i < routers.size(); ++i) {
    declare_ports(routers[i], DeviceKind::kRouter, i, topo_.routers[i].ports);
  }

  // Pools and VIPs are named globally across load balancers.
  const auto lbs = peek_items(section("load_balancers"));
  for (std::uint32_t i = 0; i < lbs.size(); ++i) {
    for (const yaml::Node& item : peek_items(peek(lbs[i], "pools"))) {
      const PoolId id(static_cast<std::uint32_t>(topo_.pools.size()));
      Pool pool;
      pool.lb = LoadBalancerId(i);
      pool.loc = Diagnostics::loc_of(item);
      if (auto name = peek_name(item)) {
        pool.name = *name;
        pools_.declare(diags_, peek(item, "name"), *name, id.value);
      }
      topo_.pools.push_back(std::move(pool));
      topo_.load_balancers[i].pools.push_back(id);
    }
    for (const yaml::Node& item : peek_items(peek(lbs[i], "vips"))) {
      const VipId id(static_cast<std::uint32_t>(topo_.vips.size()));
      Vip vip;
      vip.lb = LoadBalancerId(i);
      vip.loc = Diagnostics::loc_of(item);
      if (auto name = peek_name(item)) {
        vip.name = *name;
        vips_.declare(diags_, peek(item, "name"), *name, id.value);
      }
      topo_.vips.push_back(std::move(vip));
      topo_.load_balancers[i].vips.push_back(id);
    }
  }

  if (streamed_traffic_) return;  // declared while parsing
  const auto traffic = peek_items(section("traffic"));
  s_.traffic.resize(traffic.size());
  for (std::uint32_t i = 0; i < traffic.size(); ++i) {
    s_.traffic[i].loc = Diagnostics::loc_of(traffic[i]);
    if (auto name = peek_name(traffic[i])) {
      s_.traffic[i].name = *name;
      traffic_.declare(diags_, peek(traffic[i], "name"), *name, i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pass 2: settings and the physical world.

void Loader::read_settings(const MapReader& top) {
  read(top, "name", s_.name, &Field::text);
  read(top, "seed", s_.seed, &Field::integer, 0, kMaxU64);
  read(top, "duration", s_.duration, &Field::duration, true);
  if (auto field = top.get("underlay")) {
    MapReader m = field->map("underlay", {"latency", "loss", "bandwidth", "mtu"});
    read(m, "latency", s_.underlay.latency, &Field::duration, false);
    read(m, "loss", s_.underlay.loss, &Field::number, 0.0, 1.0);
    read(m, "bandwidth", s_.underlay.bandwidth_bps, &Field::bandwidth);
    read(m, "mtu", s_.underlay.mtu, &Field::integer, 576, 65535);
    topo_.underlay_mtu = s_.underlay.mtu;
  }
  if (auto field = top.get("nsdb")) {
    MapReader m = field->map("nsdb", {"replicas", "latency", "session_timeout"});
    read(m, "replicas", s_.nsdb.replicas, &Field::integer, 1, 1000);
    read(m, "latency", s_.nsdb.latency, &Field::duration, false);
    read(m, "session_timeout", s_.nsdb.session_timeout, &Field::duration, false);
  }
  if (auto field = top.get("limits")) {  // SPEC section 10
    MapReader m = field->map("limits", {"max_events", "max_flows", "max_in_flight"});
    read(m, "max_events", s_.limits.max_events, &Field::integer, 1, kMaxU64);
    read(m, "max_flows", s_.limits.max_flows, &Field::integer, 1, kMaxU64);
    read(m, "max_in_flight", s_.limits.max_in_flight, &Field::integer, 1, kMaxU64);
  }
}

void Loader::read_hosts(const Field& list) {
  const auto items = list.items("host");
  std::map<Ipv4, std::string> by_ip;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Host& host = topo_.hosts[i];
    MapReader m = items[i].map(label("host", host.name, "hosts", i), {"name", "ip", "agent"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    if (read_required(m, "ip", host.ip, &Field::ip)) {
      auto [it, inserted] = by_ip.try_emplace(host.ip, host.name);
      if (!inserted) {
        m.get("ip")->error("ip " + host.ip.str() + " is already the address of host " +
                           q(it->second));
      }
    }
    if (auto agent = m.get("agent")) {
      MapReader a = agent->map(m.owner() + ": agent", {"sim_latency", "max_flows", "flow_idle"});
      read(a, "sim_latency", host.agent.sim_latency, &Field::duration, false);
      read(a, "max_flows", host.agent.max_flows, &Field::integer, 1, kMaxU32);
      read(a, "flow_idle", host.agent.flow_idle, &Field::duration, true);
    }
  }
}

void Loader::read_tunnel_zones(const Field& list) {
  const auto items = list.items("tunnel zone");
  for (std::size_t i = 0; i < items.size(); ++i) {
    TunnelZone& zone = topo_.tunnel_zones[i];
    MapReader m =
        items[i].map(label("tunnel zone", zone.name, "tunnel_zones", i), {"name", "type", "hosts"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    read(m, "type", zone.type, &Field::choice<TunnelType>,
         std::initializer_list<std::pair<std::string_view, TunnelType>>{
             {"vxlan", TunnelType::kVxlan}, {"gre", TunnelType::kGre}});
    if (auto hosts = m.get("hosts")) {
      // Membership by a bit per host, not a search of the zone so far (which was quadratic in
      // the zone's size: one zone of every host is the common case).
      std::vector<bool> listed(topo_.hosts.size());
      for (const Field& h : hosts->items("host")) {
        auto id = hosts_.resolve(h);
        if (!id) continue;
        if (id->value >= listed.size()) listed.resize(id->value + 1);
        if (listed[id->value]) {
          h.error("host " + q(topo_.host(*id).name) + " is listed twice");
          continue;
        }
        listed[id->value] = true;
        zone.hosts.push_back(*id);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming the bridges.

void Loader::stream_start(const std::vector<std::pair<yaml::Node, yaml::Node>>& earlier,
                          std::size_t lines) {
  streamed_ = true;
  // The first value of each key, as the root MapReader will read it.
  auto section = [&](std::string_view key) {
    for (const auto& [k, v] : earlier) {
      if (k.is_scalar() && k.scalar() == key) return std::optional<yaml::Node>(v);
    }
    return std::optional<yaml::Node>();
  };
  if (auto hosts = section("hosts")) {
    declare_section(diags_, *hosts, topo_.hosts, hosts_);
    declared_early_.push_back("hosts");
  }
  if (auto chains = section("chains")) {
    declare_section(diags_, *chains, topo_.chains, chains_);
    declared_early_.push_back("chains");
  }
  if (auto groups = section("security_groups")) {
    declare_section(diags_, *groups, topo_.security_groups, security_groups_);
    declared_early_.push_back("security_groups");
  }
  // The number of ports is not known before the end: reserve room for a port a line of what is
  // left (a cloud writes a VM port a line). Room never written is never touched, so it costs
  // address space, not memory; a file with several ports a line grows the vector as usual.
  topo_.ports.reserve(lines);
  prefer_huge_pages(topo_.ports.data(), topo_.ports.capacity() * sizeof(Port));
}

void Loader::stream_bridge(const yaml::Node& item, std::size_t index) {
  const auto i = static_cast<std::uint32_t>(index);
  Bridge& bridge = topo_.bridges.emplace_back();
  bridge.loc = Diagnostics::loc_of(item);
  if (auto name = peek_name(item)) {
    bridge.name = *name;
    bridges_.declare(diags_, peek(item, "name"), *name, i);
  }
  declare_ports(item, DeviceKind::kBridge, i, bridge.ports);
  // As read_bridges would see it: the list's items are owned by the top level ("").
  read_bridge(index, Field(diags_, item, std::string(), "bridge"));
}

bool Loader::stream_traffic_start(const std::vector<std::pair<yaml::Node, yaml::Node>>& earlier,
                                  std::size_t lines) {
  if (!streamed_) return false;
  for (const auto& [k, v] : earlier) {
    if (!k.is_scalar() || k.scalar() != "routers") continue;
    // The routers (the first of the key, as the root MapReader reads it): declared after every
    // bridge port, as always, and read now, for a traffic source may name a router port.
    declare_section(diags_, v, topo_.routers, routers_);
    const auto routers = peek_items(v);
    std::size_t port_count = topo_.ports.size();
    for (const yaml::Node& device : routers)
      port_count += peek_items(peek(device, "ports")).size();
    topo_.ports.reserve(port_count);
    for (std::uint32_t i = 0; i < routers.size(); ++i)
      declare_ports(routers[i], DeviceKind::kRouter, i, topo_.routers[i].ports);
    read_routers(Field(diags_, v, std::string(), "routers"));
    routers_early_ = true;
    break;
  }
  streamed_traffic_ = true;
  // Room for a source a line of what is left: never touched unless used.
  s_.traffic.reserve(lines);
  return true;
}

void Loader::stream_traffic(const yaml::Node& item, std::size_t index) {
  Traffic& t = s_.traffic.emplace_back();
  t.loc = Diagnostics::loc_of(item);
  if (auto name = peek_name(item)) {
    t.name = *name;
    traffic_.declare(diags_, peek(item, "name"), *name, static_cast<std::uint32_t>(index));
  }
  read_traffic_item(index, Field(diags_, item, std::string(), "traffic"));
}

bool Loader::stream_valid(const yaml::Node& root) const {
  if (!streamed_ || !root.is_map()) return true;
  // Only the first occurrence of a key counts (a repeat is an error and ignored).
  std::vector<std::string_view> seen;
  bool after_bridges = false;
  bool after_traffic = false;
  for (const auto& [key, value] : root.entries()) {
    if (!key.is_scalar()) continue;
    const std::string_view name = key.scalar();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    if (name == "traffic") after_traffic = true;
    if (after_traffic && streamed_traffic_ && name == "routers") {
      return false;  // a source may have named a router port declared only later
    }
    if (name == "bridges") after_bridges = true;
    if (after_bridges && std::find(std::begin(kBridgeNeeds), std::end(kBridgeNeeds), name) !=
                             std::end(kBridgeNeeds)) {
      return false;  // a bridge may have named something declared only later
    }
  }
  return true;
}

LoadResult Loader::load(const yaml::Node& root) {
  const std::filesystem::path stem = std::filesystem::path(s_.file).stem();
  s_.name = stem.empty() ? "scenario" : stem.string();

  if (!root.is_map()) {
    diags_.error(root.is_defined() && !root.is_null() ? Diagnostics::loc_of(root) : SourceLoc{1, 1},
                 root.is_null() || !root.is_defined()
                     ? "the scenario is empty"
                     : "a scenario is a map of sections (name, hosts, bridges, ...)");
    return LoadResult{std::nullopt, diags_.take_sorted()};
  }
  MapReader top(diags_, root, "",
                {"name", "seed", "duration", "underlay", "nsdb", "hosts", "tunnel_zones", "chains",
                 "port_groups", "bridges", "routers", "security_groups", "floating_ips",
                 "load_balancers", "traffic", "failures", "expect", "limits"});
  declare(top);
  read_settings(top);
  // Sections in dependency order: failures need nsdb, chains' rule counts and pool members.
  const std::pair<std::string_view, void (Loader::*)(const Field&)> sections[] = {
      {"hosts", &Loader::read_hosts},
      {"tunnel_zones", &Loader::read_tunnel_zones},
      {"security_groups", &Loader::read_security_groups},
      {"port_groups", &Loader::read_port_groups},
      {"chains", &Loader::read_chains},
      {"bridges", &Loader::read_bridges},
      {"routers", &Loader::read_routers},
      {"floating_ips", &Loader::read_floating_ips},
      {"load_balancers", &Loader::read_load_balancers},
      {"traffic", &Loader::read_traffic},
      {"failures", &Loader::read_failures},
      {"expect", &Loader::read_expectations},
  };
  for (const auto& [key, reader] : sections) {
    if (key == "floating_ips") link_peers();  // every port has been read by now
    if ((key == "bridges" && streamed_) || (key == "routers" && routers_early_) ||
        (key == "traffic" && streamed_traffic_)) {
      continue;  // read while parsing
    }
    if (auto field = top.get(key)) (this->*reader)(*field);
  }
  if (!diags_.empty()) return LoadResult{std::nullopt, diags_.take_sorted()};
  return LoadResult{std::move(s_), {}};
}

}  // namespace scenario_loader

namespace {

/// Hands the bridges and the traffic to the loader while the document is parsed, and gives
/// back the pages of the text read so far (see load_text).
class StreamSink final : public yaml::ItemSink {
 public:
  StreamSink(scenario_loader::Loader& loader, std::string& text, bool release)
      : loader_(loader), text_(text), release_(release) {}

  bool start(std::string_view key,
             const std::vector<std::pair<yaml::Node, yaml::Node>>& earlier) override {
    // What is left of the text has not been given back yet: its lines bound the list's items
    // (a cloud writes one a line), to reserve room for them.
    const std::string_view left = std::string_view(text_).substr(std::min(read_to_, text_.size()));
    const auto lines = static_cast<std::size_t>(std::count(left.begin(), left.end(), '\n')) + 1;
    if (key == "bridges") {
      loader_.stream_start(earlier, lines);
      return true;
    }
    return loader_.stream_traffic_start(earlier, lines);
  }
  void item(std::string_view key, const yaml::Node& item, std::size_t index) override {
    if (key == "bridges") {
      loader_.stream_bridge(item, index);
    } else {
      loader_.stream_traffic(item, index);
    }
  }
  void consumed(std::size_t offset) override {
    read_to_ = offset;
    if (!release_) return;
    // Whole pages strictly inside the string's buffer (never the page of its allocation's
    // header): they read as zeros afterwards, and nothing reads them again. In pieces of at
    // least 256 KiB: one call per bridge or source would be thousands of system calls.
    constexpr std::uintptr_t kPiece = std::uintptr_t{256} << 10;
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto base = reinterpret_cast<std::uintptr_t>(text_.data());
    const std::uintptr_t from = std::max(released_, (base + page - 1) / page * page);
    const std::uintptr_t to = (base + std::min(offset, text_.size())) / page * page;
    if (to < from + kPiece) return;
    madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    released_ = to;
  }

 private:
  scenario_loader::Loader& loader_;
  std::string& text_;
  bool release_;
  std::uintptr_t released_ = 0;
  std::size_t read_to_ = 0;  // the text before it has been read
};

enum class Streaming {
  kNo,
  kKeepText,     // stream the bridges; the text stays whole
  kReleaseText,  // and give back its pages as the parse passes them (the caller can read the
                 // text again)
};

/// Loads `yaml`. Streamed, the bridges are read while the text is parsed, and with
/// kReleaseText the text's pages are given back as the parse passes them: the file's text, the
/// YAML tree of its bridges and the model are never alive together. Returns nullopt when the
/// file's order of sections did not allow streaming; the caller then loads the text (a fresh
/// copy of it after kReleaseText) again, kNo.
std::optional<LoadResult> load_text(std::string& yaml, const std::string& file_name,
                                    const std::string& dir, Streaming streaming) {
  // YAML is Unicode text; libfyaml 0.8 loops forever on some bytes that are not UTF-8 (a
  // directive line "%\xa7", found by fuzz_scenario) and drops the rest of a file after one in a
  // comment, so the text is checked first.
  if (const std::size_t bad = first_invalid_utf8(yaml); bad != std::string_view::npos) {
    const std::string_view before = std::string_view(yaml).substr(0, bad);
    const std::size_t line_start = before.rfind('\n');  // npos on the first line
    const std::size_t column = line_start == std::string_view::npos ? bad : bad - line_start - 1;
    const auto line = 1 + std::count(before.begin(), before.end(), '\n');
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(yaml[bad]));
    return LoadResult{
        std::nullopt,
        {Diagnostic{
            file_name, static_cast<std::uint32_t>(line), static_cast<std::uint32_t>(column + 1),
            std::string("not UTF-8 text (byte ") + byte + "): a scenario is a UTF-8 YAML file"}}};
  }
  try {
    yaml::SyntaxError syntax;
    scenario_loader::Loader loader(file_name, dir);
    std::unique_ptr<yaml::Document> doc;
    if (streaming != Streaming::kNo) {
      StreamSink sink(loader, yaml, streaming == Streaming::kReleaseText);
      doc = yaml::Document::parse_stream(yaml, {"bridges", "traffic"}, sink, syntax);
    } else {
      doc = yaml::Document::parse(std::move(yaml), syntax);
    }
    if (!doc) {
      return LoadResult{std::nullopt,
                        {Diagnostic{file_name, syntax.at.line + 1, syntax.at.column + 1,
                                    "YAML syntax: " + syntax.message}}};
    }
    if (!loader.stream_valid(doc->root())) return std::nullopt;
    return loader.load(doc->root());
  } catch (const std::exception& e) {
    // Out of memory, or a bug in the schema walker: still no throw out of the loader.
    return LoadResult{std::nullopt,
                      {Diagnostic{file_name, 0, 0, std::string("internal error: ") + e.what()}}};
  }
}

/// Reads the scenario file at `path` into `text`; a refusal (unreadable, too large, binary) is
/// returned as the load's result.
std::optional<LoadResult> read_file(const std::string& path, std::string& text, bool& regular) {
  // Hostile input (SPEC section 10): a scenario is a text file of bounded size. /dev/zero, a
  // binary file or an endless pipe is refused before any YAML parsing.
  // The cap leaves room for the largest clouds a user models (100,000 hosts: ~130 MB of YAML).
  constexpr std::size_t kMaxScenarioBytes = std::size_t{1} << 30;
  auto refuse = [&path](std::uint32_t line, const std::string& message) {
    return LoadResult{std::nullopt, {Diagnostic{path, line, line == 0 ? 0u : 1u, message}}};
  };
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec)) {
    return refuse(0, "cannot read the scenario file");
  }
  text.clear();
  regular = std::filesystem::is_regular_file(path, ec);
  // Sized once from the file's size when it has one (a pipe grows it as it reads): appending
  // piece by piece would leave up to half of a large scenario's string unused.
  if (const auto size = std::filesystem::file_size(path, ec); !ec && size <= kMaxScenarioBytes) {
    text.reserve(static_cast<std::size_t>(size));
  }
  // Read in large pieces straight into one string: a stringstream would hold the text twice.
  std::vector<char> piece(1 << 20);
  char* const buffer = piece.data();
  while (in) {
    in.read(buffer, static_cast<std::streamsize>(piece.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (text.size() + got > kMaxScenarioBytes) {
      return refuse(0, "the scenario file is larger than 1 GiB");
    }
    if (std::memchr(buffer, '\0', got) != nullptr) {
      const auto nul = static_cast<std::size_t>(
          static_cast<const char*>(std::memchr(buffer, '\0', got)) - buffer);
      text.append(buffer, nul);
      const auto line = 1 + std::count(text.begin(), text.end(), '\n');
      return refuse(static_cast<std::uint32_t>(line),
                    "a NUL byte: the scenario is not a text (YAML) file");
    }
    text.append(buffer, got);
  }
  if (in.bad()) return refuse(0, "cannot read the scenario file");
  return std::nullopt;
}

}  // namespace

LoadResult load_scenario_text(std::string_view yaml, const std::string& file_name,
                              const std::string& dir) {
  std::string text(yaml);
  if (auto result = load_text(text, file_name, dir, Streaming::kReleaseText)) {
    return std::move(*result);
  }
  text.assign(yaml);  // the streamed load gave back its pages
  return std::move(*load_text(text, file_name, dir, Streaming::kNo));
}

LoadResult load_scenario(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  std::string text;
  bool regular = false;
  if (auto refused = read_file(path, text, regular)) return std::move(*refused);
  // A regular file can be read again; a pipe's text is kept whole.
  const Streaming streaming = regular ? Streaming::kReleaseText : Streaming::kKeepText;
  if (auto result = load_text(text, path, dir, streaming)) return std::move(*result);
  // The file names something before declaring it: load it again, whole.
  if (regular) {
    if (auto refused = read_file(path, text, regular)) return std::move(*refused);
  }
  return std::move(*load_text(text, path, dir, Streaming::kNo));
}
}  // namespace hivesim
