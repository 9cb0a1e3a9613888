#include "sim/importer/yaml_writer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace hivesim::neutron {

namespace {

bool plain_safe(std::string_view s) {
  if (s.empty()) return false;
  static constexpr std::array<std::string_view, 14> kReserved = {
      "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "Y", "N", "NULL", "Null"};
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view r : kReserved) {
    if (lower == r) return false;
  }
  if (s.front() == '-' || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/';
  });
}

}  // namespace

std::string scalar(std::string_view s) {
  if (plain_safe(s)) return std::string(s);
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

FlowMap& FlowMap::add(std::string_view key, std::string_view value) {
  return raw(key, scalar(value));
}

FlowMap& FlowMap::raw(std::string_view key, std::string rendered) {
  entries_.emplace_back(std::string(key), std::move(rendered));
  return *this;
}

std::string FlowMap::str() const {
  std::string out = "{";
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i != 0) out += ", ";
    out += entries_[i].first;
    out += ": ";
    out += entries_[i].second;
  }
  out += "}";
  return out;
}

std::string flow_list(const std::vector<std::string>& rendered) {
  std::string out = "[";
  for (std::size_t i = 0; i < rendered.size(); ++i) {
    if (i != 0) out += ", ";
    out += rendered[i];
  }
  out += "]";
  return out;
}

}  // namespace hivesim::neutron
