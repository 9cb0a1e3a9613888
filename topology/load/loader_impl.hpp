#pragma once
// Internal to the topology library: the scenario loader's machinery, shared by loader.cpp
// (entry points, names, settings, hosts), loader_rules.cpp (chains, security and port groups),
// loader_devices.cpp (bridges, routers, ports, links, NAT, load balancers) and loader_run.cpp
// (traffic, failures, expectations).
//
// The Loader walks a parsed YAML document in two passes. Pass 1 (declare) sizes every object
// vector from the document and registers every name, so references may point forward and ids
// are fixed before anything is read: an object's id is its position in its section (ports:
// bridge ports first, then router ports; pools and VIPs in load-balancer order). Pass 2 reads
// every object, resolving references through the name tables. Every problem goes to one
// Diagnostics sink; the Scenario is handed out only if there were none.

#include "topology/load/yaml_doc.hpp"

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/excerpt.hpp"
#include "topology/load/loader.hpp"
#include "topology/load/yaml_schema.hpp"
#include "topology/model.hpp"

namespace hivesim::scenario_loader {

using yaml_schema::Diagnostics;
using yaml_schema::Field;
using yaml_schema::MapReader;

inline constexpr std::uint64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

/// If `key` is present in `m` and `conv` accepts it, stores the value into `out`.
template <class T, class Conv, class... A>
bool read(const MapReader& m, std::string_view key, T& out, Conv conv, A&&... args) {
  auto field = m.get(key);
  if (!field) return false;
  auto value = std::invoke(conv, *field, std::forward<A>(args)...);
  if (!value) return false;
  out = static_cast<T>(*value);
  return true;
}

/// Same, for a key that must be present.
template <class T, class Conv, class... A>
bool read_required(const MapReader& m, std::string_view key, T& out, Conv conv, A&&... args) {
  if (!m.require(key)) return false;
  return read(m, key, out, conv, std::forward<A>(args)...);
}

/// "bridge 'web'" for a named object, "bridges[2]" when the name is missing.
inline std::string label(std::string_view kind, const std::string& name, std::string_view section,
                         std::size_t index) {
  if (!name.empty()) return std::string(kind) + " '" + name + "'";
  return std::string(section) + "[" + std::to_string(index) + "]";
}
/// A name or value quoted for a message, shortened if long (base/excerpt.hpp).
inline std::string q(std::string_view name) {
  return quote_excerpt(name);
}

/// Names of one kind of object (hosts, ports, ...), for resolving references to ids.
///
/// A cloud declares a million ports: each name is kept once, in one arena, with its id and the
/// line of its declaration (16 bytes), and a flat hash set of entry numbers finds it (4 bytes a
/// slot); about 30 bytes a name besides its text, where a map of strings took ~120.
template <class IdT>
class NameTable {
 public:
  explicit NameTable(std::string kind) : kind_(std::move(kind)), index_(0, Hash{this}, Eq{this}) {}
  NameTable(const NameTable&) = delete;  // the index's functors point at this table
  NameTable& operator=(const NameTable&) = delete;

  /// Declares `name` (read from `node`) as object `index`; a repeat is reported where it occurs.
  void declare(Diagnostics& diags, const yaml::Node& node, std::string_view name,
               std::uint32_t index) {
    const SourceLoc here = Diagnostics::loc_of(node);
    // Added first and taken back if the name was there: one hash and probe, not two.
    entries_.push_back(Entry{static_cast<std::uint32_t>(arena_.size()),
                             static_cast<std::uint32_t>(name.size()), index, here.line});
    arena_.append(name);
    if (auto [it, inserted] = index_.insert(static_cast<std::uint32_t>(entries_.size() - 1));
        !inserted) {
      const std::uint32_t first_line = entries_[*it].line;
      arena_.resize(entries_.back().offset);
      entries_.pop_back();
      diags.error(here, "duplicate " + kind_ + " name " + q(name) + " (first defined at line " +
                            std::to_string(first_line) + ")");
    }
  }

