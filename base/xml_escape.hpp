#pragma once
// Text made safe for XML and HTML: JUnit files, the HTML report, the GUI's rich text. One
// escaper for every markup hivesim writes, so each gets the same care with control characters.

#include <string>
#include <string_view>

namespace hivesim {

/// The predefined entities (& < > ", and ' in an attribute); control characters that XML 1.0
/// forbids become '?'. In an attribute (`attribute`), tab and line breaks become character
/// references too, since a parser would otherwise normalise them to spaces.
std::string xml_escape(std::string_view s, bool attribute = true);

}  // namespace hivesim
