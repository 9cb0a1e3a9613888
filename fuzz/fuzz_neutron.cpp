// libFuzzer target: `hivesim import neutron` (sim/importer, SPEC section 8). The input is a
// Neutron dump (JSON), optionally followed by a NUL byte and a hypervisor list (JSON). The
// import either fails with a message, or gives scenario YAML that the scenario loader accepts
// without an error (the importer's promise: `hivesim check` accepts what it writes), and a
// second import of the same input gives the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sim/importer/neutron_import.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  neutron::ImportOptions options;
  options.dump_name = "fuzz";
  if (nul != std::string_view::npos) options.hypervisors_json = input.substr(nul + 1);
  const std::string_view dump = input.substr(0, nul);
  const auto imported = neutron::import_neutron(dump, options);
  if (!imported) {
    if (imported.error().empty()) std::abort();
    return 0;
  }
  for (const std::string& w : imported->warnings) {
    if (w.empty()) std::abort();
  }
  const LoadResult loaded =
      load_scenario_text(imported->yaml, "imported.yaml", "/nonexistent-hivesim-fuzz");
  if (!loaded.scenario) {
    std::fprintf(stderr, "the imported scenario does not load:\n%s\n--- first error: %s\n",
                 imported->yaml.c_str(), loaded.errors.at(0).str().c_str());
    std::abort();
  }
  const auto again = neutron::import_neutron(dump, options);
  if (!again || again->yaml != imported->yaml) std::abort();
  return 0;
}
