// Messages about hostile values are short (SPEC section 10): a 1 MB value in a packet spec, a
// scenario or a name is echoed as at most 60 characters and "…" (base/excerpt.hpp), so an
// error is one readable line, not a megabyte on the terminal or in a CI log.

#include <catch2/catch.hpp>

#include <string>

#include "tests/hostile/child_process.hpp"

namespace {

using hivesim::testing::Outcome;
using hivesim::testing::run;
using hivesim::testing::slurp;
using hivesim::testing::TempDir;

const std::string kDemo = HIVESIM_TEST_DATA "/hostile/demo.yaml";
const std::string kEllipsis = "\u2026";

void check_short(const Outcome& o, const std::string& expected) {
  INFO("exit " << o.code << ", stderr (first 500 bytes): " << o.err.substr(0, 500));
  CHECK(o.code == 2);
  CHECK(o.err.size() < 2000);
  CHECK(o.err.find(expected) != std::string::npos);
}

}  // namespace

TEST_CASE("hostile: a 100 KB --packet value is echoed as 60 characters") {
  TempDir dir;
  const std::string value(100'000, '7');
  check_short(
      run(dir, {"trace", kDemo, "--from", "vm1", "--packet", "tcp dst=10.0.2.30 dport=" + value}),
      "bad value for dport: '" + std::string(60, '7') + kEllipsis + "'");
  check_short(run(dir, {"trace", kDemo, "--from", "vm1", "--packet", "tcp " + value + "=1"}),
              "unknown key '" + std::string(60, '7') + kEllipsis + "'");
}

TEST_CASE("hostile: 1 MB values and names in a scenario are echoed as 60 characters") {
  TempDir dir;
  const std::string mega(1 << 20, 'z');
  std::string yaml = slurp(kDemo);
  SECTION("a packet-spec value in an expectation") {
    yaml += "  - {name: mega, from: vm1, packet: \"tcp dst=10.0.2.30 dport=" + mega +
            "\", verdict: dropped}\n";
    check_short(run(dir, {"check", dir.write("s.yaml", yaml)}),
                "'" + std::string(60, 'z') + kEllipsis + "'");
  }
  SECTION("an unknown host name") {
    const auto at = yaml.find("host: hv1");
    REQUIRE(at != std::string::npos);
    yaml.replace(at, 9, "host: " + mega);
    check_short(run(dir, {"check", dir.write("s.yaml", yaml)}),
                "unknown host '" + std::string(60, 'z') + kEllipsis + "'");
  }
}
