#include "sim/render/run_report.hpp"

namespace hivesim {

nlohmann::ordered_json timeline_json(const Timeline& timeline) {
  using Json = nlohmann::ordered_json;
  Json series = Json::array();
  for (const TimelineSeries& s : timeline.series) {
    series.push_back(
        Json{{"traffic", s.traffic}, {"delivered", s.delivered}, {"dropped", s.dropped}});
  }
  Json events = Json::array();
  for (const TimelineEvent& e : timeline.events) {
    events.push_back(Json{{"at_ns", e.at}, {"event", e.event}});
  }
  return Json{{"bucket_ns", timeline.bucket_ns},
              {"series", std::move(series)},
              {"events", std::move(events)}};
}

}  // namespace hivesim
