// Streaming a top-level list (yaml::Document::parse_stream): each item reaches the sink as soon
// as it is complete and is then dropped, with the semantics of a whole tree kept (anchors,
// aliases and their bound, positions, syntax errors).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "topology/load/yaml_doc.hpp"

namespace {

using hivesim::yaml::Document;
using hivesim::yaml::ItemSink;
using hivesim::yaml::Node;
using hivesim::yaml::SyntaxError;

Node value(const Node& map, std::string_view key) {
  for (auto [k, v] : map.entries()) {
    if (k.scalar() == key) return v;
  }
  return Node();
}

/// Records what it is handed, as copies (the items' nodes are gone after each call).
struct Recorder final : ItemSink {
  std::vector<std::string> earlier;  // keys before the list
  std::vector<std::string> items;    // each item: its "name" (or its scalar), line, and an "x"
  std::vector<std::size_t> indices;
  std::vector<std::size_t> given_back;
  std::size_t stop_after = 0;  // 0: never

  bool start(std::string_view key, const std::vector<std::pair<Node, Node>>& entries) override {
    CHECK(key == "list");
    for (const auto& [k, v] : entries)
      earlier.emplace_back(k.scalar());
    return true;
  }
  void item(std::string_view key, const Node& item, std::size_t index) override {
    CHECK(key == "list");
    indices.push_back(index);
    std::string text =
        item.is_map() ? std::string(value(item, "name").scalar()) : std::string(item.scalar());
    text += "@" + std::to_string(item.mark().line);
    if (const Node x = value(item, "x"); x.is_sequence()) {
      for (const Node e : x.items())
        text += " " + std::string(e.scalar());
    } else if (x.is_scalar()) {
      text += " " + std::string(x.scalar());
    }
    items.push_back(text);
  }
  void consumed(std::size_t offset) override { given_back.push_back(offset); }
  bool keep_going() const override { return stop_after == 0 || items.size() < stop_after; }
};

std::unique_ptr<Document> stream(const std::string& text, Recorder& sink, SyntaxError& error) {
  return Document::parse_stream(text, {"list"}, sink, error);
}

}  // namespace

TEST_CASE("YAML stream: the list's items reach the sink in order and leave the list empty") {
  const std::string text =
      "a: 1\n"                       // line 0
      "b: {c: 2}\n"                  // 1
      "list:\n"                      // 2
      "  - {name: p0, x: [u, v]}\n"  // 3
      "  - {name: p1}\n"             // 4
      "  - plain\n"                  // 5
      "after: 3\n";                  // 6
  Recorder sink;
  SyntaxError error;
  auto doc = stream(text, sink, error);
  INFO(error.message);
  REQUIRE(doc);
  CHECK(sink.earlier == std::vector<std::string>{"a", "b"});
  CHECK(sink.items == std::vector<std::string>{"p0@3 u v", "p1@4", "plain@5"});
  CHECK(sink.indices == std::vector<std::size_t>{0, 1, 2});
  // The rest of the tree is whole; the streamed list is there, empty.
  const Node root = doc->root();
  CHECK(value(value(root, "b"), "c").scalar() == "2");
  CHECK(value(root, "after").scalar() == "3");
  REQUIRE(value(root, "list").is_sequence());
  CHECK(value(root, "list").size() == 0);
  // The text given up is never past the start of the item just read, and only grows.
  REQUIRE(sink.given_back.size() == 3);
  CHECK(sink.given_back[0] <= text.find("- {name: p0"));
  CHECK(sink.given_back[1] <= text.find("- {name: p1"));
  CHECK(sink.given_back[2] <= text.find("- plain"));
  CHECK(std::is_sorted(sink.given_back.begin(), sink.given_back.end()));
}

TEST_CASE("YAML stream: earlier nodes keep their text once the list starts") {
  // The sink may give back the text before each item: what the tree keeps must not point there.
  std::string text = "a: early\nlist:\n  - {name: p0}\n  - {name: p1}\n";
  Recorder sink;
  SyntaxError error;
  auto doc = stream(text, sink, error);
  REQUIRE(doc);
  std::fill(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find("  - {name: p1")),
            '\0');
  CHECK(value(doc->root(), "a").scalar() == "early");
}

