#pragma once
// Loading and validating a scenario file (SPEC section 4); libfyaml reads the YAML (yaml_doc.hpp).
//
// The loader reads the whole file, checks every key against the schema and every reference
// against the declared names, and either returns a complete Scenario (all references resolved
// to ids, see topology/model.hpp) or the full list of problems, each with file:line:col. It
// never stops at the first problem, never throws, and never returns a half-built Scenario.
//
// Memory: a cloud's file is mostly its `bridges` (every VM port) and `traffic` lists. These are
// streamed: each item is declared and read as soon as it is parsed, then its YAML nodes are
// dropped and the text before it is given back to the system, so the text, the tree and the
// model are never alive together (peak ~3.8x the file at 10,000 hosts, of which ~11 MiB is the
// process itself). A file that names something in a bridge (a traffic source) before the
// section declaring it (hosts, chains, security groups; routers) is read again as a whole, with
// the same result. Cost: O(file), 1.7-1.9x the CPU of libfyaml's event parser alone.

#include <string>
#include <string_view>
#include <vector>

#include "topology/model.hpp"

namespace hivesim {

/// One problem in a scenario file; `str()` is "FILE:LINE:COL: error: MESSAGE".
struct Diagnostic {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t col = 0;
  std::string message;

  std::string str() const;
};

struct LoadResult {
  std::optional<Scenario> scenario;  // set iff errors is empty
  std::vector<Diagnostic> errors;
};

/// Reads and validates the scenario at `path`. Unreadable files and YAML syntax errors are
/// reported as diagnostics like any other problem.
LoadResult load_scenario(const std::string& path);

/// Same, from text; `file_name` is used in diagnostics and `dir` for relative paths.
LoadResult load_scenario_text(std::string_view yaml, const std::string& file_name,
                              const std::string& dir = ".");

}  // namespace hivesim
