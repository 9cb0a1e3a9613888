#include <catch2/catch.hpp>

#include <QDir>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>

namespace {

struct Outcome {
  int code = -1;
  QString err;
};

Outcome gui(const QStringList& args) {
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert("QT_QPA_PLATFORM", "offscreen");
  p.setProcessEnvironment(env);
  p.start(HIVESIM_GUI_BIN, args);
  p.waitForFinished(120000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardError())};
}

QString scenario(const char* name) {
  return QString(HIVESIM_SOURCE_DIR) + "/scenarios/" + name;
}

/// Distinct colours in a coarse sample: a blank or one-colour picture has very few.
int colours(const QImage& image) {
  QSet<QRgb> seen;
  for (int y = 0; y < image.height(); y += 7) {
    for (int x = 0; x < image.width(); x += 7)
      seen.insert(image.pixel(x, y));
  }
  return static_cast<int>(seen.size());
}

}  // namespace

TEST_CASE("hivesim-gui --screenshot: the traced state is written as a 1200x800 PNG") {
  QTemporaryDir dir;
  const QString png = dir.filePath("traced.png");
  const Outcome o = gui({scenario("three-tier.yaml"), "--screenshot", png, "--trace",
                         "web1 tcp dst=10.0.3.10 dport=5432"});
  INFO(o.err.toStdString());
  REQUIRE(o.code == 0);
  QImage image(png);
  REQUIRE_FALSE(image.isNull());
  CHECK(image.width() == 1200);
  CHECK(image.height() == 800);
  CHECK(colours(image) > 20);
}

TEST_CASE("hivesim-gui: bad arguments and bad input exit 2 with a message, writing nothing") {
  QTemporaryDir dir;
  const QString png = dir.filePath("x.png");
  Outcome o = gui({scenario("three-tier.yaml"), "--screenshot"});
  CHECK(o.code == 2);
  CHECK(o.err.contains("needs a value"));
  o = gui({scenario("three-tier.yaml"), "--bogus"});
  CHECK(o.code == 2);
  CHECK(o.err.contains("--bogus"));
  o = gui({scenario("three-tier.yaml"), "--screenshot", png, "--trace", "web1 tcp dprt=1"});
  CHECK(o.code == 2);
  CHECK(o.err.contains("dprt"));
  o = gui({scenario("three-tier.yaml"), "--screenshot", png, "--fail", "host_down:hv9", "--run"});
  CHECK(o.code == 2);
  CHECK(o.err.contains("--fail: no host named 'hv9'"));
  o = gui({scenario("nope.yaml"), "--screenshot", png});
  CHECK(o.code == 2);
  CHECK(o.err.contains("nope.yaml"));
  CHECK_FALSE(QFile::exists(png));
}
