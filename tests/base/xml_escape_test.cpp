// The one escaper behind JUnit files, the HTML report and the GUI's rich text.

#include "base/xml_escape.hpp"

#include <catch2/catch.hpp>

using hivesim::xml_escape;

TEST_CASE("xml_escape: entities, and what differs between attributes and element text") {
  CHECK(xml_escape("a<b & \"c\" 'd'") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;");
  CHECK(xml_escape("a<b & \"c\" 'd'", false) == "a&lt;b &amp; &quot;c&quot; 'd'");
  CHECK(xml_escape("x\ny\tz") == "x&#10;y&#9;z");
  CHECK(xml_escape("x\ny\tz", false) == "x\ny\tz");
}

TEST_CASE("xml_escape: control characters XML 1.0 forbids become '?'") {
  CHECK(xml_escape(std::string_view("a\0b\x1b", 4)) == "a?b?");
  CHECK(xml_escape(std::string_view("a\0b\x1b", 4), false) == "a?b?");
}
