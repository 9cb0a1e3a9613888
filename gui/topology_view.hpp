#pragma once
// The topology picture: a QGraphicsView over a QGraphicsScene built from a placed graph::Graph
// (sim/graph: Graphviz's layout, the same one `hivesim graph --format svg` draws). Tunnel zones
// and hosts are boxes, bridges and routers rounded boxes, ports small ovals; a traced packet's
// path is drawn thick and orange, the device or edge where it was dropped red, and each device
// visited carries its hop numbers. The view only draws the values it is given.
//
// Use: the wheel zooms around the mouse, dragging the background pans, a click on a bridge,
// router, host or port selects it (deviceSelected), a double click fits the whole drawing, a
// right click on a host or port offers to fail it in the next run (failureRequested).
// Interior port names (at each end of a link) show once zoomed in past 1.6x; hovering a link
// names both its ports.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <QGraphicsView>

#include "gui/device_info.hpp"
#include "sim/graph/graph.hpp"

class QGraphicsItem;
class QGraphicsRectItem;

namespace hivesim::gui {

/// What a right click on a device of `kind` offers to fail in the next run: the menu text
/// ("%1" is the device's name) and the failure; none for bridges and routers.
std::vector<std::pair<QString, FailureKind>> failure_choices(ObjectKind kind);

class TopologyView : public QGraphicsView {
  Q_OBJECT

 public:
  explicit TopologyView(QWidget* parent = nullptr);

  /// Replaces the drawing with `graph` (precondition: graph.placed) and fits it in view.
  void show_graph(const graph::Graph& graph);
  /// Clears the drawing.
  void clear_graph();
  /// Marks hop `number` (1-based; 0 for none) of the drawn trace: its device gets a strong
  /// frame and a callout with its decision.
  void focus_hop(int number);
  /// Fits the whole drawing in the view (and keeps it fitted on resize until the next zoom).
  void fit();

  /// Node ids drawn as on the traced path (for tests), in graph order.
  std::vector<std::string> highlighted_nodes() const;
  /// The node id framed by focus_hop, empty for none.
  const std::string& focused_node() const { return focused_; }
  /// Selects the node `id` ("bridge:web") as a click would.
  bool select_node(const std::string& id);
  /// Current zoom factor (1 = one point per pixel).
  double zoom() const;

 signals:
  void deviceSelected(hivesim::gui::ObjectKind kind, const QString& name);
  /// The user chose a failure from a device's right-click menu.
  void failureRequested(hivesim::FailureKind kind, const QString& target);

 protected:
  void wheelEvent(QWheelEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void contextMenuEvent(QContextMenuEvent* event) override;
  /// Keeps the drawing fitted while the user has not zoomed.
  void resizeEvent(QResizeEvent* event) override;

 private:
  void on_selection();
  void update_port_labels();

  graph::Graph graph_;
  std::map<std::string, QGraphicsItem*> node_items_;
  std::vector<QGraphicsItem*> port_labels_;
  QGraphicsRectItem* focus_frame_ = nullptr;
  QGraphicsItem* callout_ = nullptr;
  QGraphicsItem* leader_ = nullptr;
  std::string focused_;
  bool user_zoomed_ = false;
};

}  // namespace hivesim::gui
