#include "gui/run_panel.hpp"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include "gui/device_info.hpp"
#include "gui/timeline_chart.hpp"
#include "sim/cli/cli_common.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/twin/twin.hpp"

namespace hivesim::gui {

namespace {

QTableWidget* make_table(const QStringList& headers) {
  auto* t = new QTableWidget(0, static_cast<int>(headers.size()));
  t->setHorizontalHeaderLabels(headers);
  t->verticalHeader()->hide();
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setAlternatingRowColors(true);
  t->horizontalHeader()->setStretchLastSection(true);
  t->setWordWrap(false);
  return t;
}

void add_row(QTableWidget* t, const QStringList& cells, const QColor& colour = QColor()) {
  const int row = t->rowCount();
  t->insertRow(row);
  for (int c = 0; c < cells.size(); ++c) {
    auto* item = new QTableWidgetItem(cells[c]);
    item->setToolTip(cells[c]);
    if (colour.isValid()) item->setForeground(colour);
    t->setItem(row, c, item);
  }
}

QString percent(double share) {
  return QString::number(share * 100.0, 'f', 1) + "%";
}

QString duration(SimTime t) {
  return QString::fromStdString(format_duration(t));
}

}  // namespace

RunPanel::RunPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  auto* row = new QHBoxLayout;
  run_button_ = new QPushButton("▶ Run scenario");
  run_button_->setToolTip("Play the scenario's traffic and failures in simulated time");
  cancel_button_ = new QPushButton("Cancel");
  progress_ = new QProgressBar;
  progress_->setRange(0, 1000);
  progress_->setFormat("");
  progress_->setTextVisible(true);
  status_ = new QLabel("Open a scenario, then run it to see its timeline.");
  status_->setTextFormat(Qt::RichText);
  row->addWidget(run_button_);
  row->addWidget(progress_, 1);
  row->addWidget(cancel_button_);
  layout->addLayout(row);
  layout->addWidget(status_);
  what_if_row_ = new QWidget;
  auto* what_if_layout = new QHBoxLayout(what_if_row_);
  what_if_layout->setContentsMargins(0, 0, 0, 0);
  what_if_ = new QLabel;
  what_if_->setTextFormat(Qt::RichText);
  what_if_->setWordWrap(true);
  auto* clear = new QPushButton("Clear what-if");
  clear->setToolTip("Run the scenario with its own failures only");
  what_if_layout->addWidget(what_if_, 1);
  what_if_layout->addWidget(clear);
  layout->addWidget(what_if_row_);
  what_if_row_->hide();
  connect(clear, &QPushButton::clicked, this, &RunPanel::clearWhatIfRequested);

  tabs_ = new QTabWidget;
  chart_ = new TimelineChart;
  tabs_->addTab(chart_, "Timeline");
  lbs_ = make_table({"VIP", "member", "weight", "connections", "share", "expected", "skew"});
  tabs_->addTab(lbs_, "Load balancers");
  failures_ = make_table({"at", "failure", "packets lost", "recovered after", "flows invalidated"});
  tabs_->addTab(failures_, "Failures");
  drops_ = make_table({"count", "reason", "device", "rule", "deciding rule"});
  tabs_->addTab(drops_, "Drops");
  expectations_ = make_table({"", "expectation", "detail"});
  tabs_->addTab(expectations_, "Expectations");
  layout->addWidget(tabs_, 1);

  connect(run_button_, &QPushButton::clicked, this, &RunPanel::start);
  connect(cancel_button_, &QPushButton::clicked, this, &RunPanel::cancel);
  set_scenario(nullptr, nullptr);
}

RunPanel::~RunPanel() {
  if (stop_) stop_->store(true);
  join();
}

void RunPanel::join() {
  if (worker_.joinable()) worker_.join();
}

QString RunPanel::status_text() const {
  return status_->text();
}

void RunPanel::set_scenario(std::shared_ptr<const Scenario> scenario, const Simulator* sim) {
  if (stop_) stop_->store(true);
  join();
  done_ = true;
  scenario_ = std::move(scenario);
  sim_ = sim;
  report_.reset();
  chart_->set_data({});
  for (QTableWidget* t : {lbs_, failures_, drops_, expectations_})
    t->setRowCount(0);
  progress_->setValue(0);
  progress_->setFormat("");
  run_button_->setEnabled(scenario_ != nullptr);
  cancel_button_->setEnabled(false);
  status_->setText(
      scenario_
          ? QString("Press Run to play %1 of simulated time.").arg(duration(scenario_->duration))
          : QString("Open a scenario, then run it to see its timeline."));
}

void RunPanel::set_what_if(const QStringList& labels) {
  QStringList escaped;
  for (const QString& l : labels)
    escaped << l.toHtmlEscaped();
  what_if_->setText("<span style='color:#c81e1e'><b>What-if:</b></span> the next run also has " +
                    escaped.join(", "));
  what_if_row_->setVisible(!labels.isEmpty());
}

QString RunPanel::what_if_text() const {
  return what_if_row_->isHidden() ? QString() : what_if_->text();
}

