#include <iostream>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"

namespace hivesim::cli {

int sweep_command(const std::vector<std::string>&, std::ostream&, std::ostream& err) {
  err << "hivesim sweep: error: not implemented yet\n";
  return kExitBadInput;
}

}  // namespace hivesim::cli
