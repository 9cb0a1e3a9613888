#include "topology/load/yaml_doc.hpp"

#include <libfyaml.h>

#include <limits>
#include <optional>

#include <absl/container/flat_hash_map.h>

namespace hivesim::yaml {

// ---------------------------------------------------------------------------------------------
// Building from libfyaml's events

namespace {

struct ParserDeleter {
  void operator()(fy_parser* p) const { fy_parser_destroy(p); }
};
struct DiagDeleter {
  void operator()(fy_diag* d) const { fy_diag_destroy(d); }
};

Mark mark_of(const fy_mark* m) {
  if (!m || m->line < 0 || m->column < 0) return {};
  return Mark{static_cast<std::uint32_t>(m->line), static_cast<std::uint32_t>(m->column)};
}

std::string_view token_text(fy_token* token) {
  if (!token) return {};
  std::size_t length = 0;
  const char* text = fy_token_get_text(token, &length);
  return text ? std::string_view(text, length) : std::string_view();
}

bool is_null_word(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

}  // namespace

/// Turns the event stream into Records. Collections under construction are a stack of frames;
/// their children collect on one scratch stack and move to `children_` when the collection ends.
class Builder {
 public:
  Builder(Document& doc, std::string_view input, std::vector<std::string_view> stream_keys,
          ItemSink* sink)
      : doc_(doc),
        stream_keys_(std::move(stream_keys)),
        key_seen_(stream_keys_.size()),
        sink_(sink),
        input_(input) {
    doc_.nodes_.push_back(Document::Record{});  // index 0: undefined
    expanded_.push_back(0);
  }

  /// False (and `error` set) when the document cannot be represented.
  bool on_event(fy_event* event, SyntaxError& error) {
    bool ok = dispatch(event, error);
    if (ok && too_large_) {
      error = SyntaxError{*too_large_, "the document is too large"};
      ok = false;
    }
    if (const fy_mark* end = fy_event_end_mark(event)) last_end_ = *end;
    return ok;
  }

  bool done() const { return finished_; }
  /// The sink asked to stop (not a syntax error).
  bool stopped() const { return stopped_; }

 private:
  struct Frame {
    std::uint32_t node;
    std::size_t scratch_start;
    int stream = -1;  // a streamed list (its key's index): items go to the sink, not to children
  };

  bool dispatch(fy_event* event, SyntaxError& error) {
    switch (event->type) {
      case FYET_MAPPING_START:
        open(Kind::kMap, event, event->mapping_start.anchor, event->mapping_start.tag);
        return true;
      case FYET_SEQUENCE_START:
        open(Kind::kSequence, event, event->sequence_start.anchor, event->sequence_start.tag);
        return true;
      case FYET_MAPPING_END:
      case FYET_SEQUENCE_END:
        return close(event, error);
      case FYET_SCALAR:
        return scalar(event, error);
      case FYET_ALIAS:
        return alias(event, error);
      default:
        return true;
    }
  }

  /// Where a value that has no text of its own (an empty value, a block scalar's indicator)
  /// starts: the first token after the previous event, past the indicator that opened this
  /// slot (':' of a map value, '-' of a list item). That is the position yaml-cpp gave such a
  /// node, which the loader's messages have always used.
  Mark position_after_previous() const {
    char indicator = 0;
    if (!frames_.empty()) {
      const Frame& top = frames_.back();
      if (doc_.nodes_[top.node].kind() == Kind::kSequence) {
        indicator = '-';
      } else if ((scratch_.size() - top.scratch_start) % 2 == 1) {
        indicator = ':';
      }
    }
    std::size_t pos = last_end_.input_pos;
    Mark at = mark_of(&last_end_);
    auto skip_blank = [&] {
      while (pos < input_.size()) {
        const char c = input_[pos];
        if (c == '#') {
          while (pos < input_.size() && input_[pos] != '\n') {
            ++pos;
            ++at.column;
          }
        } else if (c == '\n') {
          ++pos;
          ++at.line;
          at.column = 0;
        } else if (c == ' ' || c == '\t' || c == '\r') {
          ++pos;
          ++at.column;
        } else {
          return;
        }
      }
    };
    skip_blank();
    if (indicator && pos < input_.size() && input_[pos] == indicator) {
      ++pos;
      ++at.column;
      skip_blank();
    }
    return at;
  }

