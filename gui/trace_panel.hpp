#pragma once
// The trace side panel: the sending port (exterior ports of the scenario), the packet spec, the
// spec parser's error shown inline under the spec, the verdict with the deciding rule, the hop
// list (one row per device, with its decision), and previous/next buttons that step through
// the hops one at a time. It asks the main window to trace and shows what comes back.

#include <string>
#include <vector>

#include <QWidget>

#include "sim/flow/simulator.hpp"
#include "sim/render/trace_report.hpp"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QListWidget;

namespace hivesim::gui {

class TracePanel : public QWidget {
  Q_OBJECT

 public:
  explicit TracePanel(QWidget* parent = nullptr);

  /// Fills the port choice (a new scenario) and clears the result.
  void set_ports(const std::vector<std::string>& ports);
  /// Puts `port` and `spec` into the inputs (command line --trace, tests).
  void set_request(const QString& port, const QString& spec);
  /// Shows a traced packet: verdict, drop rule, hops; focuses no hop.
  void show_result(const Simulator& sim, const TraceRecord& record);
  /// Shows why the request could not be traced (spec error, unknown port) under the spec.
  void show_error(const QString& message);

  QString port() const;
  QString spec() const;
  /// The error text shown under the spec ("" when none).
  QString error_text() const;
  QString verdict_text() const;
  int hop_count() const;
  int current_hop() const { return current_; }

 public slots:
  void trace();
  void next_hop();
  void previous_hop();
  void set_hop(int number);

 signals:
  void traceRequested(const QString& port, const QString& spec);
  /// The hop stepped to (1-based; 0: none).
  void hopFocused(int number);

 private:
  void update_buttons();

  QComboBox* port_;
  QLineEdit* spec_;
  QPushButton* trace_button_;
  QLabel* error_;
  QString error_message_;
  QLabel* verdict_;
  QListWidget* hops_;
  QPushButton* prev_;
  QPushButton* next_;
  QLabel* position_;
  int current_ = 0;
};

}  // namespace hivesim::gui
