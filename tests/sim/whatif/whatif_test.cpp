// What-if library (SPEC section 7): reach classification, defaults and order; the state
// journal reach relies on; diff's regression rules; sweep's partial reports and merge.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <tuple>

#include "sim/flow/state.hpp"
#include "sim/whatif/diff.hpp"
#include "sim/whatif/reach.hpp"
#include "sim/whatif/reach_report.hpp"
#include "sim/whatif/sweep.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;
using namespace hivesim::whatif;

namespace {

Scenario load(const std::string& relative) {
  LoadResult r = load_scenario(std::string(HIVESIM_SOURCE_DIR) + "/" + relative);
  REQUIRE(r.scenario);
  return std::move(*r.scenario);
}

const ReachRow* find_row(const ReachReport& r, const std::string& from, const std::string& to,
                         const std::string& service) {
  for (const ReachRow& row : r.rows) {
    if (r.sources[row.from] == from && r.destinations[row.to] == to &&
        r.services[row.service] == service) {
      return &row;
    }
  }
  return nullptr;
}

// Every variant index of `plan`, in order (shard 1/1).
std::vector<std::uint32_t> every_variant(const SweepPlan& plan) {
  return shard_indices(plan.variants.size(), Shard{1, 1});
}

}  // namespace

TEST_CASE("reach: open, one_way and blocked, with the deciding drop and where it is written") {
  const Scenario s = load("scenarios/three-tier.yaml");
  auto report = reach(s, {});
  REQUIRE(report);
  // Ping inside web: web-in accepts icmp both ways.
  const ReachRow* ping = find_row(*report, "web1", "10.0.1.11", "icmp");
  REQUIRE(ping);
  CHECK(ping->result == Reach::kOpen);
  CHECK_FALSE(ping->drop);
  CHECK(report->port_names[ping->to_port->value] == "web2");
  // web -> app 8080: app-in lets it in, web-in drops app's answer (stateless chains).
  const ReachRow* app = find_row(*report, "web1", "10.0.2.10", "tcp/8080");
  REQUIRE(app);
  CHECK(app->result == Reach::kOneWay);
  REQUIRE(app->drop);
  CHECK(app->drop->reply);
  CHECK(app->drop->info.reason == DropReason::kRule);
  CHECK(app->drop->info.device == "web-in");
  CHECK(app->drop->info.rule == 3U);
  CHECK(drop_source_ref(*report, *app->drop) == s.file + ":29");
  // web -> db 5432: db-in rejects at rule 1 (line 37).
  const ReachRow* db = find_row(*report, "web1", "10.0.3.10", "tcp/5432");
  REQUIRE(db);
  CHECK(db->result == Reach::kBlocked);
  CHECK_FALSE(db->drop->reply);
  CHECK(db->drop->info.device == "db-in");
  CHECK(drop_source_ref(*report, *db->drop) == s.file + ":37");
  // A ping to the router's uplink address is answered by the router: blocked, consumed.
  const ReachRow* up = find_row(*report, "web1", "180.0.1.2", "icmp");
  REQUIRE(up);
  CHECK(up->result == Reach::kBlocked);
  CHECK(up->drop->consumed);
  CHECK(up->drop->info.device == "r1");
  // Stateful security groups let the reply back: open.
  const Scenario shop = load("scenarios/whatif/before.yaml");
  auto r2 = reach(shop, {});
  REQUIRE(r2);
  const ReachRow* orders = find_row(*r2, "app1", "10.0.3.10", "tcp/5432");
  REQUIRE(orders);
  CHECK(orders->result == Reach::kOpen);
  CHECK(find_row(*r2, "web1", "10.0.3.10", "tcp/5432")->result == Reach::kBlocked);
  const auto json = reach_json(*r2);
  CHECK(json["summary"]["open"].get<std::uint64_t>() == r2->open);
  CHECK(r2->open + r2->one_way + r2->blocked == r2->rows.size());
}