  std::uint32_t add(Kind kind, Mark at) {
    const auto index = static_cast<std::uint32_t>(doc_.nodes_.size());
    if (at.line > Document::Record::kMaxLine) too_large_ = at;
    doc_.nodes_.push_back(Document::Record::make(kind, at.line, at.column));
    expanded_.push_back(1);
    ++created_;
    return index;
  }

  /// A node starts at its first property (anchor or tag) when it has one.
  static Mark start_of(Mark at, fy_token* anchor, fy_token* tag) {
    for (fy_token* property : {anchor, tag}) {
      const fy_mark* m = property ? fy_token_start_mark(property) : nullptr;
      if (!m) continue;
      const Mark p = mark_of(m);
      if (std::pair(p.line, p.column) < std::pair(at.line, at.column)) at = p;
    }
    return at;
  }
  static Mark start_of(fy_event* event, fy_token* anchor, fy_token* tag) {
    return start_of(mark_of(fy_event_start_mark(event)), anchor, tag);
  }

  void name_anchor(fy_token* anchor, std::uint32_t node) {
    if (!anchor) return;
    anchors_[std::string(token_text(anchor))] = node;
    ++anchor_definitions_;
  }

  /// Hands a finished node to its parent (or makes it the root).
  bool attach(std::uint32_t node, fy_event* event, SyntaxError& error) {
    if (frames_.empty()) {
      doc_.root_ = node;
      finished_ = true;
      return true;
    }
    const Frame parent = frames_.back();
    if (const int key = stream_key_of_value(); key >= 0) {
      key_seen_[static_cast<std::size_t>(key)] = true;
    }
    expanded_[parent.node] += expanded_[node];
    // The bound is on what aliases add: a document's own nodes are bounded by the file size
    // limit (a 100,000-host scenario has 13 million of them and no alias). Streamed items count
    // although their nodes are gone.
    if (expanded_[parent.node] > Document::kMaxExpandedNodes + created_) {
      error = SyntaxError{mark_of(fy_event_start_mark(event)),
                          "aliases expand the document to more than " +
                              std::to_string(Document::kMaxExpandedNodes) + " nodes"};
      return false;
    }
    if (parent.stream >= 0) return stream_item(parent.stream, node);
    scratch_.push_back(node);
    return true;
  }

  /// Which streamed key (its index) the node being attached (or opened) is the value of in the
  /// root map; -1 for none.
  int stream_key_of_value() const {
    if (!sink_ || frames_.size() != 1) return -1;
    const Frame& root = frames_.front();
    if (doc_.nodes_[root.node].kind() != Kind::kMap) return -1;
    if ((scratch_.size() - root.scratch_start) % 2 != 1) return -1;  // not a value
    const std::string_view key = Node(&doc_, scratch_.back()).scalar();
    for (std::size_t i = 0; i < stream_keys_.size(); ++i) {
      if (stream_keys_[i] == key) return static_cast<int>(i);
    }
    return -1;
  }

  /// A list to stream opens: earlier nodes keep their text (the input before the list is going
  /// to be released), the sink sees the root map's entries so far and may decline.
  bool begin_stream(int key) {
    own_text(1);
    std::vector<std::pair<Node, Node>> earlier;
    const Frame& root = frames_.front();
    for (std::size_t i = root.scratch_start; i + 1 < scratch_.size(); i += 2)
      earlier.emplace_back(Node(&doc_, scratch_[i]), Node(&doc_, scratch_[i + 1]));
    if (!sink_->start(stream_keys_[static_cast<std::size_t>(key)], earlier)) return false;
    items_ = 0;
    mark_item_start();
    return true;
  }

  void mark_item_start() {
    item_nodes_ = doc_.nodes_.size();
    item_children_ = doc_.children_.size();
    item_text_ = doc_.text_.size();
    item_anchors_ = anchor_definitions_;
    item_offset_ = last_end_.input_pos > 0 ? static_cast<std::size_t>(last_end_.input_pos) : 0;
  }

  /// Copies the input slices of scalars from node `from` on into the arena.
  void own_text(std::size_t from) {
    for (std::size_t i = from; i < doc_.nodes_.size(); ++i) {
      Document::Record& r = doc_.nodes_[i];
      if (r.kind() != Kind::kScalar || !r.in_input()) continue;
      const std::string_view text = input_.substr(r.first, r.count);
      r.first = static_cast<std::uint32_t>(doc_.text_.size());
      r.line_bits &= ~std::uint32_t{8};
      doc_.text_.append(text);
    }
  }

