#include "gui/topology_view.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <QContextMenuEvent>
#include <QGraphicsEllipseItem>
#include <QGraphicsLineItem>
#include <QGraphicsPathItem>
#include <QGraphicsRectItem>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QGraphicsTextItem>
#include <QMenu>
#include <QMouseEvent>
#include <QPainterPath>
#include <QResizeEvent>
#include <QWheelEvent>

namespace hivesim::gui {

namespace {

constexpr int kRoleId = 0;
constexpr int kRoleKind = 1;
constexpr int kRoleName = 2;

const QColor kPath(230, 120, 0);        // the traced path
const QColor kDrop(200, 30, 30);        // where the packet was dropped
const QColor kEdge(120, 120, 120);      // an edge not on the path
const QColor kFocus(20, 90, 200);       // the hop being stepped through
constexpr double kPortLabelZoom = 1.6;  // interior port names show from this zoom on
constexpr double kCalloutWidth = 250;   // the hop callout, right of a traced drawing
constexpr double kCalloutGap = 24;

QColor fill_for(graph::NodeKind kind) {
  switch (kind) {
    case graph::NodeKind::kBridge:
      return QColor(214, 234, 248);
    case graph::NodeKind::kRouter:
      return QColor(252, 243, 207);
    case graph::NodeKind::kPort:
      return QColor(255, 255, 255);
    case graph::NodeKind::kUplink:
      return QColor(232, 218, 239);
    case graph::NodeKind::kHost:
      return QColor(240, 240, 240);
  }
  return Qt::white;
}

std::optional<ObjectKind> device_kind(graph::NodeKind kind) {
  switch (kind) {
    case graph::NodeKind::kBridge:
      return ObjectKind::kBridge;
    case graph::NodeKind::kRouter:
      return ObjectKind::kRouter;
    case graph::NodeKind::kHost:
      return ObjectKind::kHost;
    case graph::NodeKind::kPort:
    case graph::NodeKind::kUplink:
      return ObjectKind::kPort;
  }
  return std::nullopt;
}

/// A text item centred on (x, y), shrunk to fit `max_width` when wider.
QGraphicsSimpleTextItem* centred_text(QGraphicsItem* parent, const QString& text, QPointF centre,
                                      double max_width, int pixel_size, bool bold = false) {
  auto* item = new QGraphicsSimpleTextItem(text, parent);
  QFont font;
  font.setPixelSize(pixel_size);
  font.setBold(bold);
  item->setFont(font);
  const QRectF r = item->boundingRect();
  const double scale = r.width() > max_width && max_width > 0 ? max_width / r.width() : 1.0;
  item->setScale(scale);
  item->setPos(centre.x() - r.width() * scale / 2, centre.y() - r.height() * scale / 2);
  return item;
}

bool badge_has(const std::string& badge, int number) {
  std::stringstream in(badge);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part == std::to_string(number)) return true;
  }
  return false;
}

}  // namespace

TopologyView::TopologyView(QWidget* parent) : QGraphicsView(parent) {
  setScene(new QGraphicsScene(this));
  setRenderHint(QPainter::Antialiasing);
  setRenderHint(QPainter::TextAntialiasing);
  setDragMode(QGraphicsView::ScrollHandDrag);
  setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
  setResizeAnchor(QGraphicsView::AnchorViewCenter);
  setBackgroundBrush(Qt::white);
  connect(scene(), &QGraphicsScene::selectionChanged, this, &TopologyView::on_selection);
}

void TopologyView::clear_graph() {
  scene()->clear();
  node_items_.clear();
  port_labels_.clear();
  focus_frame_ = nullptr;
  callout_ = nullptr;
  leader_ = nullptr;
  focused_.clear();
  graph_ = {};
}

