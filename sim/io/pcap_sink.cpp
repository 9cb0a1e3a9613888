#include "sim/io/pcap_sink.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "sim/packet/codec.hpp"

namespace hivesim {

namespace fs = std::filesystem;

namespace {

constexpr int kSnaplen = 262144;

/// Distinct temp names for every sink of this process.
std::atomic<std::uint64_t> temp_serial{0};

std::string errno_text() {
  return std::generic_category().message(errno);
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

PcapSink::~PcapSink() {
  if (!committed_) discard();
  if (writer_ != nullptr) pcap_close(writer_);
}

Status PcapSink::ensure_folder() {
  if (folder_ready_) return {};
  const fs::path dir(dir_);
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
    folders_.push_back(it->string());
  }
  if (!fs::is_directory(dir, ec)) {
    return Error{dir.string() + ": cannot write pcap output: not a folder"};
  }
  folder_ready_ = true;
  return {};
}

Status PcapSink::open(Port& port) {
  const std::string& name = port.label;
  if (writer_ == nullptr) {
    writer_ =
        pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnaplen, PCAP_TSTAMP_PRECISION_NANO);
    if (writer_ == nullptr) {
      return Error{name + ": cannot write pcap: libpcap could not start a writer"};
    }
  }
  if (open_.size() >= kMaxOpenFiles) {
    Port* oldest = open_.front();
    open_.pop_front();
    if (Status e = close(*oldest); !e.ok()) return e;
  }
  if (!port.created) {
    // A new temp file: created exclusively (O_EXCL), so no one else's file is ever reused.
    const int fd = ::open(port.temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Error{name + ": cannot write pcap: " + errno_text()};
    port.created = true;
    std::FILE* file = ::fdopen(fd, "wb");
    if (file == nullptr) {
      ::close(fd);
      return Error{name + ": cannot write pcap: " + errno_text()};
    }
    port.dumper = pcap_dump_fopen(writer_, file);
    if (port.dumper == nullptr) {
      std::fclose(file);
      return Error{name + ": cannot write pcap: " + pcap_geterr(writer_)};
    }
  } else {
    // Reopened after being closed to free a descriptor: libpcap checks the header and appends.
    port.dumper = pcap_dump_open_append(writer_, port.temp.c_str());
    if (port.dumper == nullptr) {
      return Error{name + ": cannot write pcap: " + pcap_geterr(writer_)};
    }
  }
  open_.push_back(&port);
  return {};
}

Status PcapSink::close(Port& port) {
  if (port.dumper == nullptr) return {};
  // pcap_dump() reports nothing; a failed write shows in the stream's error flag.
  const bool ok =
      pcap_dump_flush(port.dumper) == 0 && std::ferror(pcap_dump_file(port.dumper)) == 0;
  pcap_dump_close(port.dumper);
  port.dumper = nullptr;
  if (!ok) {
    return Error{port.label + ": cannot write pcap: write failed"};
  }
  return {};
}

void PcapSink::discard() {
  for (auto& [name, port] : ports_) {
    if (port.dumper != nullptr) pcap_dump_close(port.dumper);
    port.dumper = nullptr;
    if (port.created) ::unlink(port.temp.c_str());
    port.created = false;
  }
  open_.clear();
  // Deepest first; a folder that is not empty (not ours alone) stays.
  std::error_code ec;
  for (auto it = folders_.rbegin(); it != folders_.rend(); ++it)
    fs::remove(*it, ec);
  folders_.clear();
}

void PcapSink::record(const std::string& port_name, const Packet& packet, SimTime at) {
  ++packets_;
  if (!failed_.ok() || committed_) return;
  failed_ = ensure_folder();
  if (!failed_.ok()) return;
  auto it = ports_.find(port_name);
  if (it == ports_.end()) {
    Port port;
    port.label = (fs::path(dir_) / (pcap_file_stem(port_name) + ".pcap")).string();
    port.temp =
        (fs::path(dir_) / (".hivesim-pcap-" + std::to_string(static_cast<long>(::getpid())) + "-" +
                           std::to_string(temp_serial++) + ".tmp"))
            .string();
    it = ports_.emplace(port_name, std::move(port)).first;
  }
  Port& port = it->second;
  if (port.dumper == nullptr) {
    failed_ = open(port);
    if (!failed_.ok()) return;
  }
  const std::vector<std::uint8_t> frame = serialize(packet);
  const SimTime t = std::max<SimTime>(at, 0);
  pcap_pkthdr header{};
  // With a nanosecond-precision writer, tv_usec carries nanoseconds.
  header.ts.tv_sec = static_cast<time_t>(t / kSecond);
  header.ts.tv_usec = static_cast<suseconds_t>(t % kSecond);
  header.len = static_cast<bpf_u_int32>(frame.size());
  header.caplen = static_cast<bpf_u_int32>(std::min<std::size_t>(frame.size(), kSnaplen));
  pcap_dump(reinterpret_cast<u_char*>(port.dumper), &header, frame.data());
  if (std::ferror(pcap_dump_file(port.dumper)) != 0) {
    failed_ = Error{port.label + ": cannot write pcap: " + errno_text()};
  }
}

Status PcapSink::write() {
  if (committed_) return {};
  auto fail = [this](Error e) -> Status {
    discard();
    return e;
  };
  if (!failed_.ok()) return fail(Error{failed_.error()});
  if (Status e = ensure_folder(); !e.ok()) return fail(std::move(e).take_error());

  // Every temp file complete and on disk before any is renamed.
  for (auto& entry : ports_) {
    Port& port = entry.second;
    if (Status e = close(port); !e.ok()) return fail(std::move(e).take_error());
    const int fd = ::open(port.temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      const std::string why = errno_text();
      if (fd >= 0) ::close(fd);
      return fail(Error{port.label + ": cannot write pcap: " + why});
    }
    ::close(fd);
  }
  open_.clear();

  std::vector<fs::path> renamed;
  auto undo_renames = [&renamed] {
    std::error_code ignored;
    for (const auto& p : renamed)
      fs::remove(p, ignored);
  };
  std::set<std::string> stems;
  const fs::path dir(dir_);
  for (auto& [port_name, port] : ports_) {
    std::string stem = pcap_file_stem(port_name);
    for (int n = 2; !stems.insert(stem).second; ++n)
      stem = pcap_file_stem(port_name) + "~" + std::to_string(n);
    const fs::path final_path = dir / (stem + ".pcap");
    std::error_code ec;
    fs::rename(port.temp, final_path, ec);
    if (ec) {
      undo_renames();
      return fail(Error{final_path.string() + ": cannot write pcap: " + ec.message()});
    }
    port.created = false;  // the temp name is gone
    renamed.push_back(final_path);
  }
  committed_ = true;
  return {};
}

}  // namespace hivesim
