// Capture read throughput: drains a PcapSource as `hivesim replay --topspeed` reads (no payload
// bytes, a 10 Gbit/s line rate), with the reader thread and inline, and prints per run the wall
// time, packets/s, the calling thread's CPU time per record and the whole process's. The
// calling thread stands for the twin: what it spends here is taken from the simulation.
// --work N adds N rounds of integer mixing per record, standing in for the twin's own work:
// then the reader thread runs ahead, as it does under the twin, rather than the caller waiting
// for it at every batch; the work's own CPU time, measured alone, is subtracted.
// Not Google Benchmark: one drain of a 2M-packet file is the measurement, and the file is an
// argument. Compare with ../shared/bench-peers/pcap_read on the same file, side by side:
//   pcap_gen /tmp/bench.pcap 2000000 10000
//   build/bench/pcap_source_bench /tmp/bench.pcap [--repeat 3] [--work 200]
//   pcap_read /tmp/bench.pcap

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sim/io/pcap_source.hpp"

namespace {

using hivesim::PcapOptions;
using hivesim::PcapSource;

double cpu_seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

/// Stands in for the twin's work on a record: `rounds` dependent multiply-xorshift steps.
std::uint64_t work(std::uint64_t x, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    x = x * 0x9e3779b97f4a7c15ULL + 1;
    x ^= x >> 29;
  }
  return x;
}

/// The calling thread's CPU seconds for `records` calls of work(), to subtract.
double work_seconds(std::uint64_t records, int rounds) {
  if (rounds == 0) return 0;
  const double start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  std::uint64_t x = 1;
  for (std::uint64_t i = 0; i < records; ++i)
    x = work(x + i, rounds);
  const double seconds = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - start;
  if (x == 42) std::printf(" ");  // keeps the loop
  return seconds;
}

/// One drain; false when the file cannot be read to its end.
bool drain(const std::string& path, bool read_ahead, int rounds) {
  PcapOptions options{hivesim::PortId{1}, 1.0, true, 0};
  options.line_rate_bps = 10'000'000'000ULL;
  options.keep_payload = false;
  options.read_ahead = read_ahead;
  const auto wall_start = std::chrono::steady_clock::now();
  const double thread_start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  const double process_start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  auto source = PcapSource::open(path, options);
  if (!source) {
    std::fprintf(stderr, "%s\n", source.error().c_str());
    return false;
  }
  // Read what the twin reads of each record, so its cache lines move to this thread.
  std::uint64_t check = 0;
  while (hivesim::SourcePacket* p = (*source)->next())
    check = work(check + static_cast<std::uint64_t>(p->at) +
                     (p->extracted ? p->extracted->key.tp_src : 0U) + p->wire_bytes,
                 rounds);
  const double thread_cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - thread_start;
  const double process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_start;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (auto e = (*source)->error()) {
    std::fprintf(stderr, "%s\n", e->c_str());
    return false;
  }
  const std::uint64_t packets = (*source)->packets();
  const double n = static_cast<double>(packets);
  const double work_cpu = work_seconds(packets, rounds);
  std::printf(
      "%-10s packets=%llu flows=%llu wall=%.3fs pps=%.0f caller_cpu=%.1fns/record "
      "process_cpu=%.1fns/record work=%.1fns/record (chk %llu)\n",
      read_ahead ? "read-ahead" : "inline", static_cast<unsigned long long>(packets),
      static_cast<unsigned long long>((*source)->flows()), wall, n / wall,
      (thread_cpu - work_cpu) * 1e9 / n, (process_cpu - work_cpu) * 1e9 / n, work_cpu * 1e9 / n,
      static_cast<unsigned long long>(check));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: pcap_source_bench FILE [--read-ahead|--inline] [--repeat N] "
                 "[--work N]\n");
    return 2;
  }
  bool ahead = true;
  bool in_line = true;
  int repeat = 3;
  int rounds = 0;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--read-ahead") == 0) {
      in_line = false;
    } else if (std::strcmp(argv[i], "--inline") == 0) {
      ahead = false;
    } else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--work") == 0 && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "pcap_source_bench: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  for (int r = 0; r < repeat; ++r) {
    if (ahead && !drain(argv[1], true, rounds)) return 1;
    if (in_line && !drain(argv[1], false, rounds)) return 1;
  }
  return 0;
}
