#include "sim/importer/neutron_import.hpp"

#include "sim/importer/translator.hpp"

namespace hivesim::neutron {

Result<ImportOutput> import_neutron(std::string_view json, const ImportOptions& options) {
  auto dump = read_dump(json, options.hypervisors_json);
  if (!dump) return Error{dump.error()};
  try {
    detail::Translator t(*dump, options);
    return t.run();
  } catch (const detail::Translator::ImportError& e) {
    return Error{e.message};
  }
}

}  // namespace hivesim::neutron
