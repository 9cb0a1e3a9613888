#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/importer/neutron_import.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim import neutron DUMP.json [--hypervisors FILE] [--gateway-host NAME]\n"
    "                              -o SCENARIO.yaml\n"
    "\n"
    "Turns a Neutron cloud into a scenario as MidoNet's Neutron plugin would configure it.\n"
    "DUMP.json is one JSON object whose keys are Neutron API collections (networks, subnets,\n"
    "ports, routers, floatingips, security_groups; optionally Octavia's loadbalancers,\n"
    "listeners, pools, healthmonitors), each the list GET /v2.0/<collection> returns\n"
    "(scripts/fetch-neutron-dump.sh makes one). What cannot be represented is a warning on\n"
    "stderr. Bad input exits 2 naming the collection, index, id and field, and writes nothing.\n";

/// The whole file, or nullopt when it cannot be read.
std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

}  // namespace

int import_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("import options");
  options.add_options()("help,h", "show this help")(
      "hypervisors", po::value<std::string>(),
      "JSON of `openstack hypervisor list --long -f json` or the API's {\"hypervisors\": [...]}")(
      "gateway-host", po::value<std::string>(),
      "host of the external networks' uplink ports (default: the first host by name)")(
      "output,o", po::value<std::string>(), "the scenario file to write");
  po::options_description all;
  all.add(options).add_options()("kind", po::value<std::string>(), "")(
      "dump", po::value<std::string>(), "");
  po::positional_options_description positional;
  positional.add("kind", 1).add("dump", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "hivesim import: error: " << e.what() << "\n" << kUsage;
    return kExitBadInput;
  }
  if (vm.count("help")) {
    out << kUsage << "\n" << options;
    return kExitOk;
  }
  if (!vm.count("kind") || vm["kind"].as<std::string>() != "neutron") {
    err << "hivesim import: error: the only source is 'neutron' (hivesim import neutron "
           "DUMP.json -o SCENARIO.yaml)\n";
    return kExitBadInput;
  }
  if (!vm.count("dump") || !vm.count("output")) {
    err << "hivesim import: error: missing DUMP.json or -o SCENARIO.yaml (see hivesim import "
           "--help)\n";
    return kExitBadInput;
  }
  const std::string dump_path = vm["dump"].as<std::string>();
  const auto dump = slurp(dump_path);
  if (!dump) {
    err << "hivesim import: error: cannot read " << dump_path << "\n";
    return kExitBadInput;
  }
  neutron::ImportOptions opts;
  opts.dump_name = std::filesystem::path(dump_path).stem().string();
  if (vm.count("hypervisors")) {
    const std::string path = vm["hypervisors"].as<std::string>();
    auto text = slurp(path);
    if (!text) {
      err << "hivesim import: error: cannot read " << path << "\n";
      return kExitBadInput;
    }
    opts.hypervisors_json = std::move(*text);
    if (opts.hypervisors_json.empty()) opts.hypervisors_json = " ";
  }
  if (vm.count("gateway-host")) opts.gateway_host = vm["gateway-host"].as<std::string>();
  const auto result = neutron::import_neutron(*dump, opts);
  if (!result) {
    err << dump_path << ": error: " << result.error() << "\n";
    return kExitBadInput;
  }
  for (const std::string& w : result->warnings)
    err << dump_path << ": warning: " << w << "\n";
  if (Status failed = write_file_atomically(vm["output"].as<std::string>(), result->yaml);
      !failed.ok()) {
    err << "hivesim import: error: " << failed.error() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace hivesim::cli
