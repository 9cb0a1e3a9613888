#include "sim/datapath/flow_table.hpp"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>
#include <absl/numeric/int128.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "base/check.hpp"

namespace hivesim {

namespace {

constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kMac48 = (std::uint64_t{1} << 48) - 1;
constexpr std::uint32_t kKnownFields = (1U << static_cast<unsigned>(Field::kCount)) - 1;
// Tag sets with no flow tolerated beyond the live ones before a sweep (keeps tiny tables from
// sweeping on every removal).
constexpr std::size_t kSetSlack = 64;

/// A FlowKey's bytes as words (it has no padding): cheap to mask, hash and compare.
using Words = std::array<std::uint64_t, 7>;
static_assert(sizeof(Words) == sizeof(FlowKey));

Words pack(const FlowKey& k) {
  return std::bit_cast<Words>(k);
}

Words operator&(const Words& a, const Words& b) {
  Words out;
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = a[i] & b[i];
  return out;
}

/// The bits of the packed key that masked(·, mask) keeps. Derived from masked() itself so the
/// two can never disagree (e.g. on kArpSpa sharing nw_src): a field is kept iff it differs
/// between the masked all-ones and the masked all-zeros keys.
Words word_mask(FieldMask mask) {
  static_assert(kFlowFieldsVersion == 1, "word_mask(): every field at all ones in `ones`");
  FlowKey ones;
  ones.in_port = PortId{~0U};
  ones.eth_src = ones.eth_dst = ones.arp_sha = Mac{kMac48};
  ones.vlan = ~0U;
  ones.ethertype = ones.tp_src = ones.tp_dst = ones.icmp_id = ones.arp_op = 0xffff;
  ones.nw_src = ones.nw_dst = Ipv4{~0U};
  ones.nw_proto = ones.nw_tos = ones.nw_ttl = ones.tcp_flags = 0xff;
  ones.nw_frag = static_cast<FragKind>(0xff);
  FlowKey zeros;
  zeros.in_port = PortId{0};
  const Words a = pack(masked(ones, mask));
  const Words b = pack(masked(zeros, mask));
  Words out;
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = a[i] ^ b[i];
  return out;
}

/// The 128-bit product of a and b, folded to 64 bits (the wyhash mixing step).
std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  const absl::uint128 r = absl::uint128(a) * b;
  return absl::Uint128Low64(r) ^ absl::Uint128High64(r);
}

/// Word by word, four independent multiplies then one to mix them (absl::Hash chains one
/// multiply per word, which is what a lookup probing several subtables waits on).
std::size_t hash_words(const Words& w) {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL;
  constexpr std::uint64_t k1 = 0xe7037ed1a0b428dbULL;
  constexpr std::uint64_t k2 = 0x8ebc6af09c88c6e3ULL;
  constexpr std::uint64_t k3 = 0x589965cc75374cc3ULL;
  const std::uint64_t a = mum(w[0] ^ k0, w[1] ^ k1);
  const std::uint64_t b = mum(w[2] ^ k2, w[3] ^ k3);
  const std::uint64_t c = mum(w[4] ^ k1, w[5] ^ k2);
  const std::uint64_t d = mum(w[6] ^ k3, k0);
  return mum(a ^ c ^ k1, b ^ d ^ k0);
}

// Inline, where std::array's == calls memcmp.
bool same_words(const Words& a, const Words& b) {
  std::uint64_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

struct Entry {
  Words key;  // masked
  SimTime last_used = 0;
  std::uint32_t prev = kNil;  // LRU neighbours; `next` also links the free list
  std::uint32_t next = kNil;
  std::uint32_t set = kNil;       // its tag set; kNil: a free slot
  std::uint32_t set_prev = kNil;  // neighbours among the flows of its tag set
  std::uint32_t set_next = kNil;
  FieldMask mask;
  FlowActions actions;
  bool live() const { return set != kNil; }
};
// The memory budget of the header's cost note: grow it knowingly.
static_assert(sizeof(Entry) <= 160);

/// The slab: entries in fixed blocks of 32 (5 KB) that never move, so it wastes at most a block
/// a table. (A vector grown by half at a time held 1,353 slots for a host's 1,000 flows: a third
/// of the flows' memory, and the old and new arrays at once while it grew.)
class EntrySlab {
 public:
  static constexpr std::uint32_t kShift = 5;
  static constexpr std::uint32_t kBlock = 1U << kShift;

  Entry& operator[](std::uint32_t id) { return blocks_[id >> kShift][id & (kBlock - 1)]; }
  const Entry& operator[](std::uint32_t id) const {
    return blocks_[id >> kShift][id & (kBlock - 1)];
  }
  std::size_t size() const { return size_; }
  /// A default entry at the end; its id is size() - 1.
  void emplace_back() {
    if (size_ == blocks_.size() * kBlock) blocks_.push_back(std::make_unique<Entry[]>(kBlock));
    ++size_;
  }

 private:
  std::vector<std::unique_ptr<Entry[]>> blocks_;
  std::size_t size_ = 0;
};

/// A subtable's slot: an entry id (low half) and the top 32 bits of its masked key's hash (high
/// half). Hash and equality look through to the entries' keys, so a key is stored once, but the
/// hash of a slot comes from the slot alone: growing a subtable rehashes its slots without
/// reading the entries. (With ids alone, each growth read every entry's key back from the slab,
/// flows installed long before and long out of the cache. On the scale cloud at 3,000 hosts that
/// was the largest source of last-level cache misses and the one that grew most with the cloud:
/// 5.3 missed reads a connection of 16.1, against 2.2 at 1,000 hosts; now 0.3 of 9.7, and 0.5%
/// fewer instructions at every size. Cachegrind figures in bench/README.md. It costs a flow 4
/// bytes more in its subtable.)
using IdSlot = std::uint64_t;

std::uint32_t slot_id(IdSlot slot) {
  return static_cast<std::uint32_t>(slot);
}

/// The hash absl sees for a key whose hash_words() is `h`: its top 32 bits, spread again over 64
/// (an odd multiplier: absl takes its probe start from the high bits and its control byte from
/// the low ones).
std::size_t slot_hash(std::uint64_t top32) {
  return top32 * 0x9e3779b97f4a7c15ULL;
}

IdSlot make_slot(std::uint32_t id, const Words& key) {
  return (hash_words(key) >> 32 << 32) | id;
}

struct IdHash {
  using is_transparent = void;
  std::size_t operator()(IdSlot slot) const { return slot_hash(slot >> 32); }
  std::size_t operator()(const Words& key) const { return slot_hash(hash_words(key) >> 32); }
};

struct IdEq {
  using is_transparent = void;
  const EntrySlab* entries;
  bool operator()(IdSlot a, IdSlot b) const { return a == b; }
  bool operator()(IdSlot a, const Words& key) const {
    return same_words((*entries)[slot_id(a)].key, key);
  }
  bool operator()(const Words& key, IdSlot a) const {
    return same_words((*entries)[slot_id(a)].key, key);
  }
};

using IdSet = absl::flat_hash_set<IdSlot, IdHash, IdEq>;

struct Subtable {
  FieldMask mask;
  Words bits;  // word_mask(mask)
  IdSet ids;
};

/// A distinct set of tags, and the flows that carry exactly it (a list through their entries).
/// Flows between the same two ports through the same devices share one: a host's thousands of
/// flows have tens or hundreds of sets.
struct TagSet {
  std::vector<FlowTag> tags;  // sorted, unique
  std::uint32_t head = kNil;  // its first flow
  std::uint32_t flows = 0;    // 0: dead, kept for reuse until a sweep
};

std::uint64_t tag_word(FlowTag t) {
  return (std::uint64_t{static_cast<std::uint8_t>(t.kind)} << 32) | t.id;
}

std::size_t hash_tags(std::span<const FlowTag> tags) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ tags.size();
  for (const FlowTag t : tags)
    h = mum(h ^ tag_word(t), 0xa0761d6478bd642fULL);
  return h;
}

/// The set of tag sets holds set ids; hash and equality look through to the sets' tags, and
/// lookups pass a sorted, unique span of tags.
struct SetHash {
  using is_transparent = void;
  const std::vector<TagSet>* sets;
  std::size_t operator()(std::uint32_t id) const { return hash_tags((*sets)[id].tags); }
  std::size_t operator()(std::span<const FlowTag> tags) const { return hash_tags(tags); }
};

struct SetEq {
  using is_transparent = void;
  const std::vector<TagSet>* sets;
  static bool same(std::span<const FlowTag> a, std::span<const FlowTag> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
  bool operator()(std::uint32_t a, std::span<const FlowTag> t) const {
    return same((*sets)[a].tags, t);
  }
  bool operator()(std::span<const FlowTag> t, std::uint32_t a) const {
    return same((*sets)[a].tags, t);
  }
};

using SetIds = absl::flat_hash_set<std::uint32_t, SetHash, SetEq>;

struct TagHash {
  std::size_t operator()(FlowTag t) const {
    return absl::HashOf(static_cast<std::uint8_t>(t.kind), t.id);
  }
};

/// The sets carrying a tag; most tags are in a few sets.
using SetList = absl::InlinedVector<std::uint32_t, 2>;

}  // namespace

struct FlowTable::Impl {
  explicit Impl(FlowTableConfig c) : config(c) {}

