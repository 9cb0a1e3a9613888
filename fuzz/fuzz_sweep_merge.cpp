// libFuzzer target: `hivesim sweep --merge PART.json...` (sim/whatif, SPEC section 7). The
// input is one or more partial reports separated by NUL bytes. A partial report carries a
// digest of its content (a self-check, not a seal: anyone can write a matching one), so when a
// part is a JSON object the target writes the right digest into it; otherwise nearly every
// mutation would stop at the digest check. Then, as the command does: merge, and on success
// print the report as JSON and as text and compute the exit status. Whatever the parts, this
// ends in a result or an error with a message (no exception, no hang).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/whatif/sweep.hpp"

using namespace hivesim;

namespace {

/// The partial report's digest (FNV-1a, 64 bits, 16 hex digits; sim/whatif/sweep.cpp).
std::string fnv1a(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string with_digest(std::string_view part) {
  nlohmann::ordered_json doc =
      nlohmann::ordered_json::parse(part.begin(), part.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("digest")) {
    return std::string(part);
  }
  doc.erase("digest");
  const std::string sum = fnv1a(doc.dump());
  doc["digest"] = sum;
  return doc.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> names;
  std::vector<std::string> texts;
  while (names.size() < 16) {
    const std::size_t nul = input.find('\0');
    names.push_back("part" + std::to_string(names.size() + 1) + ".json");
    texts.push_back(with_digest(input.substr(0, nul)));
    if (nul == std::string_view::npos) break;
    input.remove_prefix(nul + 1);
  }
  const auto merged = whatif::merge_partials(names, texts);
  if (!merged) {
    if (merged.error().empty()) std::abort();
    return 0;
  }
  // What `sweep --merge` prints and returns (sim/cli/sweep_command.cpp write_and_print).
  const std::string json = merged->dump(2);
  const std::string text = whatif::sweep_text(*merged);
  if (json.empty() || text.empty()) std::abort();
  (void)whatif::sweep_regressed(*merged);
  return 0;
}
