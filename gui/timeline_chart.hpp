#pragma once
// The run's timeline drawn as small multiples: one strip per traffic entry, packets per bucket
// as a green (delivered) band with the dropped ones stacked on it in red, and every
// failure event a dashed vertical line labelled across all strips. It draws the report's
// `timeline` block (SPEC section 9) as given; it computes nothing.

#include <QWidget>

#include "sim/report/timeline.hpp"

namespace hivesim::gui {

class TimelineChart : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineChart(QWidget* parent = nullptr);
  void set_data(Timeline data);
  const Timeline& data() const { return data_; }
  QSize sizeHint() const override { return {800, 300}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  Timeline data_;
};

}  // namespace hivesim::gui