  FlowTableConfig config;
  FlowTableStats stats;
  SimTime clock = std::numeric_limits<SimTime>::min();

  EntrySlab entries;  // subtable hashers point at it
  std::uint32_t free_head = kNil;
  std::uint32_t lru_head = kNil;  // most recently used
  std::uint32_t lru_tail = kNil;
  std::size_t size = 0;

  std::vector<Subtable> subtables;  // creation order = search order

  std::vector<TagSet> sets;  // the set index's hashers point at this vector
  SetIds set_index{0, SetHash{&sets}, SetEq{&sets}};
  std::vector<std::uint32_t> free_sets;
  std::size_t dead_sets = 0;                            // sets in use with no flow
  absl::flat_hash_map<FlowTag, SetList, TagHash> tags;  // tag -> sets (live or dead) carrying it

  void advance_clock(SimTime now) {
    HIVESIM_CHECK(now >= clock, "flow table time went backwards");
    clock = now;
  }

  bool expired(const Entry& e, SimTime now) const { return now - e.last_used >= config.idle; }

  std::size_t find_subtable(FieldMask mask) const {
    for (std::size_t i = 0; i < subtables.size(); ++i) {
      if (subtables[i].mask == mask) return i;
    }
    return subtables.size();
  }

  void unlink(std::uint32_t id) {
    Entry& e = entries[id];
    (e.prev == kNil ? lru_head : entries[e.prev].next) = e.next;
    (e.next == kNil ? lru_tail : entries[e.next].prev) = e.prev;
  }

