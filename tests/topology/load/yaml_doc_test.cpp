// The YAML document tree the loader reads (topology/load/yaml_doc.hpp): null words, positions,
// aliases and their bound, syntax errors.

#include "topology/load/yaml_doc.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

using hivesim::yaml::Document;
using hivesim::yaml::Kind;
using hivesim::yaml::Node;
using hivesim::yaml::SyntaxError;

std::unique_ptr<Document> parse_ok(const std::string& text) {
  SyntaxError error;
  auto doc = Document::parse(text, error);
  INFO(error.message);
  REQUIRE(doc);
  return doc;
}

Node value(const Node& map, std::string_view key) {
  for (auto [k, v] : map.entries()) {
    if (k.scalar() == key) return v;
  }
  return Node();
}

}  // namespace

TEST_CASE("YAML document: plain null words and empty values are null, quoted ones are text") {
  const std::string text = "a: ~\nb: null\nc: NULL\nd:\ne: 'null'\nf: \"\"\ng: nil\n";
  auto doc = parse_ok(text);
  const Node root = doc->root();
  REQUIRE(root.is_map());
  CHECK(root.size() == 7);
  for (auto key : {"a", "b", "c", "d"}) {
    INFO(key);
    CHECK(value(root, key).is_null());
  }
  CHECK(value(root, "e").scalar() == "null");
  CHECK(value(root, "f").is_scalar());
  CHECK(value(root, "f").scalar().empty());
  CHECK(value(root, "g").scalar() == "nil");
  CHECK_FALSE(value(root, "missing").is_defined());
}

TEST_CASE("YAML document: a node is marked where its first token starts") {
  const std::string text =
      "name: x\n"                         // 1
      "list:\n"                           // 2
      "  - {a: 'q', b: \"r\", c: , d}\n"  // 3
      "  - !!str &anchor tagged\n"        // 4
      "  -\n"                             // 5
      "  - last\n";                       // 6
  auto doc = parse_ok(text);
  const Node list = value(doc->root(), "list");
  REQUIRE(list.is_sequence());
  REQUIRE(list.size() == 4);
  CHECK(list.mark().line == 2);
  CHECK(list.mark().column == 2);
  const Node flow = list.item(0);
  CHECK(flow.mark().column == 4);               // the '{'
  CHECK(value(flow, "a").mark().column == 8);   // the opening quote
  CHECK(value(flow, "b").mark().column == 16);  // the opening quote
  // An empty value has no token: it is placed at the next one, the ',' after it.
  CHECK(value(flow, "c").is_null());
  CHECK(value(flow, "c").mark().line == 2);
  CHECK(value(flow, "c").mark().column == 24);
  // A node with properties starts at its first property.
  CHECK(list.item(1).scalar() == "tagged");
  CHECK(list.item(1).mark().column == 4);
  // An empty list item is placed at the next token after its '-'.
  CHECK(list.item(2).is_null());
  CHECK(list.item(2).mark().line == 5);
  CHECK(list.item(2).mark().column == 2);
}

TEST_CASE("YAML document: escapes are resolved, plain text is kept as written") {
  auto doc = parse_ok("a: \"tab\\there\"\nb: 'it''s'\nc: 0.15\n");
  CHECK(value(doc->root(), "a").scalar() == "tab\there");
  CHECK(value(doc->root(), "b").scalar() == "it's");
  CHECK(value(doc->root(), "c").scalar() == "0.15");
}

TEST_CASE("YAML document: an alias is its anchor's node") {
  auto doc = parse_ok("base: &b {x: 1}\nuse: *b\n");
  const Node use = value(doc->root(), "use");
  REQUIRE(use.is_map());
  CHECK(value(use, "x").scalar() == "1");
  CHECK(use.mark().line == 0);  // the anchored node itself, not a copy
}

TEST_CASE("YAML document: an alias to no anchor and an alias bomb are refused") {
  SyntaxError error;
  CHECK_FALSE(Document::parse("a: *nowhere\n", error));
  CHECK(error.message == "the alias *nowhere names no anchor before it");

  // Nine levels of ten aliases each would expand to 10^9 nodes.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j)
      bomb += (j ? ", " : "") + prev;
    bomb += "]\n";
  }
  CHECK_FALSE(Document::parse(bomb, error));
  CHECK(error.message.find("aliases expand the document to more than") == 0);
  CHECK(error.at.line == 6);  // a6, the first level past the bound (11,111,111 nodes)
}

TEST_CASE("YAML document: syntax errors carry libfyaml's message and position") {
  SyntaxError error;
  CHECK_FALSE(Document::parse("a: 1\nb: 'open\n", error));
  CHECK(error.message == "single-quoted scalar without closing quote");
  CHECK(error.at.line == 1);
  CHECK(error.at.column == 4);  // libfyaml points at the scalar's first character
  CHECK_FALSE(Document::parse("x: @foo\n", error));
  CHECK(error.message == "plain scalar cannot start with '@'");
  CHECK(error.at.line == 0);
  CHECK(error.at.column == 3);
}

TEST_CASE("YAML document: an empty stream has an undefined root; only the first document counts") {
  auto empty = parse_ok("");
  CHECK_FALSE(empty->root().is_defined());
  auto two = parse_ok("a: 1\n---\nb: 2\n");
  CHECK(two->root().size() == 1);
  CHECK(value(two->root(), "a").scalar() == "1");
}

TEST_CASE("YAML document: a tree larger than one storage block keeps every node and position") {
  // Nodes and children are stored in blocks of 16,384: 20,000 maps of 2 entries (100,001 nodes)
  // and their children span several. Each map says where it is; every node must read back.
  constexpr int kItems = 20'000;
  std::string text = "items:\n";
  for (int i = 0; i < kItems; ++i) {
    text += "  - {id: " + std::to_string(i) + ", name: n" + std::to_string(i) + "}\n";
  }
  text += "last: ~\n";
  auto doc = parse_ok(text);
  const Node items = value(doc->root(), "items");
  REQUIRE(items.is_sequence());
  REQUIRE(items.size() == kItems);
  int i = 0;
  int wrong = 0;
  for (Node item : items.items()) {
    const std::string id = std::to_string(i);
    if (!item.is_map() || value(item, "id").scalar() != id ||
        value(item, "name").scalar() != "n" + id || item.mark().line != std::uint32_t(i + 1) ||
        value(item, "name").mark().line != std::uint32_t(i + 1)) {
      ++wrong;
    }
    ++i;
  }
  CHECK(wrong == 0);
  CHECK(value(doc->root(), "last").is_null());
  CHECK(value(doc->root(), "last").mark().line == std::uint32_t(kItems + 1));
}