  std::optional<IdT> find(std::string_view name) const {
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return IdT(entries_[*it].id);
  }

  /// Resolves the name written in `field`, reporting "unknown KIND 'x'".
  std::optional<IdT> resolve(const Field& field) const {
    auto name = field.text_view();
    if (!name) return std::nullopt;
    auto id = find(*name);
    if (!id) field.error(unknown(*name));
    return id;
  }

  /// "unknown KIND 'x' (did you mean 'y'?)".
  std::string unknown(std::string_view name) const {
    return "unknown " + kind_ + " " + q(name) + yaml_schema::did_you_mean(name, names());
  }

  /// The declared names in order (built when first asked for: only messages need it).
  const std::vector<std::string>& names() const {
    if (names_.size() != entries_.size()) {
      names_.clear();
      names_.reserve(entries_.size());
      for (const Entry& e : entries_)
        names_.emplace_back(name_of(e));
    }
    return names_;
  }

 private:
  struct Entry {
    std::uint32_t offset;  // in arena_
    std::uint32_t length;
    std::uint32_t id;
    std::uint32_t line;  // of the declaration, for "first defined at line N"
  };
  std::string_view name_of(const Entry& e) const {
    return std::string_view(arena_).substr(e.offset, e.length);
  }
  std::string_view name_of(std::uint32_t entry) const { return name_of(entries_[entry]); }
  // The set holds entry numbers; looked up by name (heterogeneous lookup).
  struct Hash {
    using is_transparent = void;
    const NameTable* table;
    std::size_t operator()(std::string_view name) const {
      return absl::Hash<std::string_view>{}(name);
    }
    std::size_t operator()(std::uint32_t entry) const {
      return absl::Hash<std::string_view>{}(table->name_of(entry));
    }
  };
  struct Eq {
    using is_transparent = void;
    const NameTable* table;
    std::string_view view(std::string_view name) const { return name; }
    std::string_view view(std::uint32_t entry) const { return table->name_of(entry); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return view(a) == view(b);
    }
  };

  std::string kind_;
  std::string arena_;
  std::vector<Entry> entries_;
  absl::flat_hash_set<std::uint32_t, Hash, Eq> index_;
  mutable std::vector<std::string> names_;
};

/// A `peer:` as written, resolved and linked up once every port has been declared and read
/// (a streamed bridge's port may name a router port declared after it). It keeps no YAML node:
/// the node may be gone by then.
struct PeerDecl {
  PortId port;
  std::string target;
  SourceLoc loc;
  std::shared_ptr<const std::string> owner;

  /// Reports "OWNER: MESSAGE" at the peer's value, as Field::error would.
  void error(Diagnostics& diags, std::string_view message) const {
    diags.error(loc, owner->empty() ? std::string(message) : *owner + ": " + std::string(message));
  }
};

/// Whether an action is one of the four NAT kinds (which accept `then:`).
bool is_nat(ActionKind kind);

/// Walks a parsed YAML document in two passes: the first declares every name (so references
/// may point forward), the second reads every object and resolves its references.
class Loader {
 public:
  Loader(const std::string& file, std::string dir) : diags_(file) {
    s_.file = file;
    s_.dir = std::move(dir);
  }
  Loader(const Loader&) = delete;  // topo_ refers into s_
  Loader& operator=(const Loader&) = delete;

  LoadResult load(const yaml::Node& root);

  // Streaming (yaml_doc.hpp): the items of `bridges` are declared and read while the document
  // is parsed, each dropped once read.
  /// The bridges list starts: the sections a bridge refers to (hosts, chains, security groups)
  /// are declared from the entries before it; room for a port a line of the `lines` left.
  void stream_start(const std::vector<std::pair<yaml::Node, yaml::Node>>& earlier,
                    std::size_t lines);
  /// Declares and reads one bridge and its ports.
  void stream_bridge(const yaml::Node& item, std::size_t index);
  /// The traffic list starts. It is streamed only after streamed bridges: what a source names
  /// must be declared and read by then (the routers before it are, here). False: not streamed.
  bool stream_traffic_start(const std::vector<std::pair<yaml::Node, yaml::Node>>& earlier,
                            std::size_t lines);
  /// Declares and reads one traffic source.
  void stream_traffic(const yaml::Node& item, std::size_t index);
  /// Whether the streamed reading saw what a whole-document load sees: every section a bridge
  /// refers to came before the bridges, and the routers before streamed traffic. If not, the
  /// caller loads again without streaming.
  bool stream_valid(const yaml::Node& root) const;

