#include "sim/io/pcap_sink.hpp"

#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

#include "sim/packet/codec.hpp"

namespace hivesim {

namespace fs = std::filesystem;

namespace {

constexpr int kSnaplen = 262144;

struct DeadCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};

/// What write() has created so far, removed again unless commit() is called.
class Undo {
 public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo() {
    if (committed_) return;
    std::error_code ec;
    for (const auto& file : files_)
      fs::remove(file, ec);
    // Deepest first; a folder that is not empty (not ours alone) stays.
    for (auto it = folders_.rbegin(); it != folders_.rend(); ++it)
      fs::remove(*it, ec);
  }
  void file(fs::path p) { files_.push_back(std::move(p)); }
  void folder(fs::path p) { folders_.push_back(std::move(p)); }
  void commit() { committed_ = true; }

 private:
  std::vector<fs::path> files_;
  std::vector<fs::path> folders_;  // outermost first
  bool committed_ = false;
};

/// Creates `dir` and its missing parents, noting each one created in `undo`.
Status make_folder(const fs::path& dir, Undo& undo) {
  std::error_code ec;
  std::vector<fs::path> missing;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (!fs::create_directory(*it, ec) && ec) {
      return Error{it->string() + ": cannot create folder for pcap output: " + ec.message()};
    }
    undo.folder(*it);
  }
  if (!fs::is_directory(dir, ec)) {
    return Error{dir.string() + ": cannot write pcap output: not a folder"};
  }
  return {};
}

}  // namespace

std::string pcap_file_stem(std::string_view port_name) {
  std::string out(port_name);
  for (char& c : out) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  }
  if (out.empty() || out == "." || out == "..") out.insert(out.begin(), '_');
  return out;
}

PcapSink::PcapSink(std::string dir) : dir_(std::move(dir)) {}

void PcapSink::record(const std::string& port_name, const Packet& packet, SimTime at) {
  auto it = ports_.find(port_name);
  if (it == ports_.end()) it = ports_.emplace(port_name, Frames{}).first;
  Frames& frames = it->second;
  const std::vector<std::uint8_t> frame = serialize(packet);
  frames.bytes.insert(frames.bytes.end(), frame.begin(), frame.end());
  frames.ends.push_back(frames.bytes.size());
  frames.times.push_back(std::max<SimTime>(at, 0));
  ++packets_;
}

Status PcapSink::write() {
  Undo undo;
  const fs::path dir(dir_);
  if (Status failed = make_folder(dir, undo); !failed.ok()) return failed;

  // Every file is written under a temp name first; only when all are complete are they renamed.
  std::vector<std::pair<fs::path, fs::path>> renames;  // temp -> final
  std::set<std::string> stems;
  for (const auto& [port, frames] : ports_) {
    std::string stem = pcap_file_stem(port);
    for (int n = 2; !stems.insert(stem).second; ++n)
      stem = pcap_file_stem(port) + "~" + std::to_string(n);
    const fs::path final_path = dir / (stem + ".pcap");
    const fs::path temp_path =
        dir / ("." + stem + ".pcap.tmp" + std::to_string(static_cast<long>(::getpid())));
    const std::string name = final_path.string();

    std::unique_ptr<pcap_t, DeadCloser> dead(
        pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnaplen, PCAP_TSTAMP_PRECISION_NANO));
    if (!dead) return Error{name + ": cannot write pcap: libpcap could not start a writer"};
    std::FILE* file = std::fopen(temp_path.c_str(), "wb");
    if (file == nullptr) {
      return Error{name + ": cannot write pcap: " + std::generic_category().message(errno)};
    }
    undo.file(temp_path);
    std::unique_ptr<pcap_dumper_t, DumperCloser> dumper(pcap_dump_fopen(dead.get(), file));
    if (!dumper) {
      std::fclose(file);
      return Error{name + ": cannot write pcap: " + pcap_geterr(dead.get())};
    }
    std::size_t begin = 0;
    for (std::size_t i = 0; i < frames.ends.size(); ++i) {
      const std::size_t size = frames.ends[i] - begin;
      pcap_pkthdr header{};
      // With a nanosecond-precision writer, tv_usec carries nanoseconds.
      header.ts.tv_sec = static_cast<time_t>(frames.times[i] / kSecond);
      header.ts.tv_usec = static_cast<suseconds_t>(frames.times[i] % kSecond);
      header.len = static_cast<bpf_u_int32>(size);
      header.caplen = static_cast<bpf_u_int32>(std::min<std::size_t>(size, kSnaplen));
      pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &header, frames.bytes.data() + begin);
      begin = frames.ends[i];
    }
    // pcap_dump() reports nothing; a failed write shows in the stream's error flag.
    if (pcap_dump_flush(dumper.get()) != 0 || std::ferror(pcap_dump_file(dumper.get())) != 0) {
      return Error{name + ": cannot write pcap: write failed"};
    }
    renames.emplace_back(temp_path, final_path);
  }

  for (const auto& [temp_path, final_path] : renames) {
    std::error_code ec;
    fs::rename(temp_path, final_path, ec);
    if (ec) {
      return Error{final_path.string() + ": cannot write pcap: " + ec.message()};
    }
    undo.file(final_path);
  }
  undo.commit();
  return {};
}

}  // namespace hivesim
