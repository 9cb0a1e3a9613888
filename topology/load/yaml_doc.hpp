#pragma once
// Internal to the topology library: a parsed YAML document as a compact, read-only tree, built
// from libfyaml's event stream.
//
// Why not a library's own tree: a scenario of 100,000 hosts is a 100+ MB file. yaml-cpp read it
// at about 2 MB/s and held ~60 bytes of node per byte of text; libfyaml's document tree is
// faster but still keeps a token per scalar. Here every node is one 16-byte record in blocks
// that never move, scalars are slices of the input (or, when unescaped, of one arena), and the
// children of each collection sit side by side in one index array, so loading is bounded by
// libfyaml's scanner.
//
// Streaming (parse_stream): a cloud's scenario is mostly a few lists (`bridges`, with every VM
// port, and `traffic`); even at 16 bytes a node their tree is ~2.3x the text. So the items of
// named top-level lists can be handed, each as soon as it is complete, to an ItemSink, and
// their nodes are then dropped: the tree of such a list never exists as a whole (it ends up
// empty), and what is alive at once is the rest of the document's tree and one item. Rules
// that keep the semantics of a whole tree:
//  - only the value of the first occurrence of a key in the root map is streamed, and only
//    when it is a sequence written out (not an alias, not anchored) and the sink accepts it;
//  - an item that defines an anchor is kept (its nodes, and its text copied into the arena), so
//    an alias further on still names it; an alias item is never dropped (its nodes are older);
//  - the alias bound counts every node ever built, dropped or not, as the whole tree did;
//  - positions come from the same events, so they are the same.
// While streaming, the text before the item just read is not read again: the sink is told
// (ItemSink::consumed) so its owner may give those pages back. For that, from the moment the
// list starts every node that outlives its item keeps its scalar text in the arena, not as a
// slice of the input.
//
// Semantics kept from the loader's yaml-cpp days (error messages and positions depend on them):
//  - a plain scalar `~`, `null`, `Null`, `NULL` or an empty plain value is null;
//  - a node's mark is where its first token starts (0-based line and column);
//  - an alias refers to its anchor's node (shared, never copied). A document whose aliases would
//    expand it by more than kMaxExpandedNodes nodes beyond its own is refused, so a walk over it
//    stays bounded ("billion laughs").
//
// Cost: one pass over libfyaml's events, O(text) time and 16 bytes per node + 4 per child + the
// unescaped scalar text (a node on a line past 2^28 is refused: "the document is too large").

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace hivesim::yaml {

enum class Kind : std::uint8_t { kUndefined, kNull, kScalar, kSequence, kMap };

struct Mark {
  std::uint32_t line = 0;    // 0-based
  std::uint32_t column = 0;  // 0-based
};

class Document;
class Node;

/// The items or entries of a node, for range-for.
template <class T>
class NodeRange {
 public:
  using At = T (Node::*)(std::size_t) const;
  class iterator {
   public:
    iterator(const NodeRange* range, std::size_t i) : range_(range), i_(i) {}
    T operator*() const;
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const iterator& other) const { return i_ != other.i_; }

   private:
    const NodeRange* range_;
    std::size_t i_;
  };
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, n_); }

 private:
  friend class Node;
  NodeRange(const Document* doc, std::uint32_t index, At at, std::size_t n)
      : doc_(doc), index_(index), at_(at), n_(n) {}
  const Document* doc_;
  std::uint32_t index_;
  At at_;
  std::size_t n_;
};

/// A view of one node of a Document (cheap to copy; valid while the document lives). A
/// default-constructed Node is undefined (a missing key).
class Node {
 public:
  Node() = default;

  Kind kind() const;
  bool is_defined() const { return kind() != Kind::kUndefined; }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_scalar() const { return kind() == Kind::kScalar; }
  bool is_sequence() const { return kind() == Kind::kSequence; }
  bool is_map() const { return kind() == Kind::kMap; }

  /// The scalar's text (unescaped); empty for anything but a scalar.
  std::string_view scalar() const;
  Mark mark() const;
  /// Items of a sequence, or 2 * entries of a map (key, value, key, value...); 0 otherwise.
  std::size_t child_count() const;
  /// The i-th item of a sequence.
  Node item(std::size_t i) const;
  /// The i-th entry of a map, as (key, value).
  std::pair<Node, Node> entry(std::size_t i) const;
  std::size_t size() const { return is_map() ? child_count() / 2 : child_count(); }

  /// For range-for: `for (Node item : node.items())`, `for (auto [key, value] : node.entries())`.
  /// Empty unless the node is a sequence (items) or a map (entries).
  NodeRange<Node> items() const;
  NodeRange<std::pair<Node, Node>> entries() const;

 private:
  friend class Document;
  friend class Builder;
  template <class T>
  friend class NodeRange;
  Node(const Document* doc, std::uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_ = nullptr;
  std::uint32_t index_ = 0;
};

inline NodeRange<Node> Node::items() const {
  return NodeRange<Node>(doc_, index_, &Node::item, is_sequence() ? size() : 0);
}
inline NodeRange<std::pair<Node, Node>> Node::entries() const {
  return NodeRange<std::pair<Node, Node>>(doc_, index_, &Node::entry, is_map() ? size() : 0);
}
template <class T>
T NodeRange<T>::iterator::operator*() const {
  return (Node(range_->doc_, range_->index_).*(range_->at_))(i_);
}

/// A parse failure: where and what (libfyaml's words).
struct SyntaxError {
  Mark at;
  std::string message;
};

/// Receives the items of the streamed top-level lists while the document is parsed.
class ItemSink {
 public:
  virtual ~ItemSink() = default;
  /// The list under `key` starts; `earlier` are the root map's entries before it, as (key,
  /// value). False: do not stream it (it is then kept whole, as any other node).
  virtual bool start(std::string_view key, const std::vector<std::pair<Node, Node>>& earlier) = 0;
  /// One complete item of the list under `key` (0-based). Its nodes are dropped after the call
  /// (unless it holds an anchor): keep nothing of it but copies.
  virtual void item(std::string_view key, const Node& item, std::size_t index) = 0;
  /// The text before byte `offset` will not be read again.
  virtual void consumed(std::size_t offset) { (void)offset; }
  /// After each item: false stops the parse (parse_stream then returns nullptr with an empty
  /// error message).
  virtual bool keep_going() const { return true; }
};

class Document {
 public:
  /// Aliases may expand a document by at most this many nodes beyond its own.
  static constexpr std::uint64_t kMaxExpandedNodes = 10'000'000;

