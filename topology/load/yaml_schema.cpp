#include "topology/load/yaml_schema.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "base/excerpt.hpp"
#include "base/ip_proto.hpp"

namespace hivesim::yaml_schema {

namespace {

/// The protocol words of the scenario language, for "did you mean".
std::vector<std::string> modelled_protocols() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ipproto::kModelled; ++i)
    out.emplace_back(ipproto::kTable[i].name);
  return out;
}

/// "a map", "a list", "'word'", "nothing": what a node is, for "expected X, got Y" messages.
std::string describe(const yaml::Node& node) {
  if (!node.is_defined() || node.is_null()) return "nothing";
  if (node.is_map()) return "a map";
  if (node.is_sequence()) return "a list";
  return quoted(node.scalar());
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions ("agnet" -> "agent") each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

/// YAML 1.1 booleans as yaml-cpp read them: y/yes/true/on and n/no/false/off, in lower case,
/// upper case or with a capital first letter.
bool parse_bool(std::string_view s, bool& value) {
  if (s.empty()) return false;
  const bool lower = std::all_of(
      s.begin(), s.end(), [](char c) { return !std::isupper(static_cast<unsigned char>(c)); });
  const bool upper = std::all_of(
      s.begin(), s.end(), [](char c) { return !std::islower(static_cast<unsigned char>(c)); });
  const bool capital = std::isupper(static_cast<unsigned char>(s[0])) &&
                       std::all_of(s.begin() + 1, s.end(), [](char c) {
                         return !std::isupper(static_cast<unsigned char>(c));
                       });
  if (!lower && !upper && !capital) return false;
  std::string folded(s);
  for (char& c : folded)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto [yes, no] : {std::pair{"y", "n"}, {"yes", "no"}, {"true", "false"}, {"on", "off"}}) {
    if (folded == yes) {
      value = true;
      return true;
    }
    if (folded == no) {
      value = false;
      return true;
    }
  }
  return false;
}

bool looks_like_number(std::string_view s) {
  double ignored = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ignored);
  return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void Diagnostics::error(SourceLoc at, std::string message) {
  errors_.push_back(Diagnostic{file_, at.line, at.col, std::move(message)});
}

std::vector<Diagnostic> Diagnostics::take_sorted() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.line, a.col) < std::pair(b.line, b.col);
  });
  return std::move(errors_);
}

SourceLoc Diagnostics::loc_of(const yaml::Node& node) {
  if (!node.is_defined()) return {};
  const yaml::Mark mark = node.mark();
  return SourceLoc{mark.line + 1, mark.column + 1};
}