TEST_CASE("reach: defaults, sorting and skipped self-connections") {
  const Scenario s = load("scenarios/three-tier.yaml");
  CHECK(default_sources(s.topology) ==
        std::vector<std::string>{"app1", "db1", "r1-up", "web1", "web2"});
  CHECK(default_destinations(s) ==
        std::vector<std::string>{"10.0.1.10", "10.0.1.11", "10.0.2.10", "10.0.3.10", "180.0.1.2"});
  std::vector<std::string> services;
  for (const Service& v : default_services(s))
    services.push_back(v.name());
  CHECK(services == std::vector<std::string>{"icmp", "tcp/443", "tcp/5432", "tcp/80", "tcp/8080"});
  auto report = reach(s, {});
  REQUIRE(report);
  CHECK(report->rows.size() == 5 * 4 * 5);  // every source skips its own address
  CHECK_FALSE(find_row(*report, "web1", "10.0.1.10", "icmp"));
  auto key = [&](const ReachRow& r) {
    return std::tuple(report->sources[r.from], report->destinations[r.to],
                      report->services[r.service]);
  };
  CHECK(std::is_sorted(report->rows.begin(), report->rows.end(),
                       [&](const ReachRow& a, const ReachRow& b) { return key(a) < key(b); }));
  ReachQuery q;
  q.from_glob = "web*";
  q.to = std::vector<std::string>{"db1", "10.0.1.10"};
  q.services = *parse_services("tcp/5432,icmp");
  auto narrow = reach(s, q);
  REQUIRE(narrow);
  CHECK(narrow->sources == std::vector<std::string>{"web1", "web2"});
  CHECK(narrow->destinations == std::vector<std::string>{"10.0.1.10", "db1"});
  CHECK(narrow->rows.size() == 2 * 2 * 2 - 2);
  q.from_glob = "nothing*";
  CHECK_FALSE(reach(s, q));
  CHECK_FALSE(parse_services("tcp/99999"));
  CHECK_FALSE(parse_services("sctp/5"));
}

TEST_CASE("reach: every connection starts from the same state, which it leaves as it was") {
  const Scenario s = load("scenarios/whatif/before.yaml");
  auto plan = plan_reach(s, {});
  REQUIRE(plan);
  const Simulator sim(s.topology);
  SimState state(s.seed);
  const ReachReport first = run_reach(s, sim, state, *plan);
  CHECK(state.macs.empty());
  CHECK(state.conntrack.size() == 0);
  const ReachReport again = run_reach(s, sim, state, *plan);
  CHECK(reach_json(first) == reach_json(again));
  // Reversed order of sources gives each connection the same answer (no carry-over).
  ReachPlan reversed = *plan;
  std::reverse(reversed.sources.begin(), reversed.sources.end());
  const ReachReport back = run_reach(s, sim, state, reversed);
  for (const ReachRow& r : back.rows) {
    const ReachRow* same =
        find_row(first, back.sources[r.from], back.destinations[r.to], back.services[r.service]);
    REQUIRE(same);
    CHECK(same->result == r.result);
  }
}

TEST_CASE("SimState: rollback undoes MAC, ARP, conntrack, NAT and the random stream") {
  SimState state(42);
  const ConnKey old_key{Ipv4{1}, Ipv4{2}, 10, 20, 6, 7};
  state.conntrack.record(old_key, 5);
  state.macs[SimState::MacKey{1, 0, Mac{}}] = PortId{3};
  state.nat.bind(NatKind::kSnat, old_key, NatEndpoint{Ipv4{9}, 99}, 5);
  SimState fresh = state;

  state.checkpoint();
  const ConnKey new_key{Ipv4{5}, Ipv4{6}, 1, 2, 17, 7};
  state.conntrack.record(new_key, 6);
  state.conntrack.record(old_key, 8);
  const SimState::MacKey mk{1, 0, Mac{}};
  state.note_mac(mk);
  state.macs[mk] = PortId{4};
  const SimState::ArpKey ak{0, Ipv4{7}};
  state.note_arp(ak);
  state.arp[ak] = Mac{};
  state.nat.bind(NatKind::kDnat, new_key, NatEndpoint{Ipv4{8}, 80}, 6);
  (void)state.nat.draw(0, 1000);
  state.rollback();

  CHECK(state.conntrack.is_return(old_key));
  CHECK_FALSE(state.conntrack.is_return(new_key));
  CHECK(state.macs.at(mk) == PortId{3});
  CHECK(state.arp.empty());
  CHECK_FALSE(state.nat.forward(NatKind::kDnat, new_key));
  CHECK(state.nat.forward(NatKind::kSnat, old_key) == NatEndpoint{Ipv4{9}, 99});
  CHECK(state.nat.size() == fresh.nat.size());
  // The random stream continues as if nothing had been drawn.
  CHECK(state.nat.draw(0, 1U << 30) == fresh.nat.draw(0, 1U << 30));
}

