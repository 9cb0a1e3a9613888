#pragma once
// Internal to the topology library: a small schema walker over YAML nodes (yaml_doc.hpp) for the
// scenario loader. Every conversion reports its own problem (with the node's mark and the name of
// the entity being read) into a Diagnostics sink and returns std::nullopt, so the loader can keep
// going and report everything at once. Nothing here throws.

#include <absl/container/inlined_vector.h>

#include "topology/load/yaml_doc.hpp"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "topology/load/loader.hpp"
#include "topology/model.hpp"

namespace hivesim::yaml_schema {

/// Collects problems as Diagnostics for one file.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(SourceLoc at, std::string message);
  void error(const yaml::Node& at, std::string message) { error(loc_of(at), std::move(message)); }
  bool empty() const { return errors_.empty(); }
  /// All problems in document order (stable for equal positions).
  std::vector<Diagnostic> take_sorted();

  /// The 1-based position of a node (0:0 if it has none).
  static SourceLoc loc_of(const yaml::Node& node);

 private:
  std::string file_;
  std::vector<Diagnostic> errors_;
};

/// "did you mean 'x'?" material: the candidate closest to `word` by edit distance, if close
/// enough to be a plausible typo.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& options);
/// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& options);

/// "'text'" for messages: quote_excerpt() (base/excerpt.hpp), long or multi-line text
/// shortened on a UTF-8 boundary.
std::string quoted(std::string_view text);

class MapReader;

/// One value in the document: the node, the entity it belongs to ("bridge 'web'") and the key it
/// was found under ("ip"), so every conversion can name what was wrong.
class Field {
 public:
  Field(Diagnostics& diags, yaml::Node node, std::string owner, std::string key)
      : Field(diags, std::move(node), std::make_shared<const std::string>(std::move(owner)),
              std::move(key)) {}
  /// The same, sharing the owner's name: a map's fields are read by the million, and copying
  /// "bridge 'b': port 'p'" into each was the loader's most frequent allocation.
  Field(Diagnostics& diags, yaml::Node node, std::shared_ptr<const std::string> owner,
        std::string key)
      : diags_(&diags), node_(std::move(node)), owner_(std::move(owner)), key_(std::move(key)) {}

  const yaml::Node& node() const { return node_; }
  const std::string& owner() const { return *owner_; }
  const std::shared_ptr<const std::string>& shared_owner() const { return owner_; }
  const std::string& key() const { return key_; }
  SourceLoc loc() const { return Diagnostics::loc_of(node_); }
  bool is_scalar() const { return node_.is_scalar(); }
  bool is_map() const { return node_.is_map(); }
  bool is_sequence() const { return node_.is_sequence(); }

  /// Reports "OWNER: MESSAGE" at this node.
  void error(std::string_view message) const;

  /// A non-empty scalar (names, packet specs, paths).
  std::optional<std::string> text() const;
  /// The same, as a view into the document (which outlives the load).
  std::optional<std::string_view> text_view() const;
  /// A decimal integer in [min, max].
  std::optional<std::uint64_t> integer(std::uint64_t min, std::uint64_t max) const;
  /// Same, also accepting "0x" hexadecimal (ethertypes).
  std::optional<std::uint64_t> integer_or_hex(std::uint64_t min, std::uint64_t max) const;
  /// A finite number in [min, max].
  std::optional<double> number(double min, double max) const;
  std::optional<bool> boolean() const;
  std::optional<Ipv4> ip() const;
  /// "A.B.C.D/LEN"; a bare address is accepted as /32 only when `allow_bare`.
  std::optional<Ipv4Prefix> cidr(bool allow_bare) const;
  std::optional<Mac> mac() const;
  /// `positive`: zero is rejected too.
  std::optional<SimTime> duration(bool positive) const;
  /// "200/s", "5/ms", "60/m".
  std::optional<double> rate() const;
  std::optional<std::uint64_t> bandwidth() const;
  /// N or "N-M" with min <= N <= M <= 65535.
  std::optional<PortRange> port_range(std::uint16_t min) const;
  /// "tcp"/"udp"/"icmp" or 0..255.
  std::optional<std::uint8_t> protocol() const;