  /// Parses the first document of `text`, which the Document keeps (scalars are views into it
  /// where they can be). On failure returns nullptr and fills `error`.
  static std::unique_ptr<Document> parse(std::string text, SyntaxError& error);

  /// The same, over text the caller keeps alive (and may release as the sink is told), handing
  /// the items of the root map's lists `keys` to `sink` one by one (see the design comment).
  static std::unique_ptr<Document> parse_stream(std::string_view text,
                                                std::vector<std::string_view> keys, ItemSink& sink,
                                                SyntaxError& error);

  /// The root node (null for an empty document).
  Node root() const { return Node(this, root_); }

 private:
  friend class Node;
  friend class Builder;

  static std::unique_ptr<Document> parse_into(std::unique_ptr<Document> doc,
                                              std::vector<std::string_view> keys, ItemSink* sink,
                                              SyntaxError& error);

  /// 16 bytes a node: a cloud's scenario has a node for about every 9 bytes of text. Trivial
  /// (no member initializers), so a new block of them is not zeroed: `Record{}` is all zeros.
  struct Record {
    static constexpr std::uint32_t kMaxLine = (std::uint32_t{1} << 28) - 1;
    std::uint32_t line_bits;  // line << 4 | in_input << 3 | kind
    std::uint32_t column;
    std::uint32_t first;  // scalar: offset in input_/text_; collection: in children_
    std::uint32_t count;  // scalar: length; collection: children

    Kind kind() const { return static_cast<Kind>(line_bits & 7); }
    /// A scalar whose text is a slice of the input, not of text_.
    bool in_input() const { return (line_bits & 8) != 0; }
    std::uint32_t line() const { return line_bits >> 4; }
    static Record make(Kind kind, std::uint32_t line, std::uint32_t column) {
      return Record{line << 4 | static_cast<std::uint32_t>(kind), column, 0, 0};
    }
  };

  /// Append-only storage in fixed blocks: growing never copies, and at most one block is
  /// unused (a vector grown by doubling copies everything and may leave half of it unused).
  template <class T>
  requires std::is_trivially_default_constructible_v<T>
  class Blocks {
   public:
    T& operator[](std::size_t i) { return blocks_[i >> kShift][i & kMask]; }
    const T& operator[](std::size_t i) const { return blocks_[i >> kShift][i & kMask]; }
    std::size_t size() const { return size_; }
    /// Drops the items from `size` on (the blocks stay for reuse).
    void truncate(std::size_t size) { size_ = std::min(size, size_); }
    void push_back(const T& value) {
      if ((size_ >> kShift) == blocks_.size())
        blocks_.push_back(std::make_unique_for_overwrite<T[]>(kMask + 1));
      (*this)[size_++] = value;
    }

   private:
    // 4,096 items a block (64 KiB of Records). Blocks of 16,384 (256 KiB) cost a small
    // document more than its parse under ASan: a block that size is a fresh mapping each time,
    // faulted in page by page and unmapped with a TLB shootdown (perf: 55% of fuzz_scenario's
    // time; fuzz/README.md). A cloud's scenario only has four times as many block pointers.
    static constexpr std::size_t kShift = 12;
    static constexpr std::size_t kMask = (std::size_t{1} << kShift) - 1;
    std::vector<std::unique_ptr<T[]>> blocks_;
    std::size_t size_ = 0;
  };

  Blocks<Record> nodes_;            // nodes_[0] is the undefined node
  Blocks<std::uint32_t> children_;  // each collection's children, side by side
  std::string owned_;               // the text, when parse() was given it
  std::string_view input_;          // the parsed text (plain scalars are slices of it)
  std::string text_;                // scalars whose text differs from the input's
  std::uint32_t root_ = 0;
};

// Node's accessors are inline: the loader calls them a few dozen times a node.

inline Kind Node::kind() const {
  return doc_ ? doc_->nodes_[index_].kind() : Kind::kUndefined;
}

inline std::string_view Node::scalar() const {
  if (!is_scalar()) return {};
  const Document::Record& r = doc_->nodes_[index_];
  return (r.in_input() ? doc_->input_ : std::string_view(doc_->text_)).substr(r.first, r.count);
}

inline Mark Node::mark() const {
  if (!doc_) return {};
  const Document::Record& r = doc_->nodes_[index_];
  return Mark{r.line(), r.column};
}

inline std::size_t Node::child_count() const {
  if (!is_sequence() && !is_map()) return 0;
  return doc_->nodes_[index_].count;
}

inline Node Node::item(std::size_t i) const {
  return Node(doc_, doc_->children_[doc_->nodes_[index_].first + i]);
}

inline std::pair<Node, Node> Node::entry(std::size_t i) const {
  const std::uint32_t at = doc_->nodes_[index_].first + 2 * static_cast<std::uint32_t>(i);
  return {Node(doc_, doc_->children_[at]), Node(doc_, doc_->children_[at + 1])};
}

}  // namespace hivesim::yaml
