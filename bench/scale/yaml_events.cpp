// The anchor of the loading benchmark (run_load.py): libfyaml's event parser alone over a
// scenario file, which is what `hivesim check` builds on (topology/load/yaml_doc.hpp). Reads
// the file into memory, parses every event, frees it, and prints the count; its CPU time is
// the floor under the loader's.
//
// usage: yaml_events FILE

#include <libfyaml.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: yaml_events FILE\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read\n", argv[1]);
    return 2;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fy_parse_cfg cfg{};
  cfg.flags = FYPCF_QUIET;
  fy_parser* parser = fy_parser_create(&cfg);
  if (!parser || fy_parser_set_string(parser, text.data(), text.size()) != 0) {
    std::fprintf(stderr, "cannot start the parser\n");
    return 2;
  }
  unsigned long events = 0;
  while (fy_event* event = fy_parser_parse(parser)) {
    ++events;
    fy_parser_event_free(parser, event);
  }
  const bool failed = fy_parser_get_stream_error(parser);
  fy_parser_destroy(parser);
  std::printf("%lu events%s\n", events, failed ? " (stream error)" : "");
  return failed ? 1 : 0;
}
