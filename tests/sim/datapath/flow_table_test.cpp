#include "sim/datapath/flow_table.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

namespace hivesim {
namespace {

FieldMask mask_of(std::initializer_list<Field> fields) {
  FieldMask m;
  for (Field f : fields)
    m.add(f);
  return m;
}

FlowActions to_port(std::uint32_t port) {
  FlowActions a;
  a.verdict = Verdict::kDelivered;
  a.outputs.push_back(FlowOutput{PortId{port}, {}});
  return a;
}

FlowActions dropped(std::uint32_t drop_id) {
  FlowActions a;
  a.drop_id = drop_id;
  return a;
}

FlowKey key(std::uint32_t in_port, std::uint64_t eth_dst, std::uint32_t nw_dst = 0) {
  FlowKey k;
  k.in_port = PortId{in_port};
  k.eth_src = Mac{0x020000000001};
  k.eth_dst = Mac{eth_dst};
  k.ethertype = ethertype::kIpv4;
  k.nw_src = Ipv4{0x0a000001};
  k.nw_dst = Ipv4{nw_dst};
  k.nw_proto = ipproto::kTcp;
  k.nw_ttl = 64;
  k.tp_src = 40000;
  k.tp_dst = 80;
  return k;
}

const FieldMask kL2 = mask_of({Field::kInPort, Field::kEthDst});
const FieldMask kL3 = mask_of({Field::kInPort, Field::kNwDst});
constexpr FlowTag kPort1{FlowTag::Kind::kPort, 1};
constexpr FlowTag kPort2{FlowTag::Kind::kPort, 2};
constexpr FlowTag kBridge{FlowTag::Kind::kBridge, 0};

/// The port a lookup sends to, -1 for a drop, nullopt for a miss.
std::optional<long> verdict_of(FlowTable& t, const FlowKey& k, SimTime now) {
  const FlowActions* a = t.lookup(k, now);
  if (a == nullptr) return std::nullopt;
  if (a->verdict == Verdict::kDropped) return -1;
  return a->outputs.at(0).port.value;
}

TEST_CASE("FlowTable: a flow matches every key that agrees on its mask") {
  FlowTable t({});
  const FlowTag tags[] = {kPort1, kBridge};
  t.install(key(1, 0xa), kL2, tags, to_port(7), 0);
  CHECK(t.size() == 1);

  FlowKey other = key(1, 0xa, 0x0a000063);
  other.eth_src = Mac{0x99};
  other.tp_src = 1;
  other.nw_ttl = 3;
  CHECK(verdict_of(t, other, 1) == 7);
  CHECK(verdict_of(t, key(1, 0xb), 1) == std::nullopt);  // eth_dst is in the mask
  CHECK(verdict_of(t, key(2, 0xa), 1) == std::nullopt);  // so is in_port
  CHECK(t.stats().hits == 1);
  CHECK(t.stats().misses == 2);
  t.check_invariants();

  SECTION("an ARP protocol address field masks nw_src, as masked() does") {
    FlowKey arp = key(3, 0xa, 0x0a000002);
    arp.ethertype = ethertype::kArp;
    t.install(arp, mask_of({Field::kArpSpa}), {}, dropped(4), 2);
    FlowKey same_spa = key(9, 0xffff, 0x0b000002);
    CHECK(verdict_of(t, same_spa, 3) == -1);
    same_spa.nw_src = Ipv4{0x0a000009};
    CHECK(verdict_of(t, same_spa, 3) == std::nullopt);
  }
  SECTION("the empty mask matches everything") {
    t.install(key(5, 5), FieldMask{}, {}, to_port(9), 2);
    CHECK(verdict_of(t, key(1, 0xa), 3) == 7);  // the older subtable is searched first
    CHECK(verdict_of(t, key(8, 8), 3) == 9);
  }
}

TEST_CASE("FlowTable: installing the same mask and masked key replaces the flow") {
  FlowTable t({});
  const FlowTag old_tags[] = {kPort1};
  const FlowTag new_tags[] = {kPort2};
  t.install(key(1, 0xa), kL2, old_tags, to_port(7), 0);
  t.install(key(1, 0xa, 0x0a000063), kL2, new_tags, dropped(3), 1);
  CHECK(t.size() == 1);
  CHECK(verdict_of(t, key(1, 0xa), 2) == -1);
  CHECK(t.lookup(key(1, 0xa), 2)->drop_id == 3);
  CHECK(t.invalidate(kPort1) == 0);  // the old flow's tags went with it
  CHECK(t.size() == 1);
  CHECK(t.invalidate(kPort2) == 1);
  CHECK(t.size() == 0);
  CHECK(t.stats().installed == 2);
  CHECK(t.stats().invalidated == 1);
  t.check_invariants();

  SECTION("another mask is another flow; the older subtable wins") {
    t.install(key(1, 0xa, 0x0a000005), kL3, {}, to_port(3), 3);
    t.install(key(1, 0xa, 0x0a000005), kL2, {}, to_port(2), 3);
    CHECK(t.size() == 2);
    CHECK(verdict_of(t, key(1, 0xa, 0x0a000005), 4) == 3);
  }
}

TEST_CASE("FlowTable: an emptied subtable is dropped and made again last") {
  FlowTable t({});
  const FlowTag l2_tags[] = {kPort1};
  t.install(key(1, 0xa, 5), kL2, l2_tags, to_port(2), 0);
  t.install(key(1, 0xa, 5), kL3, {}, to_port(3), 0);
  CHECK(verdict_of(t, key(1, 0xa, 5), 1) == 2);
  CHECK(t.invalidate(kPort1) == 1);
  t.install(key(1, 0xa, 5), kL2, {}, to_port(2), 2);
  CHECK(verdict_of(t, key(1, 0xa, 5), 3) == 3);
  t.check_invariants();
}

TEST_CASE("FlowTable: at capacity the least recently used flow is evicted") {
  FlowTable t({.capacity = 3, .idle = kSecond});
  t.install(key(1, 1), kL2, {}, to_port(1), 0);
  t.install(key(1, 2), kL3, {}, to_port(2), 1);  // kL3 ignores eth_dst: nw_dst 0 here
  t.install(key(1, 3), kL2, {}, to_port(3), 2);
  CHECK(verdict_of(t, key(1, 1, 9), 3) == 1);  // 1 is now the most recent
  t.install(key(1, 4), kL2, {}, to_port(4), 4);
  CHECK(t.size() == 3);
  CHECK(t.stats().evicted == 1);
  // The kL3 flow (the least recently used) went, and its subtable with it.
  CHECK(verdict_of(t, key(1, 2, 9), 5) == std::nullopt);
  CHECK(verdict_of(t, key(1, 2), 5) == std::nullopt);
  t.install(key(1, 5), kL2, {}, to_port(5), 6);
  CHECK(t.stats().evicted == 2);
  CHECK(verdict_of(t, key(1, 3), 7) == std::nullopt);  // then 3
  CHECK(verdict_of(t, key(1, 1), 7) == 1);
  CHECK(verdict_of(t, key(1, 4), 7) == 4);
  CHECK(verdict_of(t, key(1, 5), 7) == 5);
  // Replacing at capacity evicts nothing.
  t.install(key(1, 5), kL2, {}, to_port(6), 8);
  CHECK(t.stats().evicted == 2);
  CHECK(t.stats().peak == 3);
  t.check_invariants();
}

TEST_CASE("FlowTable: idle flows expire on lookup and through expire()") {
  FlowTable t({.capacity = 10, .idle = 10});
  t.install(key(1, 1), kL2, {}, to_port(1), 0);
  t.install(key(1, 2), kL2, {}, to_port(2), 5);
  t.install(key(1, 3), kL3, {}, to_port(3), 5);
  CHECK(verdict_of(t, key(1, 1), 9) == 1);  // idle 9: refreshed to 9
  CHECK(t.expire(14) == 0);
  CHECK(t.expire(15) == 2);  // 2 and 3, idle exactly 10
  CHECK(t.size() == 1);
  CHECK(verdict_of(t, key(1, 1), 19) == std::nullopt);  // idle 10: expired on the spot
  CHECK(t.size() == 0);
  CHECK(t.stats().expired == 3);
  CHECK(t.stats().hits == 1);
  CHECK(t.stats().misses == 1);

  SECTION("an expired match does not hide a live one in a later subtable") {
    t.install(key(1, 7, 7), kL2, {}, to_port(2), 20);
    t.install(key(1, 7, 7), kL3, {}, to_port(3), 25);
    CHECK(verdict_of(t, key(1, 7, 7), 30) == 3);
    CHECK(t.size() == 1);
    CHECK(t.stats().expired == 4);
  }
  t.check_invariants();
}

TEST_CASE("FlowTable: invalidating a tag removes exactly the flows carrying it") {
  FlowTable t({});
  const FlowTag a[] = {kPort1, kBridge};
  const FlowTag b[] = {kBridge};
  const FlowTag c[] = {kPort2, kPort2};  // duplicates are tolerated
  t.install(key(1, 1, 1), kL2, a, to_port(1), 0);
  t.install(key(1, 2, 2), kL2, b, to_port(2), 0);
  t.install(key(1, 3, 3), kL3, c, to_port(3), 0);
  CHECK(t.invalidate(FlowTag{FlowTag::Kind::kRouter, 1}) == 0);
  CHECK(t.invalidate(kPort1) == 1);
  CHECK(verdict_of(t, key(1, 1, 1), 1) == std::nullopt);
  CHECK(verdict_of(t, key(1, 2, 2), 1) == 2);
  CHECK(verdict_of(t, key(1, 3, 3), 1) == 3);
  CHECK(t.invalidate(kPort2) == 1);
  CHECK(t.invalidate(kBridge) == 1);
  CHECK(t.size() == 0);
  CHECK(t.stats().invalidated == 3);
  t.check_invariants();

  SECTION("clear() empties the table without counting") {
    t.install(key(1, 1), kL2, a, to_port(1), 2);
    t.clear();
    CHECK(t.size() == 0);
    CHECK(t.invalidate(kPort1) == 0);
    CHECK(t.stats().invalidated == 3);
    CHECK(t.stats().installed == 4);
    t.install(key(1, 1), kL2, a, to_port(1), 2);
    CHECK(verdict_of(t, key(1, 1), 2) == 1);
    t.check_invariants();
  }
}

// ---------------------------------------------------------------------------------------------
// The differential test: the table against a linear list with the same documented semantics.

struct RefFlow {
  FieldMask mask;
  FlowKey key;  // masked
  std::vector<FlowTag> tags;
  FlowActions actions;
  SimTime last_used = 0;
  std::uint64_t touched = 0;  // LRU order: larger is more recent
};

/// Subtable order, first match, LRU and expiry written out as plainly as possible.
class Reference {
 public:
  explicit Reference(FlowTableConfig config) : config_(config) {}

