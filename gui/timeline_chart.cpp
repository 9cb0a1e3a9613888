#include "gui/timeline_chart.hpp"

#include <algorithm>

#include <QPainter>
#include <QPainterPath>

namespace hivesim::gui {

TimelineChart::TimelineChart(QWidget* parent) : QWidget(parent) {
  setMinimumHeight(160);
  setAutoFillBackground(true);
  QPalette p = palette();
  p.setColor(QPalette::Window, Qt::white);
  setPalette(p);
}

void TimelineChart::set_data(Timeline data) {
  data_ = std::move(data);
  update();
}

namespace {

/// A step band over the buckets between `base` (nullptr: the baseline) and base + `values`.
QPainterPath band(const std::vector<std::uint64_t>& values, const std::vector<std::uint64_t>* base,
                  QRectF plot, double max) {
  const double w = plot.width() / static_cast<double>(std::max<std::size_t>(values.size(), 1));
  auto y = [&](double v) { return plot.bottom() - plot.height() * v / max; };
  auto at = [&](std::size_t i) { return base ? static_cast<double>((*base)[i]) : 0.0; };
  QPainterPath path(QPointF(plot.left(), y(at(0))));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double top = y(at(i) + static_cast<double>(values[i]));
    path.lineTo(plot.left() + w * static_cast<double>(i), top);
    path.lineTo(plot.left() + w * static_cast<double>(i + 1), top);
  }
  for (std::size_t i = values.size(); i-- > 0;) {
    path.lineTo(plot.left() + w * static_cast<double>(i + 1), y(at(i)));
    path.lineTo(plot.left() + w * static_cast<double>(i), y(at(i)));
  }
  path.closeSubpath();
  return path;
}

}  // namespace

void TimelineChart::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  QFont font = p.font();
  font.setPixelSize(12);
  p.setFont(font);
  const QFontMetrics fm(font);
  if (data_.series.empty()) {
    p.setPen(QColor(100, 100, 100));
    p.drawText(rect(), Qt::AlignCenter,
               "No timeline yet: press Run to play the scenario's traffic and failures.");
    return;
  }
  std::size_t buckets = 0;
  for (const TimelineSeries& s : data_.series)
    buckets = std::max({buckets, s.delivered.size(), s.dropped.size()});
  const SimTime span = data_.bucket_ns * static_cast<SimTime>(buckets);

  const int left = 150, right = 20, top = 34, bottom = 36;
  const QRectF all(left, top, width() - left - right, height() - top - bottom);
  if (all.width() < 50 || all.height() < 30) return;
  const double gap = 10;
  const double strip_h = (all.height() - gap * static_cast<double>(data_.series.size() - 1)) /
                         static_cast<double>(data_.series.size());

  // Legend.
  p.setPen(Qt::NoPen);
  p.setBrush(QColor(60, 160, 80, 170));
  p.drawRect(QRectF(left, 10, 14, 12));
  p.setBrush(QColor(210, 40, 40, 200));
  p.drawRect(QRectF(left + 110, 10, 14, 12));
  p.setPen(Qt::black);
  p.drawText(QPointF(left + 20, 21), "delivered");
  p.drawText(QPointF(left + 130, 21), "dropped");
  p.drawText(QPointF(left + 220, 21),
             QString("packets per %1 bucket")
                 .arg(QString::fromStdString(format_duration(data_.bucket_ns))));

  for (std::size_t s = 0; s < data_.series.size(); ++s) {
    const TimelineSeries& series = data_.series[s];
    const QRectF plot(all.left(), all.top() + static_cast<double>(s) * (strip_h + gap), all.width(),
                      strip_h);
    // Dropped packets stacked on delivered ones: a bar's height is what landed in the bucket.
    std::vector<std::uint64_t> delivered = series.delivered;
    std::vector<std::uint64_t> dropped = series.dropped;
    delivered.resize(buckets, 0);
    dropped.resize(buckets, 0);
    std::uint64_t max = 1;
    for (std::size_t i = 0; i < buckets; ++i)
      max = std::max(max, delivered[i] + dropped[i]);
    p.setPen(QPen(QColor(200, 200, 200), 1));
    p.setBrush(QColor(248, 248, 248));
    p.drawRect(plot);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(60, 160, 80, 170));
    p.drawPath(band(delivered, nullptr, plot, static_cast<double>(max)));
    p.setBrush(QColor(210, 40, 40, 200));
    p.drawPath(band(dropped, &delivered, plot, static_cast<double>(max)));
    // The strip's name and scale on the left.
    p.setPen(Qt::black);
    const QString name =
        fm.elidedText(QString::fromStdString(series.traffic), Qt::ElideRight, left - 60);
    p.drawText(QRectF(6, plot.top(), left - 60, plot.height()), Qt::AlignVCenter | Qt::AlignLeft,
               name);
    p.setPen(QColor(110, 110, 110));
    p.drawText(QRectF(left - 56, plot.top() - 2, 50, 16), Qt::AlignRight | Qt::AlignTop,
               QString::number(max));
    p.drawText(QRectF(left - 56, plot.bottom() - 14, 50, 16), Qt::AlignRight | Qt::AlignBottom,
               "0");
  }

  // Time axis.
  p.setPen(QColor(80, 80, 80));
  for (int tick = 0; tick <= 5; ++tick) {
    const double x = all.left() + all.width() * tick / 5.0;
    const SimTime t = span / 5 * tick;
    p.drawLine(QPointF(x, all.bottom()), QPointF(x, all.bottom() + 4));
    const QString label = QString::fromStdString(format_duration(t));
    const double w = fm.horizontalAdvance(label);
    p.drawText(QPointF(std::clamp(x - w / 2, all.left() - 10, all.right() - w), all.bottom() + 18),
               label);
  }

  // Failure events across every strip, labels staggered so neighbours do not overlap.
  double last_label_end = -1e9;
  int row = 0;
  for (const TimelineEvent& e : data_.events) {
    if (span <= 0) break;
    const double x =
        all.left() + all.width() * static_cast<double>(e.at) / static_cast<double>(span);
    p.setPen(QPen(QColor(20, 20, 20), 1.5, Qt::DashLine));
    p.drawLine(QPointF(x, all.top() - 4), QPointF(x, all.bottom()));
    const QString label = QString::fromStdString(e.event);
    const double w = fm.horizontalAdvance(label) + 8;
    double lx = std::min(x + 3, all.right() - w);
    row = lx < last_label_end ? row + 1 : 0;
    last_label_end = lx + w;
    const QRectF box(lx, all.top() + 2 + row * 18, w, 16);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(255, 255, 255, 220));
    p.drawRect(box);
    p.setPen(QColor(20, 20, 20));
    p.drawText(box, Qt::AlignCenter, label);
  }
}

}  // namespace hivesim::gui