TEST_CASE("YAML stream: an item holding an anchor is kept, so later aliases name it") {
  std::string text =
      "list:\n"
      "  - {name: p0, x: &g [web, db]}\n"
      "  - {name: p1, x: *g}\n"
      "  - &whole {name: p2}\n"
      "  - *whole\n"
      "other: {g: *g, w: *whole}\n";
  Recorder sink;
  SyntaxError error;
  auto doc = stream(text, sink, error);
  INFO(error.message);
  REQUIRE(doc);
  CHECK(sink.items == std::vector<std::string>{"p0@1 web db", "p1@2 web db", "p2@3", "p2@3"});
  // The anchored nodes outlive their items, with their own copy of the text (what follows the
  // list is never given back).
  std::fill(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find("other:")), '\0');
  const Node other = value(doc->root(), "other");
  REQUIRE(value(other, "g").is_sequence());
  CHECK(value(other, "g").item(1).scalar() == "db");
  CHECK(value(value(other, "w"), "name").scalar() == "p2");
  CHECK(value(other, "w").mark().line == 3);
}

TEST_CASE("YAML stream: only a written-out list at the first occurrence of its key streams") {
  SyntaxError error;
  SECTION("an anchored list is not streamed: an alias would find it empty") {
    Recorder sink;
    const std::string text = "list: &l [a, b]\ncopy: *l\n";  // kept alive by the caller
    auto doc = stream(text, sink, error);
    REQUIRE(doc);
    CHECK(sink.items.empty());
    CHECK(value(doc->root(), "copy").size() == 2);
  }
  SECTION("an alias as the value, a map, a repeated key, a nested key, a list at the root") {
    for (const std::string text :
         {"l: &l [a]\nlist: *l\n", "list: {a: 1}\n", "list: {a: 1}\nlist: [b]\n",
          "x: {list: [a]}\n", "- list: [a]\n"}) {
      INFO(text);
      Recorder sink;
      REQUIRE(stream(text, sink, error));
      CHECK(sink.items.empty());
    }
  }
}

TEST_CASE("YAML stream: the alias bound counts the streamed items' nodes") {
  // Streamed items each add a 1.1-million-node alias expansion: refused at the item that
  // crosses the bound of 10 million although every item before it is gone, as a whole tree is.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 5; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j)
      text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  text += "list:\n";
  for (int i = 0; i < 12; ++i)
    text += "  - [*a5, y, y, y]\n";  // 1,111,115 nodes a walk visits, each
  Recorder sink;
  SyntaxError error;
  CHECK_FALSE(stream(text, sink, error));
  CHECK(error.message.find("aliases expand the document to more than") == 0);
  CHECK(sink.items.size() == 9);  // the 10th item crosses 10,000,000 + the document's own
  CHECK(error.at.line == 7 + 9);
  SyntaxError whole;
  CHECK_FALSE(Document::parse(text, whole));
  CHECK(whole.message == error.message);
  CHECK(whole.at.line == error.at.line);
}

TEST_CASE("YAML stream: a syntax error in the 3rd item names its line; the sink can stop") {
  const std::string text =
      "list:\n"
      "  - {name: p0}\n"
      "  - {name: p1}\n"
      "  - {name: 'p2}\n"
      "  - {name: p3}\n";
  SyntaxError error;
  Recorder sink;
  CHECK_FALSE(stream(text, sink, error));
  CHECK(sink.items.size() == 2);
  CHECK(error.at.line == 3);
  CHECK_FALSE(error.message.empty());

  Recorder stopper;
  stopper.stop_after = 2;
  CHECK_FALSE(stream("list: [a, b, c, d]\n", stopper, error));
  CHECK(stopper.items.size() == 2);
  CHECK(error.message.empty());  // stopped, not a syntax error
}
