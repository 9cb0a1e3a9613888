// The loader's messages echo values through excerpt() (base/excerpt.hpp): short, one line, valid
// UTF-8; and a scenario that is not UTF-8 is refused before libfyaml sees it (SPEC section 10).

#include <catch2/catch.hpp>

#include <string>

#include "base/excerpt.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

bool valid_utf8(const std::string& s) {
  return first_invalid_utf8(s) == std::string_view::npos;
}

const std::string kEllipsis = "\u2026";

}  // namespace

TEST_CASE("Loader: a non-ASCII value is echoed as valid UTF-8") {
  // 20 euro signs, 60 bytes: the old quoted() cut at byte 37, inside the 13th sign.
  std::string euros;
  for (int i = 0; i < 20; ++i)
    euros += "\u20ac";
  const LoadResult r = load_scenario_text(
      "hosts: [{name: hv1, ip: 192.168.0.1}]\nbridges:\n  - name: b\n    ports:\n"
      "      - {name: vm1, host: hv1, ip: \"" +
          euros + "\"}\n",
      "scen.yaml");
  REQUIRE(r.errors.size() == 1);
  const std::string message = r.errors[0].str();
  CHECK(valid_utf8(message));
  CHECK(message.find("'" + euros + "'") != std::string::npos);  // 20 characters: shown whole
}

TEST_CASE("Loader: a 1 MB name is echoed as 60 characters, without a slow suggestion") {
  const std::string mega(1 << 20, 'x');
  const LoadResult r = load_scenario_text(
      "hosts: [{name: hv1, ip: 192.168.0.1}]\nbridges:\n  - name: b\n    ports:\n"
      "      - {name: vm1, host: " +
          mega + ", ip: 10.0.0.1}\n",
      "scen.yaml");
  REQUIRE(r.errors.size() == 1);
  const std::string message = r.errors[0].str();
  CHECK(message.size() < 300);
  CHECK(message.find("'" + std::string(60, 'x') + kEllipsis + "'") != std::string::npos);
}

TEST_CASE("Loader: a scenario that is not UTF-8 is refused before YAML parsing, with its place") {
  // "%" and a byte that is not UTF-8: libfyaml 0.8 looped forever on it (found by
  // fuzz_scenario: fuzz/corpus/fuzz_scenario/hang-libfyaml-directive-not-utf8.yaml).
  const LoadResult directive = load_scenario_text("%\xa7\n", "scen.yaml");
  REQUIRE(directive.errors.size() == 1);
  CHECK(directive.errors[0].str() ==
        "scen.yaml:1:2: error: not UTF-8 text (byte 0xA7): a scenario is a UTF-8 YAML file");
  // In a comment, libfyaml dropped the rest of the file ("the scenario is empty").
  const LoadResult comment = load_scenario_text("# caf\xe9\nname: x\n", "scen.yaml");
  REQUIRE(comment.errors.size() == 1);
  CHECK(comment.errors[0].str().rfind("scen.yaml:1:6: error: not UTF-8 text (byte 0xE9)", 0) == 0);
  const LoadResult later = load_scenario_text("name: x\nhosts: [\xff]\n", "scen.yaml");
  REQUIRE(later.errors.size() == 1);
  CHECK(later.errors[0].line == 2);
  CHECK(later.errors[0].col == 9);
}
