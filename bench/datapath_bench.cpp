// The datapath flow table: lookups (hits and misses), installs, invalidations, and the memory a
// flow costs. Scale target: 1,000,000 flows across 10,000 hosts in a few hundred MB.
// Run: build/bench/datapath_bench

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "sim/datapath/flow_table.hpp"

namespace {

using namespace hivesim;

constexpr std::uint32_t kFlows = 100000;
constexpr std::uint32_t kPorts = 1000;  // tags: one port of kPorts, one of 10 bridges, a router

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

FieldMask mask_of(std::initializer_list<Field> fields) {
  FieldMask m;
  for (Field f : fields)
    m.add(f);
  return m;
}

/// Four masks as a MidoNet agent makes them: bridged (L2), routed, a port-filtered service and
/// a NATed or conntracked 5-tuple.
const std::vector<FieldMask>& bench_masks() {
  static const std::vector<FieldMask> kMasks = {
      mask_of({Field::kInPort, Field::kEthDst, Field::kVlan}),
      mask_of({Field::kInPort, Field::kEthSrc, Field::kEthDst, Field::kEthertype, Field::kNwDst,
               Field::kNwTtl}),
      mask_of({Field::kInPort, Field::kEthDst, Field::kEthertype, Field::kNwProto, Field::kTpDst}),
      mask_of({Field::kInPort, Field::kEthSrc, Field::kEthDst, Field::kEthertype, Field::kNwSrc,
               Field::kNwDst, Field::kNwProto, Field::kTpSrc, Field::kTpDst}),
  };
  return kMasks;
}

FlowKey random_key(Rng& rng) {
  FlowKey k;
  const std::uint64_t a = rng.next();
  const std::uint64_t b = rng.next();
  k.in_port = PortId{static_cast<std::uint32_t>(a % kPorts)};
  k.eth_src = Mac{0x020000000000ULL | (a >> 16 & 0xffffff)};
  k.eth_dst = Mac{0x020000000000ULL | (b & 0xffffff)};
  k.ethertype = ethertype::kIpv4;
  k.nw_src = Ipv4{static_cast<std::uint32_t>(b >> 24)};
  k.nw_dst = Ipv4{static_cast<std::uint32_t>(a >> 32)};
  k.nw_proto = ipproto::kTcp;
  k.nw_ttl = 64;
  k.tp_src = static_cast<std::uint16_t>(b >> 48);
  k.tp_dst = static_cast<std::uint16_t>(a >> 8);
  return k;
}

FlowActions routed_actions(std::uint32_t port) {
  FlowActions a;
  a.verdict = Verdict::kDelivered;
  FlowOutput out{PortId{port}, {}};
  out.rewrite.mark(RewriteField::kEthSrc);
  out.rewrite.mark(RewriteField::kEthDst);
  out.rewrite.mark(RewriteField::kNwTtl);
  out.rewrite.eth_src = Mac{0x020000000101};
  out.rewrite.eth_dst = Mac{0x020000000202};
  out.rewrite.nw_ttl = 63;
  a.outputs.push_back(out);
  return a;
}

struct Installed {
  std::vector<FlowKey> keys;
  std::unique_ptr<FlowTable> table;
};

/// `n` flows spread evenly over the masks, each tagged with its in-port, a bridge and a router.
Installed fill(std::uint32_t n, std::uint32_t capacity, std::uint64_t seed) {
  Installed out;
  out.table = std::make_unique<FlowTable>(FlowTableConfig{.capacity = capacity, .idle = kMinute});
  Rng rng(seed);
  const auto& masks = bench_masks();
  out.keys.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const FlowKey k = random_key(rng);
    const FlowTag tags[] = {{FlowTag::Kind::kPort, k.in_port.value},
                            {FlowTag::Kind::kBridge, k.in_port.value % 10},
                            {FlowTag::Kind::kRouter, 0}};
    out.table->install(k, masks[i % masks.size()], tags, routed_actions(i % 64), 0);
    out.keys.push_back(k);
  }
  return out;
}