  /// Hands a complete item of the streamed list to the sink, then drops its nodes.
  bool stream_item(int key, std::uint32_t node) {
    const bool built_here = node >= item_nodes_;  // not an alias to an older node
    sink_->item(stream_keys_[static_cast<std::size_t>(key)], Node(&doc_, node), items_++);
    if (built_here && anchor_definitions_ == item_anchors_) {
      doc_.nodes_.truncate(item_nodes_);
      expanded_.resize(item_nodes_);
      doc_.children_.truncate(item_children_);
      doc_.text_.resize(item_text_);
    } else {
      own_text(item_nodes_);  // an anchor in it may be named further on
    }
    sink_->consumed(item_offset_);
    mark_item_start();
    if (!sink_->keep_going()) {
      stopped_ = true;
      return false;
    }
    return true;
  }

  void open(Kind kind, fy_event* event, fy_token* anchor, fy_token* tag) {
    // An anchored list is not streamed: an alias to it would find it empty.
    int key = kind == Kind::kSequence && !anchor ? stream_key_of_value() : -1;
    if (key >= 0 && key_seen_[static_cast<std::size_t>(key)]) key = -1;
    const std::uint32_t node = add(kind, start_of(event, anchor, tag));
    name_anchor(anchor, node);
    frames_.push_back(Frame{node, scratch_.size()});
    if (key >= 0 && begin_stream(key)) frames_.back().stream = key;
  }

  bool close(fy_event* event, SyntaxError& error) {
    const Frame frame = frames_.back();
    frames_.pop_back();
    Document::Record& r = doc_.nodes_[frame.node];
    r.first = static_cast<std::uint32_t>(doc_.children_.size());
    r.count = static_cast<std::uint32_t>(scratch_.size() - frame.scratch_start);
    for (std::size_t i = frame.scratch_start; i < scratch_.size(); ++i)
      doc_.children_.push_back(scratch_[i]);
    scratch_.resize(frame.scratch_start);
    if (doc_.children_.size() > std::numeric_limits<std::uint32_t>::max()) {
      error = SyntaxError{mark_of(fy_event_start_mark(event)), "the document is too large"};
      return false;
    }
    return attach(frame.node, event, error);
  }

  bool scalar(fy_event* event, SyntaxError& error) {
    fy_token* value = event->scalar.value;
    const std::string_view text = token_text(value);
    const fy_scalar_style style = fy_token_scalar_style(value);
    Mark at = mark_of(fy_event_start_mark(event));
    // libfyaml marks a quoted scalar at its first character; a quoted scalar starts at its
    // opening quote.
    if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && at.column > 0) --at.column;
    if (!fy_event_start_mark(event) || style == FYSS_LITERAL || style == FYSS_FOLDED) {
      at = position_after_previous();
    }
    at = start_of(at, event->scalar.anchor, event->scalar.tag);
    std::uint32_t node = 0;
    if (style == FYSS_PLAIN && is_null_word(text)) {
      node = add(Kind::kNull, at);
    } else {
      node = add(Kind::kScalar, at);
      Document::Record& r = doc_.nodes_[node];
      r.count = static_cast<std::uint32_t>(text.size());
      // Most scalars are plain words libfyaml hands back in place: keep a view, not a copy.
      if (text.data() >= input_.data() &&
          text.data() + text.size() <= input_.data() + input_.size()) {
        r.line_bits |= 8;  // in_input
        r.first = static_cast<std::uint32_t>(text.data() - input_.data());
      } else {
        if (doc_.text_.size() + text.size() > std::numeric_limits<std::uint32_t>::max()) {
          error = SyntaxError{at, "the document is too large"};
          return false;
        }
        r.first = static_cast<std::uint32_t>(doc_.text_.size());
        doc_.text_.append(text);
      }
    }
    name_anchor(event->scalar.anchor, node);
    return attach(node, event, error);
  }

  bool alias(fy_event* event, SyntaxError& error) {
    const std::string name(token_text(event->alias.anchor));
    auto it = anchors_.find(name);
    if (it == anchors_.end()) {
      error = SyntaxError{mark_of(fy_event_start_mark(event)),
                          "the alias *" + name + " names no anchor before it"};
      return false;
    }
    return attach(it->second, event, error);
  }

