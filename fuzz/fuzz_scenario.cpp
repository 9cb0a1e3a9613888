// libFuzzer target: the scenario loader (topology/load/loader, SPEC section 4). Any text: either
// diagnostics with a message each, or a scenario. Relative pcap paths resolve against a folder
// that does not exist, so no file is read.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "topology/load/loader.hpp"

using namespace hivesim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = load_scenario_text(text, "fuzz.yaml", "/nonexistent-hivesim-fuzz");
  if (r.scenario.has_value() == !r.errors.empty()) std::abort();
  for (const Diagnostic& d : r.errors) {
    if (d.message.empty()) std::abort();
  }
  return 0;
}
