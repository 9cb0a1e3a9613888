#include <catch2/catch.hpp>

#include "topology/model.hpp"

using namespace hivesim;

TEST_CASE("Model: verdict names round-trip") {
  for (Verdict v : {Verdict::kDelivered, Verdict::kDropped, Verdict::kConsumed}) {
    CHECK(parse_verdict(to_string(v)) == v);
  }
  CHECK(to_string(Verdict::kConsumed) == "consumed");
  CHECK_FALSE(parse_verdict("Delivered"));
  CHECK_FALSE(parse_verdict(""));
}

TEST_CASE("Model: drop reason names are SPEC section 5's and round-trip") {
  const char* names[] = {"rule",           "no_route",   "blackhole",   "reject",
                         "admin_down",     "no_backend", "loop",        "ttl",
                         "arp_unresolved", "host_down",  "tunnel_down", "no_binding",
                         "not_for_router", "malformed",  "unsupported"};
  for (int i = 0; i <= static_cast<int>(DropReason::kUnsupported); ++i) {
    const auto r = static_cast<DropReason>(i);
    CHECK(to_string(r) == names[i]);
    CHECK(parse_drop_reason(names[i]) == r);
  }
  CHECK_FALSE(parse_drop_reason("no-route"));
}

TEST_CASE("Model: find functions return the index of the named object") {
  Topology t;
  t.hosts.resize(2);
  t.hosts[0].name = "hv1";
  t.hosts[1].name = "hv2";
  t.ports.resize(3);
  t.ports[2].name = "vm3";
  t.chains.resize(2);
  t.chains[1].name = "c1";
  t.pools.resize(1);
  t.pools[0].name = "p1";
  CHECK(t.find_host("hv2") == HostId(1));
  CHECK_FALSE(t.find_host("hv3"));
  CHECK(t.find_port("vm3") == PortId(2));
  CHECK(t.find_chain("c1") == ChainId(1));
  CHECK(t.find_pool("p1") == PoolId(0));
  CHECK_FALSE(t.find_vip("p1"));
  CHECK_FALSE(t.find_bridge("hv1"));
}