  /// One of a closed set of words.
  template <class E>
  std::optional<E> choice(std::initializer_list<std::pair<std::string_view, E>> options) const {
    auto word = text_view();
    if (!word) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& [name, value] : options) {
      if (*word == name) return value;
      names.emplace_back(name);
    }
    bad_choice(*word, names);
    return std::nullopt;
  }

  /// The items of a sequence (a null value is an empty list); an error for anything else.
  std::vector<Field> items(std::string_view item_owner_prefix) const;
  /// A single scalar or a sequence of scalars, as Fields (for "name or list of names").
  std::vector<Field> one_or_many() const;
  /// The entries of a map (null is empty) as (key field, value field); duplicate keys are
  /// reported. The fields are named "KEY KEY_NAME" and "KEY VALUE_NAME" ("arp_table ip").
  std::vector<std::pair<Field, Field>> entries(std::string_view key_name,
                                               std::string_view value_name) const;
  /// Reads this value as a map with the given keys.
  MapReader map(std::string owner, std::initializer_list<std::string_view> keys) const;

 private:
  std::optional<std::string_view> scalar(std::string_view expected) const;
  std::optional<std::uint64_t> parse_integer(std::uint64_t min, std::uint64_t max,
                                             bool allow_hex) const;
  void bad_choice(std::string_view word, const std::vector<std::string>& names) const;

  Diagnostics* diags_;
  yaml::Node node_;
  std::shared_ptr<const std::string> owner_;
  std::string key_;
};

/// A YAML map read against a fixed set of keys. Construction reports a value that is not a map,
/// duplicate keys and unknown keys (with a suggestion for near misses); afterwards `get` hands
/// out the values of known keys.
class MapReader {
 public:
  MapReader(Diagnostics& diags, const yaml::Node& node, std::string owner,
            std::initializer_list<std::string_view> keys);

  /// False if the node was not a map (already reported); every get() is then empty.
  bool ok() const { return ok_; }
  const std::string& owner() const { return *owner_; }
  SourceLoc loc() const { return Diagnostics::loc_of(node_); }
  const yaml::Node& node() const { return node_; }
  Diagnostics& diags() const { return *diags_; }

  bool has(std::string_view key) const;
  /// The value under `key` if present (`key` must be one of the declared keys).
  std::optional<Field> get(std::string_view key) const;
  /// Same, but a missing key is reported ("OWNER: missing 'KEY'") at the map.
  std::optional<Field> require(std::string_view key) const;
  /// Reports "OWNER: MESSAGE" at the map.
  void error(std::string_view message) const;

 private:
  /// The position of `key` among the declared keys, or -1.
  int index_of(std::string_view key) const;

  Diagnostics* diags_;
  yaml::Node node_;
  std::shared_ptr<const std::string> owner_;  // shared with the fields handed out
  bool ok_ = false;
  // Keys are the caller's string literals and values' names point into the document, which
  // outlives the load: no string is copied per map (a 100,000-port scenario reads ~1M maps).
  absl::InlinedVector<std::string_view, 16> keys_;
  // The value of each declared key, by its position in keys_ (undefined when absent): a get()
  // is one search of the short key list, not of the map's entries too.
  absl::InlinedVector<yaml::Node, 16> values_;
  // keys_'s positions by a hash of the key (slot_of), -1 for an empty slot; at most 32 keys.
  static constexpr std::size_t kSlots = 64;
  static std::size_t slot_of(std::string_view key);
  std::array<std::int8_t, kSlots> slots_;
};

/// Reads the map's `name` key without reporting anything (for the declaration pass).
std::optional<std::string> peek_name(const yaml::Node& node);
/// The items of a sequence node, or nothing (for the declaration pass).
std::vector<yaml::Node> peek_items(const yaml::Node& node);
/// A key of a map node, or an undefined node.
yaml::Node peek(const yaml::Node& node, std::string_view key);

}  // namespace hivesim::yaml_schema
