#pragma once
// The run's timeline drawn as small multiples: one strip per traffic entry, delivered packets
// per bucket as a green area and dropped packets as a red area on the same scale, with every
// failure event a dashed vertical line labelled across all strips. It draws the report's
// `timeline` block (SPEC section 9) as given; it computes nothing.

#include <cstdint>
#include <string>
#include <vector>

#include <QWidget>

#include "topology/units.hpp"

namespace hivesim::gui {

struct ChartSeries {
  std::string name;
  std::vector<std::uint64_t> delivered;  // per bucket
  std::vector<std::uint64_t> dropped;
};

struct ChartEvent {
  SimTime at = 0;
  std::string label;
};

struct ChartData {
  SimTime bucket = 0;  // width of one bucket
  std::vector<ChartSeries> series;
  std::vector<ChartEvent> events;
};

class TimelineChart : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineChart(QWidget* parent = nullptr);
  void set_data(ChartData data);
  const ChartData& data() const { return data_; }
  QSize sizeHint() const override { return {800, 300}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  ChartData data_;
};

}  // namespace hivesim::gui
