#pragma once
// Calls a CLI subcommand in-process and keeps what it returned and printed; reads a file whole.
// Shared by the CLI tests that drive several commands (what-if and its outputs).

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hivesim::testing {

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

/// `command(args, out, err)`, e.g. cli::diff_command.
template <class F>
Run call(F command, const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  Run r;
  r.code = command(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

/// The whole file, or "" when it cannot be opened.
inline std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace hivesim::testing