  void link_front(std::uint32_t id) {
    Entry& e = entries[id];
    e.prev = kNil;
    e.next = lru_head;
    (lru_head == kNil ? lru_tail : entries[lru_head].prev) = id;
    lru_head = id;
  }

  std::uint32_t allocate() {
    if (free_head != kNil) {
      const std::uint32_t id = free_head;
      free_head = entries[id].next;
      return id;
    }
    HIVESIM_CHECK(entries.size() < kNil, "flow table slab full");
    entries.emplace_back();
    return static_cast<std::uint32_t>(entries.size() - 1);
  }

  /// Unlinks the flow from the LRU list, its subtable (dropping it when empty) and the tag
  /// accounting, and frees its slot.
  void remove(std::uint32_t id) {
    Entry& e = entries[id];
    unlink(id);
    const std::size_t si = find_subtable(e.mask);
    HIVESIM_CHECK(si < subtables.size(), "flow without a subtable");
    subtables[si].ids.erase(make_slot(id, e.key));
    if (subtables[si].ids.empty())
      subtables.erase(subtables.begin() + static_cast<std::ptrdiff_t>(si));
    leave_set(id);
    // clear() also frees an output list that had spilled to the heap.
    e.actions.verdict = Verdict::kDropped;
    e.actions.drop_id = 0;
    e.actions.outputs.clear();
    e.prev = kNil;
    e.next = free_head;
    free_head = id;
    --size;
  }

  /// The set of `tags` (sorted, unique), made when new.
  std::uint32_t set_of(std::span<const FlowTag> sorted) {
    const auto it = set_index.find(sorted);
    if (it != set_index.end()) return *it;
    std::uint32_t sid;
    if (!free_sets.empty()) {
      sid = free_sets.back();
      free_sets.pop_back();
    } else {
      HIVESIM_CHECK(sets.size() < kNil, "flow table tag sets full");
      sid = static_cast<std::uint32_t>(sets.size());
      sets.emplace_back();
    }
    sets[sid].tags.assign(sorted.begin(), sorted.end());
    set_index.insert(sid);
    for (const FlowTag t : sorted)
      tags[t].push_back(sid);
    ++dead_sets;  // no flow yet: join_set() counts it live
    return sid;
  }