void RunPanel::start() {
  if (!scenario_ || running()) return;
  join();
  report_.reset();
  done_ = false;
  stop_ = std::make_shared<std::atomic<bool>>(false);
  run_button_->setEnabled(false);
  cancel_button_->setEnabled(true);
  progress_->setValue(0);
  progress_->setFormat("starting…");
  status_->setText("Running…");
  // The worker owns a reference to the scenario and its stop flag; it talks back only through
  // queued calls, which Qt drops if this panel is gone.
  worker_ = std::thread([this, scenario = scenario_, stop = stop_] {
    TwinOptions options;
    options.progress = [this](SimTime now, SimTime end) {
      QMetaObject::invokeMethod(
          this, [this, now, end] { on_progress(now, end); }, Qt::QueuedConnection);
    };
    options.stop = [stop] { return stop->load(); };
    cli::open_scenario_pcaps(options);
    std::optional<RunReport> report;
    QString message;
    auto twin = Twin::make(*scenario, options);
    if (!twin) {
      message = QString::fromStdString(twin.error());
    } else {
      report = (*twin)->run();
      if (stop->load()) {
        message = "cancelled at " + duration(report->sim_time);
        report.reset();
      }
    }
    QMetaObject::invokeMethod(
        this, [this, report = std::move(report), message] { on_finished(report, message); },
        Qt::QueuedConnection);
  });
}

void RunPanel::cancel() {
  if (stop_) stop_->store(true);
  cancel_button_->setEnabled(false);
  status_->setText("Cancelling…");
}

void RunPanel::on_progress(SimTime now, SimTime end) {
  if (done_) return;
  progress_->setValue(
      end > 0 ? static_cast<int>(1000.0 * static_cast<double>(now) / static_cast<double>(end))
              : 1000);
  progress_->setFormat(duration(now) + " / " + duration(end));
}

void RunPanel::on_finished(std::optional<RunReport> report, QString message) {
  join();
  done_ = true;
  run_button_->setEnabled(scenario_ != nullptr);
  cancel_button_->setEnabled(false);
  if (!report) {
    progress_->setFormat(message.startsWith("cancelled") ? "cancelled" : "failed");
    status_->setText("<span style='color:#b00000'>Run " + message.toHtmlEscaped() + "</span>");
    emit finished(false, message);
    return;
  }
  progress_->setValue(1000);
  report_ = std::move(report);
  show_report(*report_);
  emit finished(true, QString());
}

void RunPanel::show_report(const RunReport& r) {
  chart_->set_data(r.timeline);

  lbs_->setRowCount(0);
  for (const LbRow& lb : r.load_balancers) {
    for (const LbMemberRow& m : lb.members) {
      const double skew = m.expected > 0 ? (m.share - m.expected) / m.expected : 0.0;
      add_row(lbs_, {QString::fromStdString(lb.vip), QString::fromStdString(m.member),
                     QString::number(m.weight), QString::number(m.connections), percent(m.share),
                     percent(m.expected), (skew >= 0 ? "+" : "") + percent(skew)});
    }
  }
  tabs_->setTabText(1, QString("Load balancers (%1)").arg(r.load_balancers.size()));

  failures_->setRowCount(0);
  for (const FailureRow& f : r.failures) {
    add_row(failures_,
            {duration(f.at), QString::fromStdString(f.event), QString::number(f.packets_lost),
             f.recovered_after ? duration(*f.recovered_after) : "not recovered",
             QString::number(f.flows_invalidated)});
  }
  tabs_->setTabText(2, QString("Failures (%1)").arg(r.failures.size()));

  drops_->setRowCount(0);
  for (const DropRow& d : r.drops) {
    const std::string rule =
        sim_ != nullptr && d.rule ? rule_text(*sim_, d.device, d.rule) : std::string();
    add_row(drops_,
            {QString::number(d.count), QString::fromStdString(std::string(to_string(d.reason))),
             QString::fromStdString(d.device.empty() ? "-" : d.device),
             d.rule ? QString::number(*d.rule) : "-", QString::fromStdString(rule)});
  }
  tabs_->setTabText(3, QString("Drops (%1)").arg(r.drops.size()));

  expectations_->setRowCount(0);
  int passed = 0;
  for (const ExpectationRow& e : r.expectations) {
    passed += e.passed ? 1 : 0;
    add_row(expectations_,
            {e.passed ? "✔ passed" : "✘ FAILED", QString::fromStdString(e.name),
             QString::fromStdString(e.detail)},
            e.passed ? QColor(20, 120, 50) : QColor(190, 0, 0));
  }
  tabs_->setTabText(4,
                    QString("Expectations (%1/%2 passed)").arg(passed).arg(r.expectations.size()));
  for (QTableWidget* t : {lbs_, failures_, drops_, expectations_}) {
    t->resizeColumnsToContents();
  }

  const PacketTotals& p = r.packets;
  status_->setText(
      QString("Ran %1 of simulated time (%2 events): %3 packets injected, "
              "<span style='color:#1a7f37'>%4 delivered</span>, "
              "<span style='color:#b00000'>%5 dropped</span>. %6")
          .arg(duration(r.sim_time))
          .arg(r.events)
          .arg(p.injected)
          .arg(p.delivered)
          .arg(p.dropped)
          .arg(r.all_passed()
                   ? QString("Every expectation held.")
                   : QString("<b style='color:#b00000'>%1 expectation(s) failed.</b>")
                         .arg(r.expectations.size() - static_cast<std::size_t>(passed))));
}

}  // namespace hivesim::gui
