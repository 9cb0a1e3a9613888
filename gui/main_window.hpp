#pragma once
// hivesim-gui's window: the topology picture (left), the Trace and Device panels (right), and
// the run with its report tabs (bottom). It wires the panels to a Session (the opened scenario)
// and to the graph library's layout; every answer comes from the same libraries as the CLI.

#include <memory>
#include <optional>

#include <QMainWindow>

#include "gui/device_info.hpp"
#include "gui/session.hpp"

class QLabel;
class QSplitter;
class QTabWidget;
class QTextBrowser;

namespace hivesim::gui {

class RunPanel;
class TopologyView;
class TracePanel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  /// Opens `path`; on failure keeps the current scenario and returns the diagnostics.
  Status open_scenario(const QString& path);
  /// Traces "PORT SPEC" as if typed into the trace panel; returns the error shown, if any.
  Status trace_line(const QString& line);
  /// Starts a run and waits (running the event loop) until it ends; returns its error, if any.
  Status run_and_wait();
  /// Adds a what-if failure to the next run (as the topology's right-click menu does); the
  /// error is also shown in the status bar.
  Status add_failure(hivesim::FailureKind kind, const QString& target);
  /// Drops the what-if failures (the run panel's Clear what-if).
  void clear_failures();

  const Session* session() const { return session_.get(); }
  TopologyView* view() const { return view_; }
  TracePanel* trace_panel() const { return trace_; }
  RunPanel* run_panel() const { return run_; }
  QTextBrowser* device_browser() const { return device_; }

 public slots:
  void open_dialog();
  void trace(const QString& port, const QString& spec);
  void show_device(hivesim::gui::ObjectKind kind, const QString& name);

 private:
  void draw(const TraceRecord* record);
  /// Gives the run panel the session's scenario and its added failures.
  void refresh_run();

  std::unique_ptr<Session> session_;
  QString path_;
  TopologyView* view_;
  TracePanel* trace_;
  RunPanel* run_;
  QTextBrowser* device_;
  QTabWidget* side_;
  QSplitter* vertical_;
  QLabel* hint_;
};

}  // namespace hivesim::gui