TEST_CASE("diff: regressions and improvements of runs follow SPEC 7") {
  RunReport b;
  b.traffic.push_back(TrafficRow{"web", 1000, 1000, 0, 0, 0, 0, {}});
  b.traffic.push_back(TrafficRow{"db", 1000, 1000, 0, 0, 0, 0, {}});
  b.traffic.push_back(TrafficRow{"api", 1000, 900, 100, 0, 0, 0, {}});
  b.expectations = {{"holds", true, ""}, {"breaks", true, ""}, {"heals", false, ""}};
  RunReport a = b;
  a.traffic[0].delivered = 999;  // within the default tolerance
  a.traffic[0].dropped = 1;
  a.traffic[1].delivered = 990;  // fell by 0.01
  a.traffic[1].dropped = 10;
  a.traffic[2].delivered = 1000;  // improved
  a.traffic[2].dropped = 0;
  a.expectations[1].passed = false;
  a.expectations[2].passed = true;
  DiffReport out;
  diff_runs(b, a, 0.001, out);
  CHECK(out.regressions == 2);     // db traffic, "breaks"
  CHECK(out.improvements == 2);    // api traffic, "heals"
  CHECK(out.traffic.size() == 3);  // every changed entry is listed
  CHECK(out.expectations.size() == 2);
  DiffReport loose;
  diff_runs(b, a, 0.05, loose);
  CHECK(loose.regressions == 1);
  const std::string junit = diff_junit(out);
  CHECK(junit.find("<failure") != std::string::npos);
  CHECK(std::count(junit.begin(), junit.end(), '\n') > 5);
}

TEST_CASE("sweep: shard partials merge into the full report; bad parts are refused") {
  const Scenario s = load("scenarios/whatif/before.yaml");
  SweepQuestion q;
  q.kinds = *parse_fail_kinds("port,host");
  auto plan = plan_sweep(s, q);
  REQUIRE(plan);
  REQUIRE(plan->variants.size() == 8);  // 3 hosts, 5 exterior ports
  const std::vector<std::uint32_t> all = every_variant(*plan);
  auto one = run_variants(s, *plan, all, 1, nullptr);
  auto two = run_variants(s, *plan, all, 2, nullptr);
  REQUIRE(one);
  REQUIRE(two);
  const std::string full = sweep_json(s, q, *plan, *one).dump(2);
  CHECK(full == sweep_json(s, q, *plan, *two).dump(2));
  const auto doc = nlohmann::ordered_json::parse(full);
  // Ranked by packets lost, then name.
  const auto& v = doc["variants"];
  for (std::size_t i = 1; i < v.size(); ++i) {
    const auto la = v[i - 1]["packets_lost"].get<std::uint64_t>();
    const auto lb = v[i]["packets_lost"].get<std::uint64_t>();
    CHECK((la > lb || (la == lb && v[i - 1]["name"] < v[i]["name"])));
  }
  CHECK(sweep_regressed(doc));

  std::vector<std::string> parts;
  for (std::uint32_t k = 1; k <= 3; ++k) {
    const Shard shard{k, 3};
    auto r = run_variants(s, *plan, shard_indices(plan->variants.size(), shard), 1, nullptr);
    REQUIRE(r);
    parts.push_back(partial_json(s, q, *plan, shard, *r).dump(2));
  }
  const std::vector<std::string> names{"p1", "p2", "p3"};
  auto merged = merge_partials(names, parts);
  REQUIRE(merged);
  CHECK(merged->dump(2) == full);
  // In any order.
  auto shuffled = merge_partials({"p3", "p1", "p2"}, {parts[2], parts[0], parts[1]});
  REQUIRE(shuffled);
  CHECK(shuffled->dump(2) == full);

  CHECK_FALSE(merge_partials({"p1", "p2"}, {parts[0], parts[1]}));                    // one missing
  CHECK_FALSE(merge_partials(names, {parts[0], parts[1], parts[1]}));                 // given twice
  CHECK_FALSE(merge_partials(names, {parts[0], parts[1], parts[2].substr(0, 200)}));  // cut
  std::string forged = parts[1];
  const auto at = forged.find("\"packets_lost\": ");
  REQUIRE(at != std::string::npos);
  forged.insert(at + 16, "1");
  auto refused = merge_partials(names, {parts[0], forged, parts[2]});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("digest") != std::string::npos);
  // Another seed: another baseline and header.
  Scenario reseeded = s;
  reseeded.seed = 8;
  auto plan8 = plan_sweep(reseeded, q);
  REQUIRE(plan8);
  const Shard shard{3, 3};
  auto r8 = run_variants(reseeded, *plan8, shard_indices(8, shard), 1, nullptr);
  REQUIRE(r8);
  auto mixed = merge_partials(
      names, {parts[0], parts[1], partial_json(reseeded, q, *plan8, shard, *r8).dump()});
  REQUIRE_FALSE(mixed);
  CHECK(mixed.error().find("p3") != std::string::npos);
  // Another shard count.
  auto r2 = run_variants(s, *plan, shard_indices(8, Shard{2, 2}), 1, nullptr);
  REQUIRE(r2);
  CHECK_FALSE(merge_partials(
      names, {parts[0], parts[1], partial_json(s, q, *plan, Shard{2, 2}, *r2).dump()}));
}

