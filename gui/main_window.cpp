#include "gui/main_window.hpp"

#include <QAction>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTextBrowser>
#include <QToolBar>
#include <QVBoxLayout>

#include "gui/run_panel.hpp"
#include "gui/topology_view.hpp"
#include "gui/trace_panel.hpp"
#include "sim/graph/graph.hpp"

namespace hivesim::gui {

namespace {
const char* const kNavigationHint =
    "Wheel: zoom · drag: pan · click a bridge, router, host or port for its details · "
    "right-click a host or port: what if it fails during the run · double-click the "
    "background: fit";
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("hivesim");
  auto* toolbar = addToolBar("main");
  toolbar->setMovable(false);
  toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
  QAction* open = toolbar->addAction("Open scenario…");
  open->setShortcut(QKeySequence::Open);
  connect(open, &QAction::triggered, this, &MainWindow::open_dialog);
  QAction* fit = toolbar->addAction("Fit drawing");
  toolbar->addSeparator();

  view_ = new TopologyView;
  connect(fit, &QAction::triggered, view_, &TopologyView::fit);
  hint_ = new QLabel(kNavigationHint);
  hint_->setWordWrap(true);
  hint_->setStyleSheet("QLabel { color: #555; padding: 2px; }");
  auto* left = new QWidget;
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(0, 0, 0, 0);
  left_layout->setSpacing(0);
  left_layout->addWidget(hint_);
  left_layout->addWidget(view_, 1);

  trace_ = new TracePanel;
  device_ = new QTextBrowser;
  device_->setHtml(
      "<p style='color:#555'>Click a bridge, router, host or port in the drawing to "
      "see its ports, routes, chains and rules.</p>");
  side_ = new QTabWidget;
  side_->addTab(trace_, "Trace a packet");
  side_->addTab(device_, "Device");

  auto* top = new QSplitter(Qt::Horizontal);
  top->addWidget(left);
  top->addWidget(side_);
  top->setStretchFactor(0, 3);
  top->setStretchFactor(1, 2);
  top->setSizes({700, 480});

  run_ = new RunPanel;
  vertical_ = new QSplitter(Qt::Vertical);
  vertical_->addWidget(top);
  vertical_->addWidget(run_);
  vertical_->setStretchFactor(0, 3);
  vertical_->setStretchFactor(1, 1);
  vertical_->setSizes({600, 170});
  setCentralWidget(vertical_);