void TopologyView::show_graph(const graph::Graph& g) {
  clear_graph();
  graph_ = g;
  QGraphicsScene* s = scene();
  const QRectF bounds(0, 0, g.width, g.height);

  // Clusters first (outermost first, as listed), so devices sit on top.
  for (const graph::Cluster& c : g.clusters) {
    const bool zone = c.kind == graph::ClusterKind::kTunnelZone;
    auto* box = s->addRect(c.box.x, c.box.y, c.box.width, c.box.height,
                           QPen(zone ? QColor(150, 150, 150) : QColor(110, 140, 170), 1,
                                zone ? Qt::DashLine : Qt::SolidLine),
                           QBrush(zone ? QColor(250, 250, 250) : QColor(238, 244, 250)));
    box->setZValue(zone ? -20 : -10);
    auto* label = new QGraphicsSimpleTextItem(QString::fromStdString(c.label), box);
    QFont font;
    font.setPixelSize(11);
    font.setItalic(zone);
    label->setFont(font);
    label->setBrush(QColor(70, 70, 70));
    label->setPos(c.box.x + 4, c.box.y + 2);
  }

  for (const graph::Edge& e : g.edges) {
    if (e.points.empty()) continue;
    QPainterPath path(QPointF(e.points[0].x, e.points[0].y));
    for (std::size_t i = 1; i + 2 < e.points.size(); i += 3) {
      path.cubicTo(QPointF(e.points[i].x, e.points[i].y),
                   QPointF(e.points[i + 1].x, e.points[i + 1].y),
                   QPointF(e.points[i + 2].x, e.points[i + 2].y));
    }
    QPen pen(kEdge, 1.3);
    if (e.highlighted) pen = QPen(kPath, 4.5);
    if (e.dropped) pen = QPen(kDrop, 4.5, Qt::DashLine);
    pen.setCapStyle(Qt::RoundCap);
    auto* item = s->addPath(path, pen);
    item->setZValue(e.highlighted || e.dropped ? 1 : 0);
    item->setData(kRoleId, QString::fromStdString(e.from + "|" + e.to));
    if (!e.label.empty()) item->setToolTip(QString::fromStdString(e.label));
    // Interior port names crowd round a router at small sizes: they keep their pixel size and
    // show once zoomed in (update_port_labels).
    for (const auto& [text, pos] :
         {std::pair{e.tail_label, e.tail_label_pos}, std::pair{e.head_label, e.head_label_pos}}) {
      if (text.empty()) continue;
      auto* label = centred_text(nullptr, QString::fromStdString(text), QPointF(0, 0), 0, 10);
      label->setBrush(QColor(80, 80, 80));
      label->setZValue(2);
      label->setFlag(QGraphicsItem::ItemIgnoresTransformations);
      label->setPos(label->pos() + QPointF(pos.x, pos.y));
      s->addItem(label);
      port_labels_.push_back(label);
    }
  }

  for (const graph::Node& n : g.nodes) {
    const QRectF r(n.x - n.width / 2, n.y - n.height / 2, n.width, n.height);
    QPen pen(QColor(60, 60, 60), 1.2);
    QBrush brush(fill_for(n.kind));
    if (n.highlighted) {
      pen = QPen(kPath, 3);
      brush = QBrush(QColor(255, 228, 196));
    }
    if (n.dropped) {
      pen = QPen(kDrop, 3.5);
      brush = QBrush(QColor(250, 205, 205));
    }
    QAbstractGraphicsShapeItem* item = nullptr;
    if (n.kind == graph::NodeKind::kPort || n.kind == graph::NodeKind::kUplink) {
      item = s->addEllipse(r, pen, brush);
    } else {
      QPainterPath shape;
      shape.addRoundedRect(r, n.kind == graph::NodeKind::kRouter ? 14 : 5,
                           n.kind == graph::NodeKind::kRouter ? 14 : 5);
      item = s->addPath(shape, pen, brush);
    }
    item->setZValue(5);
    item->setFlag(QGraphicsItem::ItemIsSelectable);
    item->setCursor(Qt::PointingHandCursor);
    item->setData(kRoleId, QString::fromStdString(n.id));
    item->setData(kRoleKind, static_cast<int>(n.kind));
    item->setData(kRoleName, QString::fromStdString(n.name));
    item->setToolTip(QString::fromStdString(n.label));
    const bool device = n.kind == graph::NodeKind::kBridge || n.kind == graph::NodeKind::kRouter;
    centred_text(item, QString::fromStdString(n.label), r.center(), n.width - 6, device ? 13 : 11,
                 device);
    if (!n.badge.empty()) {
      // Hop numbers in an orange disc on the node's top-right corner.
      const QString text = QString::fromStdString(n.badge);
      const double w = std::max(18.0, 8.0 * text.size() + 8);
      auto* disc = new QGraphicsEllipseItem(r.right() - w / 2 - 2, r.top() - 11, w, 18, item);
      disc->setPen(Qt::NoPen);
      disc->setBrush(n.dropped ? kDrop : kPath);
      auto* t = centred_text(disc, text, disc->rect().center(), w - 2, 11, true);
      t->setBrush(Qt::white);
    }
    node_items_[n.id] = item;
  }
  // A traced drawing keeps a margin on its right for the hop callout (focus_hop).
  s->setSceneRect(bounds.adjusted(-20, -20, g.trace ? kCalloutGap + kCalloutWidth + 10 : 20, 20));
  fit();
}

void TopologyView::fit() {
  user_zoomed_ = false;
  if (scene()->items().isEmpty()) return;
  fitInView(scene()->sceneRect(), Qt::KeepAspectRatio);
  // Small drawings are not blown up past twice their size.
  if (transform().m11() > 2.0) setTransform(QTransform::fromScale(2.0, 2.0));
  update_port_labels();
}

double TopologyView::zoom() const {
  return transform().m11();
}

void TopologyView::wheelEvent(QWheelEvent* event) {
  const double factor = std::pow(1.0015, event->angleDelta().y());
  const double next = zoom() * factor;
  if (next < 0.05 || next > 10.0) return;
  scale(factor, factor);
  user_zoomed_ = true;
  update_port_labels();
  event->accept();
}

