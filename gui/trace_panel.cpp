#include "gui/trace_panel.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "gui/device_info.hpp"

namespace hivesim::gui {

TracePanel::TracePanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* from_row = new QHBoxLayout;
  from_row->addWidget(new QLabel("Send from port:"));
  port_ = new QComboBox;
  port_->setToolTip("An exterior port: a VM's NIC or an uplink. The packet enters here.");
  from_row->addWidget(port_, 1);
  layout->addLayout(from_row);

  layout->addWidget(new QLabel("Packet spec (protocol, then key=value):"));
  auto* spec_row = new QHBoxLayout;
  spec_ = new QLineEdit;
  spec_->setPlaceholderText("tcp dst=10.0.3.10 dport=5432");
  spec_->setToolTip(
      "Words: tcp udp icmp arp ip eth dhcp. Keys: src dst sport dport flags ttl eth_src eth_dst "
      "vlan icmp_type ... Fields left out are what the VM behind the port would send.");
  spec_row->addWidget(spec_, 1);
  trace_button_ = new QPushButton("Trace");
  trace_button_->setDefault(true);
  spec_row->addWidget(trace_button_);
  layout->addLayout(spec_row);

  error_ = new QLabel;
  error_->setWordWrap(true);
  error_->setStyleSheet("QLabel { color: #b00000; }");
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->hide();
  layout->addWidget(error_);

  verdict_ = new QLabel;
  verdict_->setWordWrap(true);
  verdict_->setTextFormat(Qt::RichText);
  verdict_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(verdict_);

  layout->addWidget(new QLabel("Hops (each device the packet crossed, and what it decided):"));
  hops_ = new QListWidget;
  hops_->setWordWrap(true);
  hops_->setAlternatingRowColors(true);
  hops_->setResizeMode(QListView::Adjust);
  hops_->setSpacing(1);
  layout->addWidget(hops_, 1);

  auto* step_row = new QHBoxLayout;
  prev_ = new QPushButton("◀ Previous hop");
  next_ = new QPushButton("Next hop ▶");
  position_ = new QLabel;
  step_row->addWidget(prev_);
  step_row->addWidget(position_, 1, Qt::AlignCenter);
  step_row->addWidget(next_);
  layout->addLayout(step_row);

  connect(trace_button_, &QPushButton::clicked, this, &TracePanel::trace);
  connect(spec_, &QLineEdit::returnPressed, this, &TracePanel::trace);
  connect(prev_, &QPushButton::clicked, this, &TracePanel::previous_hop);
  connect(next_, &QPushButton::clicked, this, &TracePanel::next_hop);
  connect(hops_, &QListWidget::currentRowChanged, this, [this](int row) {
    if (row >= 0) set_hop(row + 1);
  });
  // Editing the spec clears a stale error.
  connect(spec_, &QLineEdit::textEdited, this, [this] {
    error_->hide();
    error_message_.clear();
  });
  update_buttons();
}

void TracePanel::set_ports(const std::vector<std::string>& ports) {
  port_->clear();
  for (const std::string& p : ports)
    port_->addItem(QString::fromStdString(p));
  error_->hide();
  error_message_.clear();
  verdict_->clear();
  hops_->clear();
  current_ = 0;
  update_buttons();
}

void TracePanel::set_request(const QString& port, const QString& spec) {
  const int index = port_->findText(port);
  if (index >= 0) {
    port_->setCurrentIndex(index);
  } else {
    // Kept as typed so that tracing reports the unknown port by name.
    port_->setEditable(true);
    port_->setEditText(port);
  }
  spec_->setText(spec);
}

QString TracePanel::port() const {
  return port_->currentText();
}
QString TracePanel::spec() const {
  return spec_->text();
}
QString TracePanel::error_text() const {
  return error_message_;
}
QString TracePanel::verdict_text() const {
  return verdict_->text();
}
int TracePanel::hop_count() const {
  return hops_->count();
}

void TracePanel::trace() {
  emit traceRequested(port(), spec());
}

void TracePanel::show_error(const QString& message) {
  error_message_ = message;
  error_->setText("⚠ " + message);
  error_->show();
}

void TracePanel::show_result(const Simulator& sim, const TraceRecord& record) {
  const Topology& topo = sim.topology();
  error_->hide();
  error_message_.clear();
  const SimulationResult& r = record.result;
  QString text;
  switch (r.verdict) {
    case Verdict::kDelivered: {
      QStringList to;
      for (PortId p : r.delivered_ports())
        to << QString::fromStdString(topo.port(p).name);
      text =
          "<span style='color:#1a7f37'><b>Delivered</b></span> to " + to.join(", ").toHtmlEscaped();
      break;
    }
    case Verdict::kConsumed:
      text = "<b>Consumed</b>: a device answered it (echo or ARP reply)";
      break;
    case Verdict::kDropped: {
      text = "<span style='color:#b00000'><b>Dropped</b></span>";
      if (r.drop) {
        if (!r.drop->device.empty()) {
          text += " at <b>" + QString::fromStdString(r.drop->device).toHtmlEscaped() + "</b>";
        }
        text += " (reason: " + QString::fromStdString(std::string(to_string(r.drop->reason))) + ")";
        const std::string rule = rule_text(sim, r.drop->device, r.drop->rule);
        if (r.drop->rule && !rule.empty()) {
          text += "<br>Deciding " + QString::fromStdString(html_escape(rule));
        }
      }
      break;
    }
  }
  int generated = 0;
  for (const OutPacket& o : r.out)
    generated += o.generated ? 1 : 0;
  if (generated > 0) {
    text += QString("<br>%1 packet(s) generated by devices (ICMP error, reply)").arg(generated);
  }
  verdict_->setText(text);

  hops_->clear();
  int number = 0;
  for (const Hop& h : r.hops) {
    const std::string ports = (h.in_port.empty() ? "-" : h.in_port) + " → " +
                              (h.out_port.empty() ? "(stops here)" : h.out_port);
    auto* item =
        new QListWidgetItem(QString::fromStdString(std::to_string(++number) + ". " + h.kind + " " +
                                                   h.device + "   " + ports + "\n     " + h.detail),
                            hops_);
    item->setToolTip(QString::fromStdString(h.detail));
  }
  current_ = 0;
  update_buttons();
}

void TracePanel::next_hop() {
  set_hop(std::min(current_ + 1, hop_count()));
}
void TracePanel::previous_hop() {
  set_hop(std::max(current_ - 1, 1));
}

void TracePanel::set_hop(int number) {
  if (number < 0 || number > hop_count() || number == current_) return;
  current_ = number;
  hops_->setCurrentRow(number - 1);
  update_buttons();
  emit hopFocused(number);
}

void TracePanel::update_buttons() {
  const int n = hop_count();
  prev_->setEnabled(current_ > 1);
  next_->setEnabled(current_ < n);
  position_->setText(n == 0          ? QString()
                     : current_ == 0 ? QString("%1 hops").arg(n)
                                     : QString("hop %1 of %2").arg(current_).arg(n));
}

}  // namespace hivesim::gui
