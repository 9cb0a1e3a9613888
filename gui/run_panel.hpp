#pragma once
// Running the scenario from the GUI: a Run button, a progress bar fed by TwinOptions::progress
// and a Cancel button (TwinOptions::stop), with the Twin running on a worker thread on its own
// copy of the scenario; then the run report in tabs: the timeline with failures marked,
// load-balancer shares against expected, failures, drops with their deciding rule, and the
// expectations. The report is the Twin's RunReport, shown as it is.
//
// Threads: only the worker touches the Twin; it posts progress and the finished report to the
// GUI thread (queued calls). Destroying the panel cancels a run and waits for the worker.

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include <QWidget>

#include "sim/render/run_report.hpp"
#include "topology/model.hpp"

class QLabel;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QTableWidget;

namespace hivesim {
class Simulator;
}

namespace hivesim::gui {

class TimelineChart;

class RunPanel : public QWidget {
  Q_OBJECT

 public:
  explicit RunPanel(QWidget* parent = nullptr);
  ~RunPanel() override;

  /// A new scenario (or none): clears the results. `sim` (the compiled topology, for rule
  /// texts) must outlive the next set_scenario call.
  void set_scenario(std::shared_ptr<const Scenario> scenario, const Simulator* sim);

  bool running() const { return worker_.joinable() && !done_; }
  /// The last finished run's report (nullopt before one, or after a cancel).
  const std::optional<RunReport>& report() const { return report_; }
  TimelineChart* timeline() const { return chart_; }
  QTabWidget* tabs() const { return tabs_; }
  QString status_text() const;
  /// The what-if failures the GUI added to the next run (MainWindow, from the topology's
  /// right-click menu), shown above the report with a button to clear them; none hides it.
  void set_what_if(const QStringList& labels);
  QString what_if_text() const;

 public slots:
  void start();
  void cancel();

 signals:
  /// The run ended: with a report, or cancelled/failed (then `message` says why).
  void finished(bool ok, const QString& message);
  /// The user asked to drop the what-if failures.
  void clearWhatIfRequested();

 private:
  void on_progress(SimTime now, SimTime end);
  void on_finished(std::optional<RunReport> report, QString message);
  void show_report(const RunReport& r);
  void join();

  std::shared_ptr<const Scenario> scenario_;
  const Simulator* sim_ = nullptr;
  std::thread worker_;
  std::shared_ptr<std::atomic<bool>> stop_;
  bool done_ = true;
  std::optional<RunReport> report_;

  QPushButton* run_button_;
  QPushButton* cancel_button_;
  QProgressBar* progress_;
  QLabel* status_;
  QWidget* what_if_row_;
  QLabel* what_if_;
  QTabWidget* tabs_;
  TimelineChart* chart_;
  QTableWidget* lbs_;
  QTableWidget* failures_;
  QTableWidget* drops_;
  QTableWidget* expectations_;
};

}  // namespace hivesim::gui