  const FlowActions* lookup(const FlowKey& k, SimTime now) {
    for (std::size_t i = 0; i < order_.size();) {
      const FieldMask m = order_[i];
      const auto f = find(m, masked(k, m));
      if (f == flows_.end()) {
        ++i;
        continue;
      }
      if (now - f->last_used >= config_.idle) {
        flows_.erase(f);
        ++stats_.expired;
        if (!drop_unused_masks()) ++i;
        continue;
      }
      f->last_used = now;
      f->touched = ++clock_;
      ++stats_.hits;
      return &f->actions;
    }
    ++stats_.misses;
    return nullptr;
  }

  void install(const FlowKey& k, FieldMask m, std::vector<FlowTag> tags, FlowActions actions,
               SimTime now) {
    ++stats_.installed;
    const FlowKey mk = masked(k, m);
    if (auto f = find(m, mk); f != flows_.end()) {
      *f = RefFlow{m, mk, std::move(tags), std::move(actions), now, ++clock_};
      return;
    }
    if (flows_.size() >= config_.capacity) {
      flows_.erase(std::min_element(
          flows_.begin(), flows_.end(),
          [](const RefFlow& a, const RefFlow& b) { return a.touched < b.touched; }));
      ++stats_.evicted;
      drop_unused_masks();
    }
    if (std::find(order_.begin(), order_.end(), m) == order_.end()) order_.push_back(m);
    flows_.push_back(RefFlow{m, mk, std::move(tags), std::move(actions), now, ++clock_});
    stats_.peak = std::max<std::uint64_t>(stats_.peak, flows_.size());
  }

