// hivesim-gui: the Qt 6 window over hivesim's libraries (see gui/main_window.hpp), and its
// --screenshot mode that renders offscreen and exits (for docs, tests and CI).

#include <cstdlib>
#include <iostream>

#include <QApplication>
#include <QPixmap>
#include <QSaveFile>

#include "gui/app_args.hpp"
#include "gui/main_window.hpp"
#include "gui/run_panel.hpp"
#include "gui/trace_panel.hpp"

namespace {

constexpr int kExitBadInput = 2;

int fail(const std::string& message) {
  std::cerr << "hivesim-gui: error: " << message << "\n";
  return kExitBadInput;
}

/// Writes the window's picture through a temporary file renamed into place.
bool save_png(QWidget& window, const QString& path) {
  const QPixmap picture = window.grab();
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) return false;
  if (!picture.save(&file, "PNG")) {
    file.cancelWriting();
    return false;
  }
  return file.commit();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> raw(argv + 1, argv + argc);
  auto args = hivesim::gui::parse_app_args(raw);
  if (!args) {
    std::cerr << "hivesim-gui: error: " << args.error() << "\n" << hivesim::gui::kAppUsage;
    return kExitBadInput;
  }
  if (args->help) {
    std::cout << hivesim::gui::kAppUsage;
    return 0;
  }
  if (args->version) {
    std::cout << "hivesim-gui " << HIVESIM_VERSION << "\n";
    return 0;
  }
  // A screenshot needs no display.
  if (args->screenshot && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
  }
  QApplication app(argc, argv);
  QApplication::setApplicationName("hivesim-gui");
  hivesim::gui::MainWindow window;
  window.resize(1200, 800);
  if (args->scenario) {
    if (hivesim::Status error = window.open_scenario(QString::fromStdString(*args->scenario));
        !error.ok()) {
      std::cerr << error.error() << "\n";
      return kExitBadInput;
    }
  }
  for (const auto& [kind, target] : args->fail) {
    if (hivesim::Status error = window.add_failure(kind, QString::fromStdString(target));
        !error.ok()) {
      return fail("--fail: " + error.error());
    }
  }
  if (args->trace) {
    if (hivesim::Status error = window.trace_line(QString::fromStdString(*args->trace));
        !error.ok()) {
      if (args->screenshot) return fail("--trace: " + error.error());
    } else {
      // The last hop is where the packet's fate was decided: show its callout.
      window.trace_panel()->set_hop(window.trace_panel()->hop_count());
    }
  }
  window.show();
  if (!args->screenshot) {
    if (args->run) window.run_panel()->start();
    return QApplication::exec();
  }
  if (args->run) {
    if (hivesim::Status error = window.run_and_wait(); !error.ok())
      return fail("--run: " + error.error());
  }
  QApplication::processEvents();
  if (!save_png(window, QString::fromStdString(*args->screenshot))) {
    return fail("cannot write the screenshot '" + *args->screenshot + "'");
  }
  return 0;
}
