#pragma once
// Output files that are complete or absent (SPEC section 10): the content goes to a temporary
// file in the same folder (unique per process and call, so concurrent writers never share
// one), is flushed to disk with fsync, and is renamed over the final name. A reader, or a
// process killed at any point, sees the old file, no file, or the whole new file; never part
// of one. On failure the temporary file is removed and the message names the final path.

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace hivesim {

/// Writes `content` to `path` atomically (see above).
Status write_file_atomically(const std::string& path, std::string_view content);

}  // namespace hivesim