  std::size_t invalidate(FlowTag tag) {
    const std::size_t n = std::erase_if(flows_, [&](const RefFlow& f) {
      return std::find(f.tags.begin(), f.tags.end(), tag) != f.tags.end();
    });
    stats_.invalidated += n;
    drop_unused_masks();
    return n;
  }

  std::size_t expire(SimTime now) {
    const std::size_t n =
        std::erase_if(flows_, [&](const RefFlow& f) { return now - f.last_used >= config_.idle; });
    stats_.expired += n;
    drop_unused_masks();
    return n;
  }

  void clear() {
    flows_.clear();
    order_.clear();
  }

  std::size_t size() const { return flows_.size(); }
  const FlowTableStats& stats() const { return stats_; }

 private:
  std::vector<RefFlow>::iterator find(FieldMask m, const FlowKey& mk) {
    return std::find_if(flows_.begin(), flows_.end(),
                        [&](const RefFlow& f) { return f.mask == m && f.key == mk; });
  }

  /// Forgets masks no flow has any more; true when one went.
  bool drop_unused_masks() {
    return std::erase_if(order_, [&](FieldMask m) {
             return std::none_of(flows_.begin(), flows_.end(),
                                 [&](const RefFlow& f) { return f.mask == m; });
           }) > 0;
  }