  connect(trace_, &TracePanel::traceRequested, this, &MainWindow::trace);
  connect(trace_, &TracePanel::hopFocused, view_, &TopologyView::focus_hop);
  connect(view_, &TopologyView::deviceSelected, this, &MainWindow::show_device);
  connect(view_, &TopologyView::failureRequested, this,
          [this](FailureKind kind, const QString& target) { (void)add_failure(kind, target); });
  connect(run_, &RunPanel::clearWhatIfRequested, this, &MainWindow::clear_failures);
  connect(run_, &RunPanel::finished, this, [this](bool ok, const QString& message) {
    if (ok) {
      // Give the report room once there is one.
      vertical_->setSizes({380, 400});
      statusBar()->showMessage("Run finished");
    } else {
      statusBar()->showMessage("Run " + message);
    }
  });
  statusBar()->showMessage("Open a scenario (File: Open scenario…, or hivesim-gui SCENARIO)");
}

MainWindow::~MainWindow() = default;

void MainWindow::open_dialog() {
  const QString path = QFileDialog::getOpenFileName(this, "Open a hivesim scenario", QString(),
                                                    "Scenarios (*.yaml *.yml);;All files (*)");
  if (path.isEmpty()) return;
  if (Status error = open_scenario(path); !error.ok()) {
    QMessageBox box(QMessageBox::Warning, "Cannot open the scenario",
                    "The scenario has problems; nothing was opened.", QMessageBox::Ok, this);
    box.setDetailedText(QString::fromStdString(error.error()));
    box.setInformativeText(QString::fromStdString(error.error()).section('\n', 0, 4));
    box.exec();
  }
}

Status MainWindow::open_scenario(const QString& path) {
  auto opened = Session::open(path.toStdString());
  if (!opened) return Error{opened.error()};
  session_ = std::move(*opened);
  path_ = path;
  const Scenario& s = session_->scenario();
  setWindowTitle(
      QString("hivesim — %1 (%2)").arg(QString::fromStdString(s.name), QFileInfo(path).fileName()));
  trace_->set_ports(session_->sending_ports());
  refresh_run();
  device_->setHtml(
      "<p style='color:#555'>Click a bridge, router, host or port in the drawing "
      "to see its ports, routes, chains and rules.</p>");
  draw(nullptr);
  const Topology& t = s.topology;
  statusBar()->showMessage(QString("Opened %1: %2 hosts, %3 bridges, %4 routers, %5 ports, "
                                   "%6 traffic entries, %7 failures")
                               .arg(path)
                               .arg(t.hosts.size())
                               .arg(t.bridges.size())
                               .arg(t.routers.size())
                               .arg(t.ports.size())
                               .arg(s.traffic.size())
                               .arg(s.failures.size()));
  return {};
}

void MainWindow::draw(const TraceRecord* record) {
  std::optional<graph::TraceInput> input;
  if (record != nullptr) input = graph::TraceInput{record->from, record->spec, record->result};
  auto laid = graph::layout_scenario(session_->scenario(), input ? &*input : nullptr);
  if (!laid) {
    view_->clear_graph();
    statusBar()->showMessage("Cannot lay out the topology: " +
                             QString::fromStdString(laid.error()));
    return;
  }
  view_->show_graph(*laid);
  hint_->setText(record == nullptr
                     ? kNavigationHint
                     : "<span style='color:#e67800'><b>Orange</b></span>: the packet's path "
                       "(numbers: hop order) · <span style='color:#c81e1e'><b>red</b></span>: "
                       "where it was dropped · <span style='color:#145ac8'><b>blue</b></span>: "
                       "the hop selected on the right");
}

void MainWindow::trace(const QString& port, const QString& spec) {
  if (!session_) {
    trace_->show_error("Open a scenario first.");
    return;
  }
  side_->setCurrentWidget(trace_);
  auto record = session_->trace(port.trimmed().toStdString(), spec.trimmed().toStdString());
  if (!record) {
    trace_->show_error(QString::fromStdString(record.error()));
    return;
  }
  trace_->show_result(session_->simulator(), *record);
  draw(&*record);
  statusBar()->showMessage(QString("Traced from %1: %2 hops").arg(port).arg(trace_->hop_count()));
}

Status MainWindow::trace_line(const QString& line) {
  const QString trimmed = line.trimmed();
  const QString port = trimmed.section(' ', 0, 0, QString::SectionSkipEmpty);
  const QString spec = trimmed.section(' ', 1, -1, QString::SectionSkipEmpty);
  trace_->set_request(port, spec);
  trace(port, spec);
  const QString error = trace_->error_text();
  if (!error.isEmpty()) return Error{error.toStdString()};
  return {};
}

Status MainWindow::run_and_wait() {
  if (!session_) return Error{"no scenario is open"};
  QEventLoop loop;
  std::optional<QString> failure;
  auto connection = connect(run_, &RunPanel::finished, &loop, [&](bool ok, const QString& message) {
    if (!ok) failure = message;
    loop.quit();
  });
  run_->start();
  loop.exec();
  disconnect(connection);
  if (failure) return Error{failure->toStdString()};
  return {};
}

Status MainWindow::add_failure(FailureKind kind, const QString& target) {
  if (!session_) return Error{"no scenario is open"};
  auto added = session_->add_failure(kind, target.toStdString());
  if (!added) {
    statusBar()->showMessage(QString::fromStdString(added.error()));
    return Error{added.error()};
  }
  refresh_run();
  statusBar()->showMessage("Added to the next run: " + QString::fromStdString(*added) +
                           ". Press Run to see what it does.");
  return {};
}

void MainWindow::clear_failures() {
  if (!session_) return;
  session_->clear_added_failures();
  refresh_run();
  statusBar()->showMessage("The next run has the scenario's own failures only");
}

void MainWindow::refresh_run() {
  run_->set_scenario(session_->shared_scenario(), &session_->simulator());
  QStringList labels;
  for (const std::string& label : session_->added_failures())
    labels << QString::fromStdString(label);
  run_->set_what_if(labels);
}

void MainWindow::show_device(ObjectKind kind, const QString& name) {
  if (!session_) return;
  const auto html = device_html(session_->simulator(), kind, name.toStdString());
  if (!html) return;
  device_->setHtml(QString::fromStdString(*html));
  side_->setCurrentWidget(device_);
}

}  // namespace hivesim::gui