  void join_set(std::uint32_t id, std::uint32_t sid) {
    Entry& e = entries[id];
    TagSet& s = sets[sid];
    e.set = sid;
    e.set_prev = kNil;
    e.set_next = s.head;
    if (s.head != kNil) entries[s.head].set_prev = id;
    s.head = id;
    if (s.flows++ == 0) --dead_sets;
  }

  void leave_set(std::uint32_t id) {
    Entry& e = entries[id];
    TagSet& s = sets[e.set];
    (e.set_prev == kNil ? s.head : entries[e.set_prev].set_next) = e.set_next;
    if (e.set_next != kNil) entries[e.set_next].set_prev = e.set_prev;
    if (--s.flows == 0) ++dead_sets;
    e.set = e.set_prev = e.set_next = kNil;
  }

  /// Frees the sets without flows once they outnumber the live ones, and rebuilds the tag index
  /// from the live sets (in set order). Amortised O(tags) per freed set.
  void maybe_sweep_sets() {
    if (dead_sets <= sets.size() - free_sets.size() - dead_sets + kSetSlack) return;
    tags.clear();
    std::vector<bool> is_free(sets.size(), false);
    for (std::uint32_t sid : free_sets)
      is_free[sid] = true;
    for (std::uint32_t sid = 0; sid < sets.size(); ++sid) {
      if (is_free[sid]) continue;
      TagSet& s = sets[sid];
      if (s.flows == 0) {
        set_index.erase(sid);
        s.tags = std::vector<FlowTag>();
        free_sets.push_back(sid);
        continue;
      }
      for (const FlowTag t : s.tags)
        tags[t].push_back(sid);
    }
    dead_sets = 0;
  }
};

FlowTable::FlowTable(FlowTableConfig config) : impl_(std::make_unique<Impl>(config)) {
  HIVESIM_CHECK(config.capacity >= 1, "flow table capacity must be at least 1");
  HIVESIM_CHECK(config.idle > 0, "flow idle time must be positive");
}

FlowTable::~FlowTable() = default;
FlowTable::FlowTable(FlowTable&&) noexcept = default;
FlowTable& FlowTable::operator=(FlowTable&&) noexcept = default;

const FlowActions* FlowTable::lookup(const FlowKey& key, SimTime now) {
  Impl& t = *impl_;
  t.advance_clock(now);
  const Words packed = pack(key);
  for (std::size_t i = 0; i < t.subtables.size();) {
    const Subtable& st = t.subtables[i];
    const auto it = st.ids.find(packed & st.bits);
    if (it == st.ids.end()) {
      ++i;
      continue;
    }
    const std::uint32_t id = slot_id(*it);
    Entry& e = t.entries[id];
    if (t.expired(e, now)) {
      const std::size_t before = t.subtables.size();
      t.remove(id);
      ++t.stats.expired;
      // When that was the subtable's last flow, the next subtable has moved into slot i.
      if (t.subtables.size() == before) ++i;
      continue;
    }
    e.last_used = now;
    if (t.lru_head != id) {
      t.unlink(id);
      t.link_front(id);
    }
    ++t.stats.hits;
    return &e.actions;
  }
  ++t.stats.misses;
  t.maybe_sweep_sets();
  return nullptr;
}

void FlowTable::install(const FlowKey& key, FieldMask mask, std::span<const FlowTag> tags,
                        FlowActions actions, SimTime now) {
  Impl& t = *impl_;
  HIVESIM_CHECK((mask.bits & ~kKnownFields) == 0, "flow mask has unknown fields");
  HIVESIM_CHECK(actions.verdict == Verdict::kDelivered ||
                    (actions.verdict == Verdict::kDropped && actions.outputs.empty()),
                "installed flow must be delivered, or dropped without outputs");
  t.advance_clock(now);

  std::size_t si = t.find_subtable(mask);
  const Words bits = si < t.subtables.size() ? t.subtables[si].bits : word_mask(mask);
  const Words mkey = pack(key) & bits;

  std::uint32_t id = kNil;
  if (si < t.subtables.size()) {
    const auto it = t.subtables[si].ids.find(mkey);
    if (it != t.subtables[si].ids.end()) id = slot_id(*it);
  }
  if (id != kNil) {
    // Replace in place: it leaves its tag set (and joins its new one below).
    t.leave_set(id);
    t.unlink(id);
  } else {
    if (t.size >= t.config.capacity) {
      t.remove(t.lru_tail);
      ++t.stats.evicted;
      si = t.find_subtable(mask);  // the eviction may have dropped (or moved) the subtable
    }
    if (si == t.subtables.size()) {
      t.subtables.push_back(Subtable{mask, bits, IdSet(0, IdHash{}, IdEq{&t.entries})});
    }
    id = t.allocate();
    Entry& e = t.entries[id];
    e.key = mkey;
    e.mask = mask;
    t.subtables[si].ids.insert(make_slot(id, mkey));
    ++t.size;
  }

  Entry& e = t.entries[id];
  e.actions = std::move(actions);
  e.last_used = now;
  t.link_front(id);
  if (std::is_sorted(tags.begin(), tags.end()) &&
      std::adjacent_find(tags.begin(), tags.end()) == tags.end()) {
    t.join_set(id, t.set_of(tags));
  } else {
    absl::InlinedVector<FlowTag, 16> sorted(tags.begin(), tags.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    t.join_set(id, t.set_of(sorted));
  }

  ++t.stats.installed;
  t.stats.peak = std::max<std::uint64_t>(t.stats.peak, t.size);
  t.maybe_sweep_sets();
}

std::size_t FlowTable::invalidate(FlowTag tag) {
  Impl& t = *impl_;
  const auto it = t.tags.find(tag);
  if (it == t.tags.end()) return 0;
  // remove() leaves the index alone: the sets stay (dead) until a sweep.
  std::size_t removed = 0;
  for (const std::uint32_t sid : it->second) {
    while (t.sets[sid].head != kNil) {
      t.remove(t.sets[sid].head);
      ++removed;
    }
  }
  t.stats.invalidated += removed;
  t.maybe_sweep_sets();
  return removed;
}

std::size_t FlowTable::expire(SimTime now) {
  Impl& t = *impl_;
  t.advance_clock(now);
  std::size_t removed = 0;
  while (t.lru_tail != kNil && t.expired(t.entries[t.lru_tail], now)) {
    t.remove(t.lru_tail);
    ++removed;
  }
  t.stats.expired += removed;
  t.maybe_sweep_sets();
  return removed;
}

void FlowTable::clear() {
  Impl& t = *impl_;
  // Move-assigning empty containers releases their memory; subtables go first, as their
  // hashers read the entries.
  t.subtables = std::vector<Subtable>();
  t.entries = EntrySlab();
  t.tags = decltype(t.tags)();
  t.set_index = SetIds(0, SetHash{&t.sets}, SetEq{&t.sets});
  t.sets = std::vector<TagSet>();
  t.free_sets = std::vector<std::uint32_t>();
  t.dead_sets = 0;
  t.free_head = t.lru_head = t.lru_tail = kNil;
  t.size = 0;
}

std::size_t FlowTable::size() const {
  return impl_->size;
}
const FlowTableStats& FlowTable::stats() const {
  return impl_->stats;
}
const FlowTableConfig& FlowTable::config() const {
  return impl_->config;
}

void FlowTable::check_invariants() const {
  const Impl& t = *impl_;
  std::size_t count = 0;
  std::uint32_t prev = kNil;
  for (std::uint32_t id = t.lru_head; id != kNil; id = t.entries[id].next) {
    const Entry& e = t.entries[id];
    HIVESIM_CHECK(e.live(), "dead entry on the LRU list");
    HIVESIM_CHECK(e.prev == prev, "LRU back link");
    HIVESIM_CHECK(prev == kNil || t.entries[prev].last_used >= e.last_used, "LRU order");
    const std::size_t si = t.find_subtable(e.mask);
    HIVESIM_CHECK(si < t.subtables.size(), "flow without a subtable");
    const auto it = t.subtables[si].ids.find(e.key);
    HIVESIM_CHECK(it != t.subtables[si].ids.end() && *it == make_slot(id, e.key),
                  "flow not in its subtable");
    HIVESIM_CHECK((e.key & t.subtables[si].bits) == e.key, "stored key not masked");
    HIVESIM_CHECK(e.set < t.sets.size() && t.sets[e.set].flows > 0, "flow outside a live set");
    prev = id;
    ++count;
    HIVESIM_CHECK(count <= t.entries.size(), "LRU cycle");
  }
  HIVESIM_CHECK(prev == t.lru_tail, "LRU tail");
  HIVESIM_CHECK(count == t.size, "LRU length");
  HIVESIM_CHECK(t.size <= t.config.capacity, "over capacity");
  std::size_t in_subtables = 0;
  for (std::size_t i = 0; i < t.subtables.size(); ++i) {
    HIVESIM_CHECK(!t.subtables[i].ids.empty(), "empty subtable kept");
    HIVESIM_CHECK(t.find_subtable(t.subtables[i].mask) == i, "two subtables with one mask");
    in_subtables += t.subtables[i].ids.size();
  }
  HIVESIM_CHECK(in_subtables == t.size, "subtable sizes");
  std::size_t free_count = 0;
  for (std::uint32_t id = t.free_head; id != kNil; id = t.entries[id].next) {
    HIVESIM_CHECK(!t.entries[id].live(), "live entry on the free list");
    HIVESIM_CHECK(++free_count <= t.entries.size(), "free list cycle");
  }
  HIVESIM_CHECK(free_count + t.size == t.entries.size(), "slab accounting");
  std::vector<bool> is_free(t.sets.size(), false);
  for (std::uint32_t sid : t.free_sets) {
    HIVESIM_CHECK(sid < t.sets.size() && !is_free[sid], "free set list");
    is_free[sid] = true;
  }
  std::size_t in_sets = 0;
  std::size_t dead = 0;
  for (std::uint32_t sid = 0; sid < t.sets.size(); ++sid) {
    if (is_free[sid]) continue;
    const TagSet& set = t.sets[sid];
    HIVESIM_CHECK(std::is_sorted(set.tags.begin(), set.tags.end()) &&
                      std::adjacent_find(set.tags.begin(), set.tags.end()) == set.tags.end(),
                  "set tags sorted and unique");
    const auto found = t.set_index.find(std::span<const FlowTag>(set.tags));
    HIVESIM_CHECK(found != t.set_index.end() && *found == sid, "set not in the set index");
    std::size_t flows = 0;
    std::uint32_t back = kNil;
    for (std::uint32_t id = set.head; id != kNil; id = t.entries[id].set_next) {
      HIVESIM_CHECK(t.entries[id].live() && t.entries[id].set == sid, "set member");
      HIVESIM_CHECK(t.entries[id].set_prev == back, "set back link");
      back = id;
      HIVESIM_CHECK(++flows <= t.size, "set list cycle");
    }
    HIVESIM_CHECK(flows == set.flows, "set flow count");
    in_sets += flows;
    if (flows == 0) ++dead;
    for (const FlowTag tag : set.tags) {
      const auto it = t.tags.find(tag);
      HIVESIM_CHECK(it != t.tags.end() &&
                        std::find(it->second.begin(), it->second.end(), sid) != it->second.end(),
                    "set missing from its tags' lists");
    }
  }
  HIVESIM_CHECK(in_sets == t.size, "flows in sets");
  HIVESIM_CHECK(dead == t.dead_sets, "dead set count");
  HIVESIM_CHECK(t.set_index.size() + t.free_sets.size() == t.sets.size(), "set index size");
  for (const auto& [tag, list] : t.tags) {
    for (const std::uint32_t sid : list) {
      HIVESIM_CHECK(sid < t.sets.size() && !is_free[sid], "tag lists a freed set");
      HIVESIM_CHECK(std::binary_search(t.sets[sid].tags.begin(), t.sets[sid].tags.end(), tag),
                    "tag lists a set without it");
    }
  }
}

std::optional<FlowActions> flow_actions_for(const Packet& in, const SimulationResult& result) {
  if (result.verdict == Verdict::kConsumed) return std::nullopt;
  FlowActions actions;
  actions.verdict = result.verdict;
  for (const OutPacket& o : result.out) {
    if (o.generated) return std::nullopt;
    auto rewrite = rewrite_between(in, o.packet);
    if (!rewrite) return std::nullopt;
    actions.outputs.push_back(FlowOutput{o.port, std::move(*rewrite)});
  }
  if (result.balanced && result.balanced->vip.value < UINT16_MAX) {
    actions.balanced_vip = static_cast<std::uint16_t>(result.balanced->vip.value + 1);
  }
  return actions;
}

}  // namespace hivesim
