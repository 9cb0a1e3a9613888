#include "sim/twin/twin.hpp"

#include "sim/twin/twin_impl.hpp"

namespace hivesim {

Twin::Impl::Impl(const Scenario& scenario, TwinOptions options)
    : scenario_(scenario),
      options_(std::move(options)),
      end_(options_.until_idle ? kForever : options_.until.value_or(scenario.duration)),
      topo_(scenario.topology),
      current_(std::make_shared<const Simulator>(scenario.topology)),
      state_(scenario.seed),
      agents_(topo_, current_),
      nsdb_(scenario.nsdb.replicas, scenario.nsdb.latency),
      underlay_(topo_, scenario.underlay, scenario.seed),
      replication_(topo_),
      failures_(scenario),
      accounting_(topo_, options_.until_idle ? 0 : end_) {}

Result<bool> Twin::Impl::add_scenario_traffic() {
  if (!options_.scenario_traffic) return true;
  for (const Traffic& t : scenario_.traffic) {
    if (const auto* syn = std::get_if<SyntheticTraffic>(&t.source)) {
      auto source = SyntheticSource::make(*current_, *syn);
      if (!source) {
        return Error{scenario_.file + ":" + std::to_string(syn->packet_loc.line) + ":" +
                     std::to_string(syn->packet_loc.col) + ": error: traffic '" + t.name +
                     "': " + source.error()};
      }
      add_source(t.name, std::make_unique<SyntheticSource>(std::move(*source)), syn->reply,
                 syn->reply_from);
    } else {
      const std::string where = scenario_.file + ":" + std::to_string(t.loc.line) + ":" +
                                std::to_string(t.loc.col) + ": error: traffic '" + t.name + "': ";
      if (!options_.open_pcap) return Error{where + "pcap traffic sources need the pcap reader"};
      auto source = options_.open_pcap(t, std::get<PcapTraffic>(t.source));
      if (!source) return Error{where + source.error()};
      add_source(t.name, std::move(*source), false);
    }
  }
  return true;
}

void Twin::Impl::add_source(std::string name, std::unique_ptr<TrafficSource> source, bool reply,
                            std::vector<PortId> reply_from) {
  Source s;
  s.row.name = name;
  s.name = std::move(name);
  s.source = std::move(source);
  s.reply = reply;
  s.reply_from = std::move(reply_from);
  if (reply) replication_.track_answers();
  sources_.add(std::move(s));
}

Twin::Twin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Twin::~Twin() = default;

Result<std::unique_ptr<Twin>> Twin::make(const Scenario& scenario, TwinOptions options) {
  auto impl = std::make_unique<Impl>(scenario, std::move(options));
  auto traffic = impl->add_scenario_traffic();
  if (!traffic) return Error{traffic.error()};
  return std::unique_ptr<Twin>(new Twin(std::move(impl)));
}

void Twin::add_source(std::string name, std::unique_ptr<TrafficSource> source, bool reply) {
  impl_->add_source(std::move(name), std::move(source), reply);
}

RunReport Twin::run() {
  return impl_->run();
}

const std::optional<std::string>& Twin::stopped() const {
  return impl_->stopped_;
}

void Twin::advance(SimTime t) {
  impl_->advance(t);
}

const Simulator& Twin::simulator() const {
  return impl_->simulator();
}

SimState& Twin::state() {
  return impl_->state();
}

HostStates Twin::host_states() const {
  return impl_->host_states();
}

}  // namespace hivesim
