#include "sim/packet/spec.hpp"

#include "base/excerpt.hpp"
#include "sim/packet/dhcp.hpp"
#include "sim/packet/spec_dhcp.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

namespace hivesim {

namespace {

// ---------------------------------------------------------------------------------------------
// Protocol words and which keys apply to them.

constexpr std::array<std::string_view, 7> kWords = {"tcp", "udp", "icmp", "arp",
                                                    "ip",  "eth", "dhcp"};

std::string_view word_of(SpecProto proto) {
  return kWords[static_cast<std::size_t>(proto)];
}

constexpr unsigned bit(SpecProto proto) {
  return 1U << static_cast<unsigned>(proto);
}
constexpr unsigned kTcpUdp = bit(SpecProto::kTcp) | bit(SpecProto::kUdp);
constexpr unsigned kIpWords = kTcpUdp | bit(SpecProto::kIcmp) | bit(SpecProto::kIp);
constexpr unsigned kIcmpOnly = bit(SpecProto::kIcmp);
constexpr unsigned kDhcpWord = bit(SpecProto::kDhcp);
constexpr unsigned kAnyWord = kIpWords | bit(SpecProto::kArp) | bit(SpecProto::kEth) | kDhcpWord;

/// Which keys need what: an L4 header (not on a later fragment), an ICMP error, a quoted
/// protocol.
enum class Needs : std::uint8_t { kNothing, kL4, kIcmpError, kInnerPorts, kInnerIcmp };

/// A value parser stores into the spec, or fails with the allowed form for the error message.
using ValueParser = Status (*)(std::string_view value, PacketSpec& spec);

struct KeyDef {
  std::string_view name;
  unsigned words;  // bit(SpecProto) for each protocol word the key applies to
  Needs needs;
  bool (*written)(const PacketSpec&);
  ValueParser parse;
};

Status ok() {
  return {};
}

/// Concatenation without operator+ chains (which trip GCC 12's -Wrestrict at -O3).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

template <class T>
std::optional<T> parse_uint(std::string_view text, unsigned max) {
  unsigned value = 0;
  if (text.empty() || text.size() > 10) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return static_cast<T>(value);
}

std::optional<std::uint16_t> parse_hex16(std::string_view text) {
  if (!text.starts_with("0x") && !text.starts_with("0X"))
    return parse_uint<std::uint16_t>(text, 0xffff);
  text.remove_prefix(2);
  unsigned value = 0;
  if (text.empty() || text.size() > 4) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

template <auto Member>
ValueParser mac_parser() {
  return [](std::string_view v, PacketSpec& s) -> Status {
    auto mac = Mac::parse(v);
    if (!mac) return Error{"a MAC address like 02:00:00:00:01:0a"};
    s.*Member = *mac;
    return ok();
  };
}

template <auto Member>
ValueParser ip_parser() {
  return [](std::string_view v, PacketSpec& s) -> Status {
    auto ip = Ipv4::parse(v);
    if (!ip) return Error{"an IPv4 address like 10.0.1.10"};
    s.*Member = *ip;
    return ok();
  };
}

template <auto Member, class T, unsigned Max>
ValueParser uint_parser() {
  return [](std::string_view v, PacketSpec& s) -> Status {
    auto n = parse_uint<T>(v, Max);
    if (!n) return Error{cat("0-", std::to_string(Max))};
    s.*Member = *n;
    return ok();
  };
}

Status parse_vlan(std::string_view v, PacketSpec& s) {
  const std::string_view form = "1-4094, or OUTER,INNER for QinQ";
  const std::size_t comma = v.find(',');
  auto outer = parse_uint<std::uint16_t>(v.substr(0, comma), 4094);
  if (!outer || *outer == 0) return Error{std::string(form)};
  s.vlans = {*outer};
  if (comma == std::string_view::npos) return ok();
  auto inner = parse_uint<std::uint16_t>(v.substr(comma + 1), 4094);
  if (!inner || *inner == 0) {
    s.vlans.clear();
    return Error{std::string(form)};
  }
  s.vlans.push_back(*inner);
  return ok();
}

constexpr std::array<std::pair<std::string_view, std::uint8_t>, 8> kTcpFlagNames = {{
    {"fin", tcpflag::kFin},
    {"syn", tcpflag::kSyn},
    {"rst", tcpflag::kRst},
    {"psh", tcpflag::kPsh},
    {"ack", tcpflag::kAck},
    {"urg", 0x20},
    {"ece", 0x40},
    {"cwr", 0x80},
}};

Status parse_flags(std::string_view v, PacketSpec& s) {
  std::uint8_t flags = 0;
  if (v != "none") {
    while (!v.empty()) {
      const std::size_t comma = v.find(',');
      const std::string_view name = v.substr(0, comma);
      auto it = std::find_if(kTcpFlagNames.begin(), kTcpFlagNames.end(),
                             [&](const auto& f) { return f.first == name; });
      if (it == kTcpFlagNames.end()) {
        return Error{"tcp flags joined by ',' (fin, syn, rst, psh, ack, urg, ece, cwr), or none"};
      }
      flags |= it->second;
      v.remove_prefix(comma == std::string_view::npos ? v.size() : comma + 1);
      if (comma != std::string_view::npos && v.empty()) return Error{"no flag after the last ','"};
    }
  }
  s.tcp_flags = flags;
  return ok();
}

Status parse_frag(std::string_view v, PacketSpec& s) {
  if (v == "none") {
    s.frag = FragKind::kNone;
  } else if (v == "first") {
    s.frag = FragKind::kFirst;
  } else if (v == "later") {
    s.frag = FragKind::kLater;
  } else {
    return Error{"none, first or later"};
  }
  return ok();
}

Status parse_arp_op(std::string_view v, PacketSpec& s) {
  if (v == "request") {
    s.arp_op = arpop::kRequest;
  } else if (v == "reply") {
    s.arp_op = arpop::kReply;
  } else if (auto n = parse_uint<std::uint16_t>(v, 0xffff); n && *n != 0) {
    s.arp_op = *n;
  } else {
    return Error{"request, reply or 1-65535"};
  }
  return ok();
}

Status parse_ethertype(std::string_view v, PacketSpec& s) {
  auto type = parse_hex16(v);
  if (!type) return Error{"0x0000-0xffff, e.g. 0x86dd"};
  switch (*type) {
    case ethertype::kIpv4:
      return Error{"IPv4 is written with the ip, tcp, udp or icmp word"};
    case ethertype::kArp:
      return Error{"ARP is written with the arp word"};
    case ethertype::kVlan:
    case ethertype::kQinQ:
      return Error{"VLAN tags are written with vlan="};
    default:
      break;
  }
  s.ethertype = *type;
  return ok();
}

Status parse_ip_proto(std::string_view v, PacketSpec& s) {
  auto proto = parse_uint<std::uint8_t>(v, 255);
  if (!proto) return Error{"0-255"};
  if (!ipproto::name(*proto).empty()) {
    return Error{"tcp, udp and icmp are written with their own word"};
  }
  s.ip_proto = *proto;
  return ok();
}

Status parse_inner_proto(std::string_view v, PacketSpec& s) {
  if (auto word = ipproto::from_name(v)) {
    s.inner_proto = *word;
  } else if (auto n = parse_uint<std::uint8_t>(v, 255)) {
    s.inner_proto = *n;
  } else {
    return Error{"tcp, udp, icmp or 0-255"};
  }
  return ok();
}

template <auto Member>
bool written(const PacketSpec& s) {
  return (s.*Member).has_value();
}

const std::array<KeyDef, 39> kKeys = {{
    {"eth_src", kAnyWord, Needs::kNothing, written<&PacketSpec::eth_src>,
     mac_parser<&PacketSpec::eth_src>()},
    {"eth_dst", kAnyWord, Needs::kNothing, written<&PacketSpec::eth_dst>,
     mac_parser<&PacketSpec::eth_dst>()},
    {"vlan", kAnyWord, Needs::kNothing, [](const PacketSpec& s) { return !s.vlans.empty(); },
     parse_vlan},
    {"ethertype", bit(SpecProto::kEth), Needs::kNothing, written<&PacketSpec::ethertype>,
     parse_ethertype},
    {"src", kIpWords | bit(SpecProto::kArp) | kDhcpWord, Needs::kNothing, written<&PacketSpec::src>,
     ip_parser<&PacketSpec::src>()},
    {"dst", kIpWords | bit(SpecProto::kArp) | kDhcpWord, Needs::kNothing, written<&PacketSpec::dst>,
     ip_parser<&PacketSpec::dst>()},
    {"ttl", kIpWords | kDhcpWord, Needs::kNothing, written<&PacketSpec::ttl>,
     uint_parser<&PacketSpec::ttl, std::uint8_t, 255>()},
    {"tos", kIpWords | kDhcpWord, Needs::kNothing, written<&PacketSpec::tos>,
     uint_parser<&PacketSpec::tos, std::uint8_t, 255>()},
    {"proto", bit(SpecProto::kIp), Needs::kNothing, written<&PacketSpec::ip_proto>, parse_ip_proto},
    {"frag", kIpWords, Needs::kNothing, written<&PacketSpec::frag>, parse_frag},
    {"sport", kTcpUdp, Needs::kL4, written<&PacketSpec::sport>,
     uint_parser<&PacketSpec::sport, std::uint16_t, 65535>()},
    {"dport", kTcpUdp, Needs::kL4, written<&PacketSpec::dport>,
     uint_parser<&PacketSpec::dport, std::uint16_t, 65535>()},
    {"flags", bit(SpecProto::kTcp), Needs::kL4, written<&PacketSpec::tcp_flags>, parse_flags},
    {"icmp_type", kIcmpOnly, Needs::kL4, written<&PacketSpec::icmp_type>,
     uint_parser<&PacketSpec::icmp_type, std::uint8_t, 255>()},
    {"icmp_code", kIcmpOnly, Needs::kL4, written<&PacketSpec::icmp_code>,
     uint_parser<&PacketSpec::icmp_code, std::uint8_t, 255>()},
    {"icmp_id", kIcmpOnly, Needs::kL4, written<&PacketSpec::icmp_id>,
     uint_parser<&PacketSpec::icmp_id, std::uint16_t, 65535>()},
    {"arp_op", bit(SpecProto::kArp), Needs::kNothing, written<&PacketSpec::arp_op>, parse_arp_op},
    {"arp_spa", bit(SpecProto::kArp), Needs::kNothing, written<&PacketSpec::arp_spa>,
     ip_parser<&PacketSpec::arp_spa>()},
    {"arp_tpa", bit(SpecProto::kArp), Needs::kNothing, written<&PacketSpec::arp_tpa>,
     ip_parser<&PacketSpec::arp_tpa>()},
    {"len", kIpWords | bit(SpecProto::kEth), Needs::kNothing, written<&PacketSpec::len>,
     uint_parser<&PacketSpec::len, std::uint32_t, 65535>()},
    {"inner_proto", kIcmpOnly, Needs::kIcmpError, written<&PacketSpec::inner_proto>,
     parse_inner_proto},
    {"inner_src", kIcmpOnly, Needs::kIcmpError, written<&PacketSpec::inner_src>,
     ip_parser<&PacketSpec::inner_src>()},
    {"inner_dst", kIcmpOnly, Needs::kIcmpError, written<&PacketSpec::inner_dst>,
     ip_parser<&PacketSpec::inner_dst>()},
    {"inner_sport", kIcmpOnly, Needs::kInnerPorts, written<&PacketSpec::inner_sport>,
     uint_parser<&PacketSpec::inner_sport, std::uint16_t, 65535>()},
    {"inner_dport", kIcmpOnly, Needs::kInnerPorts, written<&PacketSpec::inner_dport>,
     uint_parser<&PacketSpec::inner_dport, std::uint16_t, 65535>()},
    {"inner_ttl", kIcmpOnly, Needs::kIcmpError, written<&PacketSpec::inner_ttl>,
     uint_parser<&PacketSpec::inner_ttl, std::uint8_t, 255>()},
    {"inner_icmp_type", kIcmpOnly, Needs::kInnerIcmp, written<&PacketSpec::inner_icmp_type>,
     uint_parser<&PacketSpec::inner_icmp_type, std::uint8_t, 255>()},
    {"inner_icmp_code", kIcmpOnly, Needs::kInnerIcmp, written<&PacketSpec::inner_icmp_code>,
     uint_parser<&PacketSpec::inner_icmp_code, std::uint8_t, 255>()},
    {"inner_icmp_id", kIcmpOnly, Needs::kInnerIcmp, written<&PacketSpec::inner_icmp_id>,
     uint_parser<&PacketSpec::inner_icmp_id, std::uint16_t, 65535>()},
    {"dhcp_type", kDhcpWord, Needs::kNothing, written<&PacketSpec::dhcp_type>,
     spec_dhcp::parse_type},
    {"requested_ip", kDhcpWord, Needs::kNothing, written<&PacketSpec::requested_ip>,
     ip_parser<&PacketSpec::requested_ip>()},
    {"yiaddr", kDhcpWord, Needs::kNothing, written<&PacketSpec::yiaddr>,
     ip_parser<&PacketSpec::yiaddr>()},
    {"mask", kDhcpWord, Needs::kNothing, written<&PacketSpec::mask>,
     ip_parser<&PacketSpec::mask>()},
    {"router", kDhcpWord, Needs::kNothing, written<&PacketSpec::router>,
     ip_parser<&PacketSpec::router>()},
    {"dns", kDhcpWord, Needs::kNothing, [](const PacketSpec& s) { return !s.dns.empty(); },
     spec_dhcp::parse_dns},
    {"lease", kDhcpWord, Needs::kNothing, written<&PacketSpec::lease>,
     uint_parser<&PacketSpec::lease, std::uint32_t, 0xffffffffU>()},
    {"mtu", kDhcpWord, Needs::kNothing, written<&PacketSpec::mtu>,
     uint_parser<&PacketSpec::mtu, std::uint16_t, 65535>()},
    {"server", kDhcpWord, Needs::kNothing, written<&PacketSpec::server>,
     ip_parser<&PacketSpec::server>()},
    {"routes", kDhcpWord, Needs::kNothing, [](const PacketSpec& s) { return !s.routes.empty(); },
     spec_dhcp::parse_routes},
}};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1U : 0U)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// " (did you mean 'x'?)" for the closest candidate within two edits, else "".
template <class Range, class Name>
std::string suggestion(std::string_view word, const Range& candidates, Name name_of) {
  std::string_view best;
  std::size_t best_distance = 3;
  if (word.size() > 64) return "";  // a long word is no typo of a keyword
  for (const auto& c : candidates) {
    const std::string_view name = name_of(c);
    const std::size_t d = edit_distance(word, name);
    if (d < best_distance && d < name.size()) {
      best = name;
      best_distance = d;
    }
  }
  if (best.empty()) return "";
  return cat(" (did you mean '", best, "'?)");
}

template <class... Parts>
Error error(const Parts&... parts) {
  return Error{cat(parts...)};
}

/// What the user wrote, quoted and shortened (a 1 MB value is not echoed whole).
std::string quoted_name(std::string_view text) {
  return quote_excerpt(text);
}

// ---------------------------------------------------------------------------------------------
// Validation: the keys written fit the protocol word, and every value without a default is
// there. Works on the struct, so build_packet() checks specs that were not parsed too.

bool is_icmp_error_spec(const PacketSpec& s) {
  return s.proto == SpecProto::kIcmp && s.icmp_type && icmptype::is_error(*s.icmp_type);
}

/// Bytes of headers after the IPv4 header, to bound `len`.
std::size_t l4_header_bytes(const PacketSpec& s) {
  if (s.frag == FragKind::kLater) return 0;
  switch (s.proto) {
    case SpecProto::kTcp:
      return 20;
    case SpecProto::kUdp:
      return 8;
    case SpecProto::kIcmp:
      return is_icmp_error_spec(s) ? 8 + 28 : 8;
    default:
      return 0;
  }
}

Status check_key_fits(const KeyDef& key, const PacketSpec& s) {
  const std::string_view word = word_of(s.proto);
  if ((key.words & bit(s.proto)) == 0) {
    return error("key '", key.name, "' does not apply to ", word);
  }
  if (key.needs != Needs::kNothing && s.frag == FragKind::kLater) {
    return error("key '", key.name, "' does not apply to frag=later (a later fragment carries no ",
                 word, " header)");
  }
  const bool icmp_error = is_icmp_error_spec(s);
  if (key.name == "icmp_id" && icmp_error) {
    return error("key 'icmp_id' does not apply to icmp_type=", std::to_string(*s.icmp_type),
                 " (an icmp error has no id)");
  }
  const bool inner_key = key.needs == Needs::kIcmpError || key.needs == Needs::kInnerPorts ||
                         key.needs == Needs::kInnerIcmp;
  if (inner_key && !icmp_error) {
    return error("key '", key.name, "' needs an icmp error type (icmp_type=3, 4, 5, 11 or 12)");
  }
  if (!s.inner_proto) return {};
  const std::uint8_t inner = *s.inner_proto;
  const bool ports = inner == ipproto::kTcp || inner == ipproto::kUdp;
  if ((key.needs == Needs::kInnerPorts && !ports) ||
      (key.needs == Needs::kInnerIcmp && inner != ipproto::kIcmp)) {
    const std::string_view name = ipproto::name(inner);
    return error("key '", key.name, "' does not apply to inner_proto=",
                 name.empty() ? std::to_string(inner) : std::string(name));
  }
  return {};
}

Status validate(const PacketSpec& s) {
  for (const KeyDef& key : kKeys) {
    if (!key.written(s)) continue;
    if (Status err = check_key_fits(key, s); !err.ok()) return err;
  }
  const std::string_view word = word_of(s.proto);
  const bool ip = (bit(s.proto) & kIpWords) != 0;
  if (ip && !s.dst) return error(word, " needs dst=");
  if (s.proto == SpecProto::kArp && !s.arp_tpa && !s.dst) {
    return error("arp needs arp_tpa= (or dst=)");
  }
  if ((bit(s.proto) & kTcpUdp) && s.frag != FragKind::kLater && !s.dport) {
    return error(word, " needs dport=");
  }
  if (s.proto == SpecProto::kIp && !s.ip_proto) return error("ip needs proto=");
  if (s.proto == SpecProto::kEth && !s.ethertype) return error("eth needs ethertype=");
  if (is_icmp_error_spec(s) && s.frag != FragKind::kLater) {
    if (!s.inner_proto) return error("an icmp error needs inner_proto=");
    if (!s.inner_dst) return error("an icmp error needs inner_dst=");
    const std::string_view inner = ipproto::name(*s.inner_proto);
    if ((*s.inner_proto == ipproto::kTcp || *s.inner_proto == ipproto::kUdp) && !s.inner_dport) {
      return error("an icmp error quoting ", inner, " needs inner_dport=");
    }
  }
  if (ip && s.len) {
    const std::size_t max = 65535 - 20 - l4_header_bytes(s);
    if (*s.len > max) {
      return error("bad value for len: '", std::to_string(*s.len), "' (0-", std::to_string(max),
                   " for ", word, ": an ipv4 packet is at most 65535 bytes)");
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Formatting.

class SpecWriter {
 public:
  explicit SpecWriter(std::string_view word) { out_.append(word); }

  void key(std::string_view name, std::string_view value) {
    out_.push_back(' ');
    out_.append(name);
    out_.push_back('=');
    out_.append(value);
  }
  void key(std::string_view name, unsigned value) {
    char buf[16];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    key(name, std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  void key(std::string_view name, Mac mac) { key(name, mac.str()); }
  void key(std::string_view name, Ipv4 ip) { key(name, ip.str()); }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string_view spec_word(const Packet& p) {
  if (p.is_arp()) return "arp";
  if (!p.is_ipv4()) return "eth";
  const std::string_view word = ipproto::name(p.proto);
  return word.empty() ? "ip" : word;
}

void format_quote(SpecWriter& w, const QuotedHeader& q) {
  const std::string_view inner = ipproto::name(q.proto);
  if (inner.empty()) {
    w.key("inner_proto", q.proto);
  } else {
    w.key("inner_proto", inner);
  }
  w.key("inner_src", q.src);
  w.key("inner_dst", q.dst);
  if (q.proto == ipproto::kTcp || q.proto == ipproto::kUdp) {
    w.key("inner_sport", q.sport);
    w.key("inner_dport", q.dport);
  } else if (q.proto == ipproto::kIcmp) {
    w.key("inner_icmp_type", q.icmp_type);
    w.key("inner_icmp_code", q.icmp_code);
    w.key("inner_icmp_id", q.icmp_id);
  }
  w.key("inner_ttl", q.ttl);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<PacketSpec> parse_packet_spec(std::string_view line) {
  auto next_word = [&line]() {
    const std::size_t start = line.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) {
      line = {};
      return std::string_view{};
    }
    line.remove_prefix(start);
    const std::size_t end = std::min(line.find_first_of(" \t\r\n"), line.size());
    const std::string_view word = line.substr(0, end);
    line.remove_prefix(end);
    return word;
  };

  PacketSpec spec;
  const std::string_view word = next_word();
  if (word.empty()) return error("empty packet spec (expected e.g. 'tcp dst=10.0.0.2 dport=80')");
  const auto it = std::find(kWords.begin(), kWords.end(), word);
  if (it == kWords.end()) {
    if (word.find('=') != std::string_view::npos) {
      return error(
          "a packet spec starts with a protocol word (tcp, udp, icmp, arp, ip, eth or dhcp), "
          "not ",
          quoted_name(word));
    }
    std::string hint = suggestion(word, kWords, [](std::string_view w) { return w; });
    if (hint.empty()) hint = " (expected tcp, udp, icmp, arp, ip, eth or dhcp)";
    return error("unknown protocol ", quoted_name(word), hint);
  }
  spec.proto = static_cast<SpecProto>(it - kWords.begin());

  for (std::string_view token = next_word(); !token.empty(); token = next_word()) {
    const std::size_t eq = token.find('=');
    if (eq == std::string_view::npos) {
      return error("missing '=' after ", quoted_name(token), " (expected key=value)");
    }
    const std::string_view name = token.substr(0, eq);
    const std::string_view value = token.substr(eq + 1);
    if (name.empty()) return error("missing key before ", quoted_name(token));
    const auto key =
        std::find_if(kKeys.begin(), kKeys.end(), [&](const KeyDef& k) { return k.name == name; });
    if (key == kKeys.end()) {
      return error("unknown key ", quoted_name(name),
                   suggestion(name, kKeys, [](const KeyDef& k) { return k.name; }));
    }
    if (key->written(spec)) return error("duplicate key ", quoted_name(name));
    if (Status form = key->parse(value, spec); !form.ok()) {
      return error("bad value for ", name, ": ", quoted_name(value), " (", form.error(), ")");
    }
  }
  if (Status err = validate(spec); !err.ok()) return std::move(err).take_error();
  return spec;
}

Result<Packet> build_packet(const PacketSpec& spec, const SpecDefaults& defaults) {
  if (Status err = validate(spec); !err.ok()) return std::move(err).take_error();
  const std::string_view word = word_of(spec.proto);

  Packet p;
  p.eth_src = spec.eth_src.value_or(defaults.eth_src);
  p.vlan_count = static_cast<std::uint8_t>(std::min<std::size_t>(spec.vlans.size(), 2));
  for (std::size_t i = 0; i < p.vlan_count; ++i)
    p.vlans[i] = spec.vlans[i];
  p.outer_tpid = p.vlan_count == 2 ? ethertype::kQinQ : ethertype::kVlan;
  p.payload_len = spec.len.value_or(0);

  // eth_dst: as written, else broadcast for an ARP request, else whatever the topology says
  // owns (or routes) the destination address.
  auto resolve_eth_dst = [&](std::optional<Ipv4> ip) -> Status {
    if (spec.eth_dst) {
      p.eth_dst = *spec.eth_dst;
    } else if (ip && defaults.eth_dst_for) {
      p.eth_dst = defaults.eth_dst_for(*ip);
    } else {
      return error(word, " needs eth_dst= (no default for it here)");
    }
    return {};
  };

  if (spec.proto == SpecProto::kEth) {
    p.ethertype = *spec.ethertype;
    if (Status err = resolve_eth_dst(std::nullopt); !err.ok()) return std::move(err).take_error();
    return p;
  }

  if (spec.proto == SpecProto::kDhcp) {
    spec_dhcp::build(spec, p);
    return p;
  }

  if (spec.proto == SpecProto::kArp) {
    p.ethertype = ethertype::kArp;
    p.payload_len = 0;
    p.arp_op = spec.arp_op.value_or(arpop::kRequest);
    const std::optional<Ipv4> spa = spec.arp_spa ? spec.arp_spa
                                    : spec.src   ? spec.src
                                                 : defaults.src;
    if (!spa) return error("arp needs arp_spa= (the ingress port gives no default source address)");
    p.arp_spa = *spa;
    p.arp_tpa = spec.arp_tpa ? *spec.arp_tpa : *spec.dst;
    if (p.arp_op == arpop::kRequest && !spec.eth_dst) {
      p.eth_dst = Mac::broadcast();
    } else if (Status err = resolve_eth_dst(p.arp_tpa); !err.ok()) {
      return std::move(err).take_error();
    }
    p.arp_sha = p.eth_src;
    if (p.arp_op == arpop::kReply) p.arp_tha = p.eth_dst;
    return p;
  }

  // IPv4.
  p.ethertype = ethertype::kIpv4;
  const std::optional<Ipv4> src = spec.src ? spec.src : defaults.src;
  if (!src) return error(word, " needs src= (the ingress port gives no default source address)");
  p.src = *src;
  p.dst = *spec.dst;
  if (Status err = resolve_eth_dst(p.dst); !err.ok()) return std::move(err).take_error();
  p.ttl = spec.ttl.value_or(64);
  p.tos = spec.tos.value_or(0);
  p.frag = spec.frag.value_or(FragKind::kNone);
  if (p.frag == FragKind::kLater) p.frag_offset = 185;  // 1480 bytes: a 1500-MTU second fragment

  // A later fragment carries no L4 header: only the protocol number.
  const bool l4 = p.frag != FragKind::kLater;
  switch (spec.proto) {
    case SpecProto::kTcp:
      p.proto = ipproto::kTcp;
      if (!l4) break;
      p.sport = spec.sport.value_or(40000);
      p.dport = spec.dport.value_or(0);
      p.tcp_flags = spec.tcp_flags.value_or(tcpflag::kSyn);
      break;
    case SpecProto::kUdp:
      p.proto = ipproto::kUdp;
      if (!l4) break;
      p.sport = spec.sport.value_or(40000);
      p.dport = spec.dport.value_or(0);
      break;
    case SpecProto::kIp:
      p.proto = *spec.ip_proto;
      break;
    case SpecProto::kIcmp:
      p.proto = ipproto::kIcmp;
      if (!l4) break;
      p.icmp_type = spec.icmp_type.value_or(icmptype::kEchoRequest);
      p.icmp_code = spec.icmp_code.value_or(0);
      if (!icmptype::is_error(p.icmp_type)) {
        p.icmp_id = spec.icmp_id.value_or(1);
        p.icmp_seq = 1;
        break;
      }
      {
        QuotedHeader q;
        q.proto = *spec.inner_proto;
        // The error goes back to the original sender, so by default that is who it quotes.
        q.src = spec.inner_src.value_or(p.dst);
        q.dst = *spec.inner_dst;
        q.ttl = spec.inner_ttl.value_or(64);
        q.total_len = q.proto == ipproto::kTcp ? 40 : 28;
        if (q.proto == ipproto::kTcp || q.proto == ipproto::kUdp) {
          q.sport = spec.inner_sport.value_or(40000);
          q.dport = *spec.inner_dport;
        } else if (q.proto == ipproto::kIcmp) {
          q.icmp_type = spec.inner_icmp_type.value_or(icmptype::kEchoRequest);
          q.icmp_code = spec.inner_icmp_code.value_or(0);
          q.icmp_id = spec.inner_icmp_id.value_or(1);
        }
        p.quoted = q;
      }
      break;
    case SpecProto::kArp:
    case SpecProto::kEth:
    case SpecProto::kDhcp:
      break;
  }
  return p;
}

std::string format_tcp_flags(std::uint8_t flags) {
  std::string out;
  for (const auto& [name, flag] : kTcpFlagNames) {
    if ((flags & flag) == 0) continue;
    if (!out.empty()) out.push_back(',');
    out.append(name);
  }
  return out;
}

std::string format_packet(const Packet& p) {
  const auto dhcp_message = dhcp::of_packet(p);
  SpecWriter w(dhcp_message ? std::string_view("dhcp") : spec_word(p));
  w.key("eth_src", p.eth_src);
  w.key("eth_dst", p.eth_dst);
  if (p.vlan_count == 1) {
    w.key("vlan", p.vlans[0]);
  } else if (p.vlan_count >= 2) {
    w.key("vlan", cat(std::to_string(p.vlans[0]), ",", std::to_string(p.vlans[1])));
  }

  if (p.is_arp()) {
    if (p.arp_op == arpop::kRequest) {
      w.key("arp_op", "request");
    } else if (p.arp_op == arpop::kReply) {
      w.key("arp_op", "reply");
    } else {
      w.key("arp_op", p.arp_op);
    }
    w.key("arp_spa", p.arp_spa);
    w.key("arp_tpa", p.arp_tpa);
    return w.take();
  }

  if (!p.is_ipv4()) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%04x", p.ethertype);
    w.key("ethertype", type);
    w.key("len", p.payload_len);
    return w.take();
  }

  w.key("src", p.src);
  w.key("dst", p.dst);
  w.key("ttl", p.ttl);
  w.key("tos", p.tos);
  if (dhcp_message) {
    for (const auto& [key, value] : spec_dhcp::fields(*dhcp_message))
      w.key(key, value);
    return w.take();
  }
  if (p.frag == FragKind::kFirst) w.key("frag", "first");
  if (p.frag == FragKind::kLater) w.key("frag", "later");
  if (p.proto != ipproto::kTcp && p.proto != ipproto::kUdp && p.proto != ipproto::kIcmp) {
    w.key("proto", p.proto);
  } else if (p.has_l4()) {
    switch (p.proto) {
      case ipproto::kTcp:
        w.key("sport", p.sport);
        w.key("dport", p.dport);
        w.key("flags", p.tcp_flags == 0 ? std::string("none") : format_tcp_flags(p.tcp_flags));
        break;
      case ipproto::kUdp:
        w.key("sport", p.sport);
        w.key("dport", p.dport);
        break;
      default:
        w.key("icmp_type", p.icmp_type);
        w.key("icmp_code", p.icmp_code);
        if (p.quoted) {
          format_quote(w, *p.quoted);
        } else if (!icmptype::is_error(p.icmp_type)) {
          w.key("icmp_id", p.icmp_id);
        }
        break;
    }
  }
  w.key("len", p.payload_len);
  return w.take();
}

}  // namespace hivesim