void TopologyView::update_port_labels() {
  const bool show = zoom() >= kPortLabelZoom;
  for (QGraphicsItem* label : port_labels_)
    label->setVisible(show);
}

void TopologyView::resizeEvent(QResizeEvent* event) {
  QGraphicsView::resizeEvent(event);
  if (!user_zoomed_) fit();
}

void TopologyView::mouseDoubleClickEvent(QMouseEvent* event) {
  if (itemAt(event->pos()) == nullptr) {
    fit();
    return;
  }
  QGraphicsView::mouseDoubleClickEvent(event);
}

void TopologyView::on_selection() {
  const auto selected = scene()->selectedItems();
  if (selected.isEmpty()) return;
  const QGraphicsItem* item = selected.front();
  const auto kind = device_kind(static_cast<graph::NodeKind>(item->data(kRoleKind).toInt()));
  if (!kind) return;
  emit deviceSelected(*kind, item->data(kRoleName).toString());
}

std::vector<std::pair<QString, FailureKind>> failure_choices(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kHost:
      return {{"What if host %1 goes down during the run?", FailureKind::kHostDown},
              {"What if the agent on %1 restarts during the run?", FailureKind::kAgentRestart}};
    case ObjectKind::kPort:
      return {{"What if port %1 goes down during the run?", FailureKind::kPortDown}};
    case ObjectKind::kBridge:
    case ObjectKind::kRouter:
      break;
  }
  return {};
}

void TopologyView::contextMenuEvent(QContextMenuEvent* event) {
  for (QGraphicsItem* item = itemAt(event->pos()); item != nullptr; item = item->parentItem()) {
    if (!item->data(kRoleKind).isValid()) continue;
    const auto kind = device_kind(static_cast<graph::NodeKind>(item->data(kRoleKind).toInt()));
    if (!kind || failure_choices(*kind).empty()) return;
    const QString name = item->data(kRoleName).toString();
    QMenu menu(this);
    for (const auto& [text, failure] : failure_choices(*kind)) {
      menu.addAction(text.arg(name), this,
                     [this, what = failure, name] { emit failureRequested(what, name); });
    }
    menu.exec(event->globalPos());
    return;
  }
}

bool TopologyView::select_node(const std::string& id) {
  auto it = node_items_.find(id);
  if (it == node_items_.end()) return false;
  scene()->clearSelection();
  it->second->setSelected(true);
  return true;
}

std::vector<std::string> TopologyView::highlighted_nodes() const {
  std::vector<std::string> ids;
  for (const graph::Node& n : graph_.nodes) {
    if (n.highlighted || n.dropped) ids.push_back(n.id);
  }
  return ids;
}

void TopologyView::focus_hop(int number) {
  delete focus_frame_;
  delete callout_;
  delete leader_;
  focus_frame_ = nullptr;
  callout_ = nullptr;
  leader_ = nullptr;
  focused_.clear();
  if (number <= 0 || !graph_.trace || number > static_cast<int>(graph_.trace->hops.size())) {
    return;
  }
  const graph::TracedHop& hop = graph_.trace->hops[number - 1];
  for (const graph::Node& n : graph_.nodes) {
    if (!badge_has(n.badge, number)) continue;
    focused_ = n.id;
    const QRectF r(n.x - n.width / 2, n.y - n.height / 2, n.width, n.height);
    // A halo behind the device (its hop badge stays on top).
    focus_frame_ =
        scene()->addRect(r.adjusted(-7, -7, 7, 7), QPen(kFocus, 3), QBrush(QColor(210, 228, 255)));
    focus_frame_->setZValue(4);
    // The callout: which hop and what the device decided, in the margin right of the drawing
    // (kept free for it when traced), joined to the device by a thin line.
    auto* text = new QGraphicsTextItem;
    text->setTextWidth(kCalloutWidth - 8);
    QFont font;
    font.setPixelSize(12);
    text->setFont(font);
    text->setPlainText(QString("hop %1: %2 %3\n%4")
                           .arg(number)
                           .arg(QString::fromStdString(hop.kind))
                           .arg(QString::fromStdString(hop.device))
                           .arg(QString::fromStdString(hop.decision)));
    auto* box = new QGraphicsRectItem(text->boundingRect().adjusted(-3, -3, 3, 3));
    box->setBrush(QColor(255, 255, 240));
    box->setPen(QPen(kFocus, 1.5));
    text->setParentItem(box);
    const double top = std::clamp(n.y - box->rect().height() / 2, 0.0,
                                  std::max(0.0, graph_.height - box->rect().height()));
    box->setPos(graph_.width + kCalloutGap, top);
    box->setZValue(9);
    auto* leader = new QGraphicsLineItem(
        QLineF(r.right() + 7, n.y, graph_.width + kCalloutGap - 3, top + box->rect().height() / 2));
    leader->setPen(QPen(kFocus, 1.2, Qt::DashLine));
    leader->setZValue(3);
    scene()->addItem(box);
    scene()->addItem(leader);
    callout_ = box;
    leader_ = leader;
    break;
  }
}

}  // namespace hivesim::gui