TEST_CASE("sweep: variants handed out in any order, as MPI ranks take them, give the report") {
  const Scenario s = load("scenarios/whatif/before.yaml");
  SweepQuestion q;
  q.kinds = *parse_fail_kinds("port,host");
  auto plan = plan_sweep(s, q);
  REQUIRE(plan);
  REQUIRE(plan->variants.size() == 8);
  const std::vector<std::uint32_t> all = every_variant(*plan);
  auto in_order = run_variants(s, *plan, all, 1, nullptr);
  REQUIRE(in_order);
  const std::string full = sweep_json(s, q, *plan, *in_order).dump(2);
  // Two "ranks" taking from one queue in a scrambled order: each gets what it asks for.
  const std::vector<std::uint32_t> order{5, 2, 7, 0, 3, 6, 1, 4};
  std::size_t taken = 0;
  const NextVariant next = [&]() -> std::optional<std::uint32_t> {
    if (taken == order.size()) return std::nullopt;
    return order[taken++];
  };
  auto rank_a = run_claimed(
      s, *plan, 1,
      [&]() -> std::optional<std::uint32_t> {
        if (taken >= 5) return std::nullopt;  // this rank stops after five
        return next();
      },
      nullptr);
  auto rank_b = run_claimed(s, *plan, 1, next, nullptr);
  REQUIRE(rank_a);
  REQUIRE(rank_b);
  REQUIRE(rank_a->size() == 5);
  REQUIRE(rank_b->size() == 3);
  // Results come back sorted by index, whatever order they were taken in.
  CHECK(rank_a->front().index == 0);
  CHECK(rank_a->back().index == 7);
  auto joined = sweep_json_from_rows(s, q, *plan, {variant_rows(*rank_b), variant_rows(*rank_a)});
  REQUIRE(joined);
  CHECK(joined->dump(2) == full);
  // A variant missing or twice is an error, not a shorter or longer report.
  auto missing = sweep_json_from_rows(s, q, *plan, {variant_rows(*rank_a)});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("did not come back") != std::string::npos);
  CHECK_FALSE(sweep_json_from_rows(
      s, q, *plan, {variant_rows(*rank_a), variant_rows(*rank_b), variant_rows(*rank_b)}));
  CHECK_FALSE(sweep_json_from_rows(s, q, *plan, {"[{\"index\": 8}]"}));
  CHECK_FALSE(sweep_json_from_rows(s, q, *plan, {"not json"}));
}

TEST_CASE("sweep: arguments") {
  CHECK_FALSE(parse_shard("0/2"));
  CHECK_FALSE(parse_shard("3/2"));
  CHECK_FALSE(parse_shard("1/0"));
  CHECK_FALSE(parse_shard("x"));
  CHECK(parse_shard("2/2")->index == 2);
  CHECK_FALSE(parse_fail_kinds("host,disk"));
  CHECK(parse_fail_kinds("port,host,port")->size() == 2);
  CHECK(shard_indices(7, Shard{2, 3}) == std::vector<std::uint32_t>{1, 4});
}

TEST_CASE("sweep: the text report gives times as people read them, with the exact value") {
  const Scenario s = load("scenarios/whatif/before.yaml");
  SweepQuestion q;
  q.kinds = *parse_fail_kinds("nsdb");
  q.at = 3'333'333'333;  // what a third of a 10 s run gives
  q.for_ = 2 * kSecond;
  auto plan = plan_sweep(s, q);
  REQUIRE(plan);
  const std::vector<std::uint32_t> all = every_variant(*plan);
  auto results = run_variants(s, *plan, all, 1, nullptr);
  REQUIRE(results);
  const std::string text = sweep_text(sweep_json(s, q, *plan, *results));
  CHECK_THAT(text, Catch::Contains("failures at 3.33s (3333333333ns) for 2s\n"));
}