  FlowTableConfig config_;
  std::vector<RefFlow> flows_;
  std::vector<FieldMask> order_;
  FlowTableStats stats_;
  std::uint64_t clock_ = 0;
};

/// splitmix64: the same numbers on every platform (std distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }

 private:
  std::uint64_t state_;
};

/// Keys over small domains, so that flows collide, overlap and get hit.
FlowKey random_key(Rng& rng) {
  FlowKey k;
  k.in_port = PortId{rng.below(4)};
  k.eth_src = Mac{rng.below(4)};
  k.eth_dst = Mac{0x020000000000ULL + rng.below(6)};
  k.vlan = rng.below(4) == 0 ? 100U << 16 : 0;
  k.ethertype = rng.below(5) == 0 ? ethertype::kArp : ethertype::kIpv4;
  k.nw_src = Ipv4{0x0a000000 + rng.below(8)};
  k.nw_dst = Ipv4{0x0a000000 + rng.below(8)};
  k.nw_proto = rng.below(2) == 0 ? ipproto::kTcp : ipproto::kUdp;
  k.nw_tos = static_cast<std::uint8_t>(rng.below(2));
  k.nw_ttl = static_cast<std::uint8_t>(63 + rng.below(2));
  k.nw_frag = rng.below(8) == 0 ? FragKind::kFirst : FragKind::kNone;
  k.tp_src = static_cast<std::uint16_t>(1000 + rng.below(4));
  k.tp_dst = static_cast<std::uint16_t>(rng.below(6));
  k.icmp_id = static_cast<std::uint16_t>(rng.below(2));
  k.tcp_flags = static_cast<std::uint8_t>(rng.below(2) * tcpflag::kSyn);
  k.arp_op = static_cast<std::uint16_t>(rng.below(2));
  k.arp_sha = Mac{rng.below(2)};
  return k;
}

FieldMask all_fields() {
  FieldMask m;
  for (unsigned f = 0; f < static_cast<unsigned>(Field::kCount); ++f)
    m.add(static_cast<Field>(f));
  return m;
}

const std::vector<FieldMask>& masks() {
  static const std::vector<FieldMask> kMasks = {
      mask_of({Field::kInPort, Field::kEthDst}),
      mask_of({Field::kInPort, Field::kEthSrc, Field::kEthDst, Field::kVlan}),
      mask_of({Field::kInPort, Field::kNwSrc, Field::kNwDst, Field::kNwProto, Field::kTpDst}),
      mask_of({Field::kEthertype, Field::kArpSpa, Field::kArpTpa, Field::kArpOp}),
      mask_of({Field::kNwSrc}),
      mask_of({Field::kArpSpa}),  // the same bits as kNwSrc, but another mask
      mask_of({Field::kNwDst, Field::kNwTos, Field::kNwTtl, Field::kNwFrag, Field::kTcpFlags}),
      mask_of({Field::kTpSrc, Field::kTpDst, Field::kIcmpId, Field::kArpSha}),
      all_fields(),
      FieldMask{},  // matches everything: drawn rarely
  };
  return kMasks;
}

FlowActions random_actions(Rng& rng) {
  if (rng.below(4) == 0) return dropped(rng.below(5));
  FlowActions a;
  a.verdict = Verdict::kDelivered;
  const std::uint32_t n = rng.below(4) == 0 ? 2 : 1;
  for (std::uint32_t i = 0; i < n; ++i) {
    FlowOutput out{PortId{rng.below(6)}, {}};
    if (rng.below(2) == 0) {
      out.rewrite.mark(RewriteField::kNwTtl);
      out.rewrite.nw_ttl = static_cast<std::uint8_t>(rng.below(64));
    }
    a.outputs.push_back(out);
  }
  return a;
}

FlowTag random_tag(Rng& rng) {
  return FlowTag{static_cast<FlowTag::Kind>(rng.below(3)), rng.below(4)};
}

void check_same_stats(const FlowTableStats& got, const FlowTableStats& want) {
  CHECK(got.hits == want.hits);
  CHECK(got.misses == want.misses);
  CHECK(got.installed == want.installed);
  CHECK(got.invalidated == want.invalidated);
  CHECK(got.expired == want.expired);
  CHECK(got.evicted == want.evicted);
  CHECK(got.peak == want.peak);
}

TEST_CASE("FlowTable: flows sharing a tag set go together; dead sets are swept, not leaked") {
  FlowTable t({});
  // 100 flows with the same tags (in any order, with a duplicate): one set between them.
  const FlowTag shared[] = {kBridge, kPort1};
  const FlowTag shuffled[] = {kPort1, kBridge, kPort1};
  for (std::uint32_t i = 0; i < 100; ++i)
    t.install(key(1, 0x100 + i), kL2,
              i % 2 ? std::span<const FlowTag>(shared) : std::span<const FlowTag>(shuffled),
              to_port(1), 0);
  // Thousands of sets that each lose their only flow: the sweep frees them.
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const FlowTag own[] = {kBridge, FlowTag{FlowTag::Kind::kChain, 1000 + i}};
    t.install(key(2, 0x9000 + i), kL2, own, to_port(2), 1);
    CHECK(t.invalidate(FlowTag{FlowTag::Kind::kChain, 1000 + i}) == 1);
  }
  t.check_invariants();
  CHECK(t.size() == 100);
  // Invalidating a swept set's tag finds nothing; the shared set's flows are all still found.
  CHECK(t.invalidate(FlowTag{FlowTag::Kind::kChain, 1000}) == 0);
  CHECK(verdict_of(t, key(1, 0x100), 2) == 1);
  CHECK(t.invalidate(kPort1) == 100);
  CHECK(t.size() == 0);
  // The set is made again (reused or new) by the next flow with those tags.
  t.install(key(1, 0x100), kL2, shared, to_port(3), 3);
  t.check_invariants();
  CHECK(t.invalidate(kBridge) == 1);
  t.check_invariants();
}

