#pragma once
// What the side panel says about a selected device: a bridge's or router's ports, routes,
// ARP entries, chains and their rules, or a host's bound ports and tunnel zones, as HTML for a
// QTextBrowser. Plain presentation of the compiled topology (rules are written with the flow
// core's describe()); no Qt types, so tests can read it.

#include <optional>
#include <string>

#include "sim/flow/simulator.hpp"

namespace hivesim::gui {

enum class ObjectKind { kBridge, kRouter, kHost, kPort };

/// HTML describing the device `name` of `kind`; nullopt when there is no such device.
std::optional<std::string> device_html(const Simulator& sim, ObjectKind kind,
                                       const std::string& name);

/// "rule 2 of db-in: src=10.0.2.0/24 proto=tcp dport=5432 -> accept" for a drop's rule, or
/// the chain name alone when it has no such rule; empty when `chain` is not a chain. A port's
/// security-group chain is found by the name drops give it ("sg-ingress:PORT").
std::string rule_text(const Simulator& sim, const std::string& chain,
                      std::optional<std::uint32_t> rule);

/// Escapes <, >, & and " for HTML.
std::string html_escape(const std::string& text);

}  // namespace hivesim::gui
