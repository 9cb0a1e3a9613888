#pragma once
// `hivesim import neutron`: a Neutron cloud (the JSON of the Neutron and Octavia list APIs) turned
// into a hivesim scenario as MidoNet's Neutron plugin would have configured it (SPEC section 8).
//
// Two steps. read_dump() checks the JSON and turns it into plain records (neutron_dump.hpp): a
// wrong type, a duplicate id or a reference to an unknown network, subnet, router, group, port
// or pool is an error naming the collection, the index, the id and the field. translate() maps
// the records to scenario YAML: bridges with their subnets, VM ports with port security and
// security groups, routers with the NAT chains the translation builds, floating IPs, Octavia
// load balancers; what it cannot represent becomes a warning, never a silent drop.
// Invariants: the output is a function of the input alone (objects are emitted in dump order,
// hosts by name), and `hivesim check` accepts it. Cost: linear in the dump, plus a sort of the
// hosts; no I/O (the command reads and writes the files).

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace hivesim::neutron {

struct ImportOptions {
  std::string dump_name = "neutron";  // the scenario's name
  std::string hypervisors_json;       // empty: no hypervisor list
  std::string gateway_host;           // empty: the first host by name
};

struct ImportOutput {
  std::string yaml;
  std::vector<std::string> warnings;  // one line each, without a prefix
};

/// Imports the dump `json` (the text of DUMP.json). Errors name the place in the dump
/// ("ports[3] (id 5e1c...): field 'network_id': unknown network '77aa...'").
Result<ImportOutput> import_neutron(std::string_view json, const ImportOptions& options);

}  // namespace hivesim::neutron
