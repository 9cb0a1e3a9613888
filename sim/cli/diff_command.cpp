#include <iostream>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"

namespace hivesim::cli {

int diff_command(const std::vector<std::string>&, std::ostream&, std::ostream& err) {
  err << "hivesim diff: error: not implemented yet\n";
  return kExitBadInput;
}

}  // namespace hivesim::cli
