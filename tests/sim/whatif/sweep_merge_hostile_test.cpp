// sweep --merge on partial reports from outside (SPEC section 10): a partial's digest is a
// self-check anyone can recompute, so a hostile part can carry a valid one. Each case here was
// a hang, an exception or undefined behaviour in merge_partials() / sweep_text() before the
// merge checked the types and counted the shard's variants without a loop.

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/whatif/sweep.hpp"

using namespace hivesim;
using namespace hivesim::whatif;
using Json = nlohmann::ordered_json;

namespace {

/// The digest a partial carries (FNV-1a 64 of its dump without "digest", as 16 hex digits).
std::string sealed(Json doc) {
  doc.erase("digest");
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : doc.dump()) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  doc["digest"] = buf;
  return doc.dump();
}

/// A well-formed one-shard partial with one variant.
Json partial() {
  return Json{{"scenario", "s"},
              {"seed", 1},
              {"fail", {"host"}},
              {"at_ns", 1000},
              {"for_ns", nullptr},
              {"baseline", {{"delivered_fraction", 1.0}, {"expectations_failed", Json::array()}}},
              {"partial", {{"shard", 1}, {"of", 1}, {"variants_total", 1}}},
              {"variants",
               {{{"index", 0},
                 {"name", "host hv1"},
                 {"packets_lost", 3},
                 {"delivered_fraction", 0.5},
                 {"recovered_after_ns", nullptr},
                 {"expectations_failed", {"reach"}}}}}};
}

Result<Json> merge_one(const Json& doc) {
  return merge_partials({"part.json"}, {sealed(doc)});
}

}  // namespace

TEST_CASE("sweep merge: a hand-written partial with a valid digest merges") {
  const auto merged = merge_one(partial());
  REQUIRE(merged);
  CHECK(sweep_text(*merged).find("host hv1") != std::string::npos);
  CHECK(sweep_regressed(*merged));
}

TEST_CASE("sweep merge: an enormous variants_total is refused at once, not counted") {
  Json doc = partial();
  doc["partial"]["variants_total"] = 4'000'000'000'000'000'000ULL;  // was a loop of 4e18
  const auto merged = merge_one(doc);
  REQUIRE_FALSE(merged);
  CHECK(merged.error().find("1 variants, expected 4000000000000000000") != std::string::npos);
}

TEST_CASE("sweep merge: wrong types in a sealed partial are an error, not an exception") {
  struct Case {
    const char* what;
    void (*edit)(Json&);
  };
  const Case cases[] = {
      {"packets_lost a string", [](Json& d) { d["variants"][0]["packets_lost"] = "3"; }},
      {"packets_lost 1e300", [](Json& d) { d["variants"][0]["packets_lost"] = 1e300; }},
      {"no name", [](Json& d) { d["variants"][0].erase("name"); }},
      {"a variant that is a number", [](Json& d) { d["variants"][0] = 7; }},
      {"scenario a list", [](Json& d) { d["scenario"] = Json::array(); }},
      {"seed negative", [](Json& d) { d["seed"] = -1; }},
      {"at_ns a string", [](Json& d) { d["at_ns"] = "1s"; }},
      {"recovered_after_ns a float", [](Json& d) { d["variants"][0]["recovered_after_ns"] = 1.5; }},
      {"expectations_failed with a number",
       [](Json& d) { d["baseline"]["expectations_failed"] = {1}; }},
      {"baseline without delivered_fraction",
       [](Json& d) { d["baseline"].erase("delivered_fraction"); }},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Json doc = partial();
    c.edit(doc);
    Result<Json> merged = Json();
    REQUIRE_NOTHROW(merged = merge_one(doc));
    REQUIRE_FALSE(merged);
    CHECK(merged.error().find("part.json: error: malformed partial sweep report") !=
          std::string::npos);
  }
}