  Document& doc_;
  std::vector<std::string_view> stream_keys_;
  std::vector<bool> key_seen_;  // per stream key: met in the root map already
  ItemSink* sink_ = nullptr;
  bool stopped_ = false;
  std::uint64_t created_ = 0;             // nodes ever built, streamed ones included
  std::uint64_t anchor_definitions_ = 0;  // anchors ever named
  // Where the streamed item being read starts: in nodes_, children_, text_, anchors and input.
  std::size_t item_nodes_ = 0;
  std::size_t item_children_ = 0;
  std::size_t item_text_ = 0;
  std::uint64_t item_anchors_ = 0;
  std::size_t item_offset_ = 0;
  std::size_t items_ = 0;
  std::vector<Frame> frames_;
  std::vector<std::uint32_t> scratch_;
  std::vector<std::uint64_t> expanded_;  // per node: nodes a full walk below it visits
  absl::flat_hash_map<std::string, std::uint32_t> anchors_;
  std::string_view input_;
  fy_mark last_end_{};             // where the previous event ended
  std::optional<Mark> too_large_;  // a node on a line past Record::kMaxLine
  bool finished_ = false;
};

std::unique_ptr<Document> Document::parse(std::string text, SyntaxError& error) {
  if (text.size() > std::numeric_limits<std::uint32_t>::max()) {
    error = SyntaxError{{}, "the document is larger than 4 GiB"};
    return nullptr;
  }
  auto doc = std::make_unique<Document>();
  doc->owned_ = std::move(text);
  doc->input_ = doc->owned_;
  return parse_into(std::move(doc), {}, nullptr, error);
}

std::unique_ptr<Document> Document::parse_stream(std::string_view text,
                                                 std::vector<std::string_view> keys, ItemSink& sink,
                                                 SyntaxError& error) {
  if (text.size() > std::numeric_limits<std::uint32_t>::max()) {
    error = SyntaxError{{}, "the document is larger than 4 GiB"};
    return nullptr;
  }
  auto doc = std::make_unique<Document>();
  doc->input_ = text;
  return parse_into(std::move(doc), std::move(keys), &sink, error);
}

std::unique_ptr<Document> Document::parse_into(std::unique_ptr<Document> doc,
                                               std::vector<std::string_view> keys, ItemSink* sink,
                                               SyntaxError& error) {
  fy_diag_cfg diag_cfg{};
  fy_diag_cfg_default(&diag_cfg);
  diag_cfg.fp = nullptr;
  diag_cfg.output_fn = nullptr;
  std::unique_ptr<fy_diag, DiagDeleter> diag(fy_diag_create(&diag_cfg));
  if (!diag) {
    error = SyntaxError{{}, "cannot start the YAML parser"};
    return nullptr;
  }
  fy_diag_set_collect_errors(diag.get(), true);

  fy_parse_cfg cfg{};
  cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_QUIET | FYPCF_COLLECT_DIAG);
  cfg.diag = diag.get();
  std::unique_ptr<fy_parser, ParserDeleter> parser(fy_parser_create(&cfg));
  if (!parser || fy_parser_set_string(parser.get(), doc->input_.data(), doc->input_.size()) != 0) {
    error = SyntaxError{{}, "cannot start the YAML parser"};
    return nullptr;
  }

  Builder builder(*doc, doc->input_, std::move(keys), sink);
  while (!builder.done()) {
    fy_event* event = fy_parser_parse(parser.get());
    if (!event) break;
    const bool ok = builder.on_event(event, error);
    fy_parser_event_free(parser.get(), event);
    if (!ok) {
      if (builder.stopped()) error = SyntaxError{};
      return nullptr;
    }
  }
  if (fy_parser_get_stream_error(parser.get())) {
    void* iter = nullptr;
    error = SyntaxError{{}, "the file is not valid YAML"};
    if (fy_diag_error* e = fy_diag_errors_iterate(diag.get(), &iter)) {
      // libfyaml's diagnostics count lines and columns from 1.
      const Mark at{e->line > 0 ? static_cast<std::uint32_t>(e->line - 1) : 0,
                    e->column > 0 ? static_cast<std::uint32_t>(e->column - 1) : 0};
      error = SyntaxError{at, e->msg ? std::string(e->msg) : error.message};
    }
    return nullptr;
  }
  return doc;  // an empty stream leaves the root undefined
}

}  // namespace hivesim::yaml