constexpr std::size_t kMaxSuggestedLength = 100;

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& options) {
  std::optional<std::string> best;
  // No suggestion for a long word: nobody mistypes 100 characters, and the edit distance costs
  // the product of the lengths (a hostile 1 MB name against many names would take hours).
  if (word.size() > kMaxSuggestedLength) return best;
  // A plausible typo: at most one edit per three characters (and at least one allowed).
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto& option : options) {
    // The lengths' difference is a lower bound of the distance: skip the hopeless ones cheaply.
    const std::size_t gap =
        option.size() > word.size() ? option.size() - word.size() : word.size() - option.size();
    if (gap >= best_distance) continue;
    const std::size_t d = edit_distance(word, option);
    if (d < best_distance && d < std::max(word.size(), option.size())) {
      best_distance = d;
      best = option;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& options) {
  auto best = closest(word, options);
  return best ? " (did you mean '" + *best + "'?)" : "";
}

std::string quoted(std::string_view text) {
  return quote_excerpt(text);
}

// ---------------------------------------------------------------------------------------------
// Field

void Field::error(std::string_view message) const {
  diags_->error(node_,
                owner_->empty() ? std::string(message) : *owner_ + ": " + std::string(message));
}

std::optional<std::string_view> Field::scalar(std::string_view expected) const {
  if (node_.is_scalar()) return node_.scalar();
  if (node_.is_null()) {
    error("'" + key_ + "' has no value");
  } else {
    error(key_ + " must be " + std::string(expected) + ", not " + describe(node_));
  }
  return std::nullopt;
}

std::optional<std::string> Field::text() const {
  auto s = text_view();
  if (!s) return std::nullopt;
  return std::string(*s);
}

std::optional<std::string_view> Field::text_view() const {
  auto s = scalar("a single value");
  if (s && s->empty()) {
    error("'" + key_ + "' is empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::uint64_t> Field::integer(std::uint64_t min, std::uint64_t max) const {
  return parse_integer(min, max, false);
}

std::optional<std::uint64_t> Field::integer_or_hex(std::uint64_t min, std::uint64_t max) const {
  return parse_integer(min, max, true);
}

std::optional<std::uint64_t> Field::parse_integer(std::uint64_t min, std::uint64_t max,
                                                  bool allow_hex) const {
  auto s = scalar("a number");
  if (!s) return std::nullopt;
  const std::string_view t = *s;
  std::uint64_t value = 0;
  const bool hex = allow_hex && t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
  const char* first = t.data() + (hex ? 2 : 0);
  const char* last = t.data() + t.size();
  auto [end, ec] = std::from_chars(first, last, value, hex ? 16 : 10);
  if (t.empty() || ec == std::errc::invalid_argument || end != last) {
    if (!t.empty() && t[0] == '-' && looks_like_number(t)) {
      error(key_ + " must not be negative, got " + quoted(t));
    } else if (looks_like_number(t)) {
      error(key_ + " must be a whole number, got " + quoted(t));
    } else {
      error(key_ + " must be a number, got " + quoted(t));
    }
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value > max) {
    error(key_ + " must be at most " + std::to_string(max) + ", got " + std::string(t));
    return std::nullopt;
  }
  if (value < min) {
    error(key_ + " must be at least " + std::to_string(min) + ", got " + std::string(t));
    return std::nullopt;
  }
  return value;
}

std::optional<double> Field::number(double min, double max) const {
  auto s = scalar("a number");
  if (!s) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
  if (ec != std::errc{} || end != s->data() + s->size() || !std::isfinite(value)) {
    error(key_ + " must be a number, got " + quoted(*s));
    return std::nullopt;
  }
  if (value < min || value > max) {
    auto show = [](double v) {
      std::string out = std::to_string(v);
      out.erase(out.find_last_not_of('0') + 1);
      if (out.back() == '.') out.pop_back();
      return out;
    };
    error(key_ + " must be between " + show(min) + " and " + show(max) + ", got " +
          std::string(*s));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> Field::boolean() const {
  auto s = scalar("true or false");
  if (!s) return std::nullopt;
  bool value = false;
  if (!parse_bool(*s, value)) {
    error(key_ + " must be true or false, got " + quoted(*s));
    return std::nullopt;
  }
  return value;
}

std::optional<Ipv4> Field::ip() const {
  auto s = text_view();
  if (!s) return std::nullopt;
  auto value = Ipv4::parse(*s);
  if (!value) {
    const bool has_len = s->find('/') != std::string::npos;
    error(key_ + " " + quoted(*s) + " is not an IPv4 address" +
          (has_len ? " (a bare address is expected here, without /LEN)" : ""));
  }
  return value;
}

std::optional<Ipv4Prefix> Field::cidr(bool allow_bare) const {
  auto s = text_view();
  if (!s) return std::nullopt;
  auto value = Ipv4Prefix::parse(*s);
  if (!value) {
    error(key_ + " " + quoted(*s) + " is not a CIDR (expected A.B.C.D/LEN)");
  } else if (!allow_bare && s->find('/') == std::string::npos) {
    error(key_ + " " + quoted(*s) + " needs a prefix length (e.g. " + excerpt(*s) + "/24)");
    return std::nullopt;
  }
  return value;
}

std::optional<Mac> Field::mac() const {
  auto s = text_view();
  if (!s) return std::nullopt;
  auto value = Mac::parse(*s);
  if (!value) error(key_ + " " + quoted(*s) + " is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
  return value;
}

std::optional<SimTime> Field::duration(bool positive) const {
  auto s = text_view();
  if (!s) return std::nullopt;
  auto value = parse_duration(*s);
  if (!value) {
    error(key_ + " " + quoted(*s) + " is not a duration (e.g. 250ns, 10us, 5ms, 2s, 1m)");
  } else if (positive && *value == 0) {
    error(key_ + " must be more than 0");
    return std::nullopt;
  }
  return value;
}

std::optional<double> Field::rate() const {
  auto s = text_view();
  if (!s) return std::nullopt;
  auto value = parse_rate(*s);
  if (!value) error(key_ + " " + quoted(*s) + " is not a rate (e.g. 200/s, 5/ms, 60/m)");
  return value;
}

std::optional<std::uint64_t> Field::bandwidth() const {
  auto s = text_view();
  if (!s) return std::nullopt;
  auto value = parse_bandwidth(*s);
  if (!value) error(key_ + " " + quoted(*s) + " is not a bandwidth (e.g. 10Gbps, 100Mbps)");
  return value;
}

std::optional<PortRange> Field::port_range(std::uint16_t min) const {
  auto s = text_view();
  if (!s) return std::nullopt;
  auto number = [](std::string_view part) -> std::optional<std::uint16_t> {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || value > 65535) {
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
  };
  const std::string_view t = *s;
  const std::size_t dash = t.find('-');
  auto lo = number(t.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : number(t.substr(dash + 1));
  if (!lo || !hi || *lo > *hi || *lo < min) {
    error(key_ + " " + quoted(t) + " is not a port or port range (" + std::to_string(min) +
          "-65535, e.g. 80 or 8000-8080)");
    return std::nullopt;
  }
  return PortRange{*lo, *hi};
}

std::optional<std::uint8_t> Field::protocol() const {
  auto s = text_view();
  if (!s) return std::nullopt;
  if (auto word = ipproto::from_name(*s)) return *word;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
  if (ec != std::errc{} || end != s->data() + s->size() || value > 255) {
    error(key_ + " " + quoted(*s) + " is not a protocol (tcp, udp, icmp or 0-255)" +
          did_you_mean(*s, modelled_protocols()));
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(value);
}

void Field::bad_choice(std::string_view word, const std::vector<std::string>& names) const {
  error(key_ + " " + quoted(word) + " is not one of " + join(names) + did_you_mean(word, names));
}

std::vector<Field> Field::items(std::string_view item_key) const {
  std::vector<Field> out;
  if (node_.is_null()) return out;
  if (!node_.is_sequence()) {
    error(key_ + " must be a list, not " + describe(node_));
    return out;
  }
  for (yaml::Node item : node_.items())
    out.emplace_back(*diags_, item, owner_, std::string(item_key));
  return out;
}

std::vector<Field> Field::one_or_many() const {
  if (node_.is_scalar()) return {*this};
  if (node_.is_sequence()) {
    std::vector<Field> out;
    for (yaml::Node item : node_.items())
      out.emplace_back(*diags_, item, owner_, key_);
    return out;
  }
  error(key_ + " must be a name or a list of names, not " + describe(node_));
  return {};
}

std::vector<std::pair<Field, Field>> Field::entries(std::string_view key_name,
                                                    std::string_view value_name) const {
  std::vector<std::pair<Field, Field>> out;
  if (node_.is_null()) return out;
  if (!node_.is_map()) {
    error(key_ + " must be a map, not " + describe(node_));
    return out;
  }
  std::vector<std::string_view> seen;
  for (const auto& kv : node_.entries()) {
    Field key(*diags_, kv.first, owner_, key_ + " " + std::string(key_name));
    if (kv.first.is_scalar()) {
      if (std::find(seen.begin(), seen.end(), kv.first.scalar()) != seen.end()) {
        key.error(key_ + ": duplicate key " + quoted(kv.first.scalar()));
        continue;
      }
      seen.push_back(kv.first.scalar());
    }
    out.emplace_back(key, Field(*diags_, kv.second, owner_, key_ + " " + std::string(value_name)));
  }
  return out;
}

MapReader Field::map(std::string owner, std::initializer_list<std::string_view> keys) const {
  return MapReader(*diags_, node_, std::move(owner), keys);
}

// ---------------------------------------------------------------------------------------------
// MapReader

MapReader::MapReader(Diagnostics& diags, const yaml::Node& node, std::string owner,
                     std::initializer_list<std::string_view> keys)
    : diags_(&diags),
      node_(node),
      owner_(std::make_shared<const std::string>(std::move(owner))),
      keys_(keys.begin(), keys.end()),
      values_(keys.size()) {
  slots_.fill(-1);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    std::size_t s = slot_of(keys_[i]);
    while (slots_[s] >= 0)
      s = (s + 1) & (kSlots - 1);
    slots_[s] = static_cast<std::int8_t>(i);
  }
  if (node.is_null()) {
    ok_ = true;
    return;
  }
  if (!node.is_map()) {
    error("expected a map (key: value pairs), got " + describe(node));
    return;
  }
  ok_ = true;
  for (const auto& kv : node.entries()) {
    auto key = [&] { return Field(diags, kv.first, owner_, "key"); };
    if (!kv.first.is_scalar()) {
      key().error("a key must be a plain word, not " + describe(kv.first));
      continue;
    }
    const std::string_view name = kv.first.scalar();
    const int at = index_of(name);
    if (at >= 0 && values_[static_cast<std::size_t>(at)].is_defined()) {
      key().error("duplicate key " + quoted(name));
    } else if (at < 0) {
      key().error("unknown key " + quoted(name) +
                  did_you_mean(name, std::vector<std::string>(keys_.begin(), keys_.end())));
    } else {
      values_[static_cast<std::size_t>(at)] = kv.second;
    }
  }
}

std::size_t MapReader::slot_of(std::string_view key) {
  const std::size_t n = key.size();
  const unsigned first = n ? static_cast<unsigned char>(key[0]) : 0;
  const unsigned last = n ? static_cast<unsigned char>(key[n - 1]) : 0;
  return (n * 31 + first * 7 + last) & (kSlots - 1);
}

int MapReader::index_of(std::string_view key) const {
  // A key is found (or known absent) by a probe of a small open-addressed table, not a search
  // of the key list: most of the keys a reader asks for are absent from a given map.
  for (std::size_t s = slot_of(key);; s = (s + 1) & (kSlots - 1)) {
    const int at = slots_[s];
    if (at < 0) return -1;
    const std::string_view k = keys_[static_cast<std::size_t>(at)];
    // Keys are short words: compared inline rather than by a call to memcmp.
    if (k.size() == key.size() && std::equal(k.begin(), k.end(), key.begin())) return at;
  }
}

bool MapReader::has(std::string_view key) const {
  const int at = index_of(key);
  return at >= 0 && values_[static_cast<std::size_t>(at)].is_defined();
}

std::optional<Field> MapReader::get(std::string_view key) const {
  const int at = index_of(key);
  if (at < 0 || !values_[static_cast<std::size_t>(at)].is_defined()) return std::nullopt;
  return Field(*diags_, values_[static_cast<std::size_t>(at)], owner_, std::string(key));
}

std::optional<Field> MapReader::require(std::string_view key) const {
  auto field = get(key);
  if (!field && ok_) error("missing '" + std::string(key) + "'");
  return field;
}

void MapReader::error(std::string_view message) const {
  diags_->error(node_,
                owner_->empty() ? std::string(message) : *owner_ + ": " + std::string(message));
}

// ---------------------------------------------------------------------------------------------

yaml::Node peek(const yaml::Node& node, std::string_view key) {
  if (node.is_map()) {
    for (const auto& kv : node.entries()) {
      if (kv.first.is_scalar() && kv.first.scalar() == key) return kv.second;
    }
  }
  return yaml::Node();
}

std::optional<std::string> peek_name(const yaml::Node& node) {
  const yaml::Node name = peek(node, "name");
  if (name.is_scalar() && !name.scalar().empty()) return std::string(name.scalar());
  return std::nullopt;
}

std::vector<yaml::Node> peek_items(const yaml::Node& node) {
  std::vector<yaml::Node> out;
  if (node.is_sequence()) {
    for (yaml::Node item : node.items())
      out.push_back(item);
  }
  return out;
}

}  // namespace hivesim::yaml_schema
