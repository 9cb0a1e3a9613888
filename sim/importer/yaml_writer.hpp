#pragma once
// A small writer for the importer's YAML: block lists of flow maps, one object a line, with
// a trailing comment. Scalars are written plain when YAML reads them back as the same string,
// else double-quoted; so the output reads back exactly (internal to the importer).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hivesim::neutron {

/// A scalar or a nested flow value, already rendered.
class FlowMap {
 public:
  FlowMap& add(std::string_view key, std::string_view value);  // a string scalar
  FlowMap& raw(std::string_view key, std::string rendered);    // a rendered value
  FlowMap& add(std::string_view key, long long value) { return raw(key, std::to_string(value)); }
  FlowMap& add(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  // Without this a string literal would convert to bool.
  FlowMap& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  FlowMap& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  bool empty() const { return entries_.empty(); }
  std::string str() const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

/// `[a, b, c]` of rendered values.
std::string flow_list(const std::vector<std::string>& rendered);
/// The scalar as YAML: plain when safe, else double-quoted.
std::string scalar(std::string_view s);

}  // namespace hivesim::neutron