/// range(0) flows: 100 is a host's share at the scale target, kFlows a busy gateway.
void BM_Lookup_Hit(benchmark::State& state) {
  const auto flows = static_cast<std::uint32_t>(state.range(0));
  Installed t = fill(flows, flows, 1);
  std::size_t i = 0;
  std::size_t hits = 0;
  for (auto _ : state) {
    const FlowActions* a = t.table->lookup(t.keys[i], 1);
    hits += a != nullptr;
    benchmark::DoNotOptimize(a);
    // A stride through the keys: every lookup lands on a cold part of the table.
    i = (i + 7919) % t.keys.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.counters["subtables"] = static_cast<double>(bench_masks().size());
}
BENCHMARK(BM_Lookup_Hit)->Arg(100)->Arg(kFlows);

void BM_Lookup_Miss(benchmark::State& state) {
  const auto flows = static_cast<std::uint32_t>(state.range(0));
  Installed t = fill(flows, flows, 1);
  Rng rng(99);  // another seed: keys that match no flow under any mask
  std::vector<FlowKey> misses(4096);
  for (FlowKey& k : misses)
    k = random_key(rng);
  std::size_t i = 0;
  std::size_t hits = 0;
  for (auto _ : state) {
    const FlowActions* a = t.table->lookup(misses[i], 1);
    hits += a != nullptr;
    benchmark::DoNotOptimize(a);
    i = (i + 1) % misses.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Lookup_Miss)->Arg(100)->Arg(kFlows);

/// Installs into a full table: every install evicts the least recently used flow.
void BM_Install_Evicting(benchmark::State& state) {
  Installed t = fill(kFlows, kFlows, 1);
  Rng rng(7);
  const auto& masks = bench_masks();
  std::uint64_t i = 0;
  for (auto _ : state) {
    const FlowKey k = random_key(rng);
    const FlowTag tags[] = {{FlowTag::Kind::kPort, k.in_port.value},
                            {FlowTag::Kind::kBridge, k.in_port.value % 10},
                            {FlowTag::Kind::kRouter, 0}};
    t.table->install(k, masks[i % masks.size()], tags, routed_actions(1), 1);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["evicted"] = static_cast<double>(t.table->stats().evicted);
}
BENCHMARK(BM_Install_Evicting);

/// Installs into an empty table up to kFlows flows (table growth included), then starts over.
void BM_Install_Growing(benchmark::State& state) {
  Rng rng(7);
  const auto& masks = bench_masks();
  std::vector<FlowKey> keys(kFlows);
  for (FlowKey& k : keys)
    k = random_key(rng);
  auto table = std::make_unique<FlowTable>(FlowTableConfig{.capacity = kFlows});
  std::uint32_t i = 0;
  for (auto _ : state) {
    if (i == kFlows) {
      state.PauseTiming();
      table = std::make_unique<FlowTable>(FlowTableConfig{.capacity = kFlows});
      i = 0;
      state.ResumeTiming();
    }
    const FlowKey& k = keys[i];
    const FlowTag tags[] = {{FlowTag::Kind::kPort, k.in_port.value},
                            {FlowTag::Kind::kBridge, k.in_port.value % 10},
                            {FlowTag::Kind::kRouter, 0}};
    table->install(k, masks[i % masks.size()], tags, routed_actions(1), 0);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Install_Growing);

/// Invalidates port tags one after another (about kFlows / kPorts flows each); items are flows
/// removed. The table is refilled, untimed, once every port has gone.
void BM_Invalidate_Port(benchmark::State& state) {
  Installed t = fill(kFlows, kFlows, 1);
  std::uint32_t port = 0;
  std::size_t removed = 0;
  for (auto _ : state) {
    if (port == kPorts) {
      state.PauseTiming();
      t = fill(kFlows, kFlows, 1);
      port = 0;
      state.ResumeTiming();
    }
    removed += t.table->invalidate(FlowTag{FlowTag::Kind::kPort, port++});
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(removed));
  state.counters["flows_per_call"] =
      static_cast<double>(removed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Invalidate_Port);

std::size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

/// Heap bytes per installed flow (3 tags each, one output with a rewrite), for one table of
/// 1M flows and for 10,000 tables of 100 flows (the scale target's shape). Keys are generated
/// on the fly so they are not counted.
void BM_Memory(benchmark::State& state) {
  const auto tables = static_cast<std::uint32_t>(state.range(0));
  const std::uint32_t per_table = 1000000 / tables;
  double bytes_per_flow = 0;
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    std::vector<FlowTable> all;
    all.reserve(tables);
    Rng rng(5);
    const auto& masks = bench_masks();
    for (std::uint32_t t = 0; t < tables; ++t) {
      all.emplace_back(FlowTableConfig{.capacity = per_table});
      for (std::uint32_t i = 0; i < per_table; ++i) {
        const FlowKey k = random_key(rng);
        const FlowTag tags[] = {{FlowTag::Kind::kPort, k.in_port.value},
                                {FlowTag::Kind::kBridge, k.in_port.value % 10},
                                {FlowTag::Kind::kRouter, 0}};
        all.back().install(k, masks[i % masks.size()], tags, routed_actions(1), 0);
      }
    }
    bytes_per_flow = static_cast<double>(heap_in_use() - before) / 1e6;
    benchmark::DoNotOptimize(all);
  }
  state.counters["bytes_per_flow"] = bytes_per_flow;  // also the MB the 1M flows take
}
BENCHMARK(BM_Memory)->Arg(1)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