  /// The root map's sections a streamed bridge needs declared before it.
  static constexpr std::string_view kBridgeNeeds[] = {"hosts", "chains", "security_groups"};

 private:
  void declare(const MapReader& top);
  void read_settings(const MapReader& top);
  void read_hosts(const Field& list);
  void read_tunnel_zones(const Field& list);
  void read_security_groups(const Field& list);
  void read_port_groups(const Field& list);
  void read_chains(const Field& list);
  Condition read_match(const Field& field, const std::string& owner);
  std::optional<Action> read_action(const Field& field, const std::string& owner);
  std::optional<NatTarget> read_nat(const Field& field, const std::string& owner);
  void read_bridges(const Field& list);
  void read_bridge(std::size_t index, const Field& item);
  void declare_ports(const yaml::Node& device, DeviceKind kind, std::uint32_t index,
                     std::vector<PortId>& device_ports);
  void read_routers(const Field& list);
  void read_port(PortId id, const Field& item, const std::string& device, std::size_t index);
  void read_routes(RouterId router, const Field& list);
  std::vector<ArpEntry> read_arp_table(const Field& field);
  std::vector<AddressPair> read_address_pairs(const Field& list);
  std::vector<Subnet> read_subnets(const Field& list);
  void link_peers();
  void read_floating_ips(const Field& list);
  void read_load_balancers(const Field& list);
  void read_pool(PoolId id, const Field& item);
  void read_vip(VipId id, const Field& item);
  void read_traffic(const Field& list);
  void read_traffic_item(std::size_t index, const Field& item);
  void read_failures(const Field& list);
  bool read_failure_kind(Failure& f, const Field& field);
  void read_expectations(const Field& list);
  // The four expectation forms; each also derives a readable name into `name`.
  ExpectTrace read_expect_trace(const MapReader& m, std::string& name);
  ExpectLb read_expect_lb(const MapReader& m, std::string& name);
  ExpectTraffic read_expect_traffic(const MapReader& m, std::string& name);
  ExpectDrops read_expect_drops(const MapReader& m, std::string& name);

  std::optional<ChainId> read_chain_ref(const MapReader& m, std::string_view key) {
    auto field = m.get(key);
    return field ? chains_.resolve(*field) : std::nullopt;
  }
  /// A port where traffic enters the overlay: it must be bound to a host.
  std::optional<PortId> read_exterior_port(const Field& field);

  Diagnostics diags_;
  Scenario s_;
  Topology& topo_ = s_.topology;

  NameTable<HostId> hosts_{"host"};
  NameTable<TunnelZoneId> tunnel_zones_{"tunnel zone"};
  NameTable<ChainId> chains_{"chain"};
  NameTable<SecurityGroupId> security_groups_{"security group"};
  NameTable<PortGroupId> port_groups_{"port group"};
  NameTable<BridgeId> bridges_{"bridge"};
  NameTable<RouterId> routers_{"router"};
  NameTable<PortId> ports_{"port"};
  NameTable<LoadBalancerId> load_balancers_{"load balancer"};
  NameTable<PoolId> pools_{"pool"};
  NameTable<VipId> vips_{"vip"};
  NameTable<TrafficId> traffic_{"traffic"};

  std::vector<PeerDecl> peers_;

  bool streamed_ = false;          // the bridges were read while parsing
  bool routers_early_ = false;     // the routers were declared and read before the traffic
  bool streamed_traffic_ = false;  // the traffic was read while parsing
  std::vector<std::string_view> declared_early_;  // sections declared at the stream's start
};

}  // namespace hivesim::scenario_loader