TEST_CASE("FlowTable: behaves as a linear reference model on random operations") {
  const FlowTableConfig config{.capacity = 32, .idle = 800};
  FlowTable table(config);
  Reference ref(config);
  Rng rng(0x5eed'f10e'7ab1eULL);
  SimTime now = 0;
  std::size_t hits = 0;
  std::size_t removed_by_tag = 0;
  for (int op = 0; op < 50000; ++op) {
    INFO("operation " << op);
    // Mostly small steps, so flows fill the table and get evicted; now and then a long quiet
    // spell, so they expire.
    now += rng.below(4) == 0 ? rng.below(20) : 0;
    if (rng.below(300) == 0) now += rng.below(1000);
    const std::uint32_t kind = rng.below(100);
    if (kind < 55) {
      const FlowKey k = random_key(rng);
      const FlowActions* got = table.lookup(k, now);
      const FlowActions* want = ref.lookup(k, now);
      REQUIRE((got == nullptr) == (want == nullptr));
      if (got != nullptr) {
        REQUIRE(*got == *want);
        ++hits;
      }
    } else if (kind < 90) {
      const FlowKey k = random_key(rng);
      const FieldMask m =
          masks()[rng.below(100) == 0 ? masks().size() - 1
                                      : rng.below(static_cast<std::uint32_t>(masks().size() - 1))];
      std::vector<FlowTag> tags(rng.below(4));
      for (FlowTag& tag : tags)
        tag = random_tag(rng);
      const FlowActions actions = random_actions(rng);
      table.install(k, m, tags, actions, now);
      ref.install(k, m, tags, actions, now);
    } else if (kind < 96) {
      const FlowTag tag = random_tag(rng);
      const std::size_t n = table.invalidate(tag);
      REQUIRE(n == ref.invalidate(tag));
      removed_by_tag += n;
    } else if (kind < 99 || op % 7 != 0) {
      REQUIRE(table.expire(now) == ref.expire(now));
    } else {
      table.clear();
      ref.clear();
    }
    REQUIRE(table.size() == ref.size());
    if (op % 500 == 0) {
      check_same_stats(table.stats(), ref.stats());
      table.check_invariants();
    }
  }
  check_same_stats(table.stats(), ref.stats());
  table.check_invariants();
  // The run exercised what it is meant to.
  INFO("hits " << hits << " misses " << table.stats().misses << " evicted " << table.stats().evicted
               << " expired " << table.stats().expired << " invalidated " << removed_by_tag);
  CHECK(hits > 5000);
  CHECK(removed_by_tag > 1000);
  CHECK(table.stats().evicted > 1000);
  CHECK(table.stats().expired > 500);
  CHECK(table.stats().misses > 5000);
}

}  // namespace
}  // namespace hivesim
