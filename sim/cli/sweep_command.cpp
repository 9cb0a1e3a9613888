#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/sweep_mpi.hpp"
#include "sim/whatif/sweep.hpp"
#include "topology/units.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim sweep SCENARIO --fail KIND[,KIND...] [--at T] [--for D] [--jobs N]\n"
    "                     [--shard K/N] [--format text|json] [--out DIR] [--quiet]\n"
    "       hivesim sweep --merge PART.json... [--format text|json] [--out DIR]\n"
    "       mpirun -n R hivesim sweep SCENARIO --fail ...\n"
    "\n"
    "Runs the scenario once as a baseline and once per failure variant, and ranks the\n"
    "variants by packets lost. Kinds: host (host_down), agent (agent_restart), link (link_down\n"
    "of each host pair that exchanged tunnelled packets in the baseline), member (member_down),\n"
    "nsdb (nsdb_down), port (port_down of each exterior port). The failure happens at --at\n"
    "(default: a third of the duration) and is undone after --for (default: never).\n"
    "--shard K/N runs variants i with i mod N = K-1 and prints a partial report (JSON);\n"
    "--merge joins the partial reports. Exit 1 when a variant fails an expectation the\n"
    "baseline passes, 2 on bad input.\n";

/// "done/total variants, ETA" on stderr; the wall clock only feeds this line.
class Progress {
 public:
  Progress(std::ostream& err, std::size_t total, bool quiet)
      : err_(err), total_(total), quiet_(quiet), start_(std::chrono::steady_clock::now()) {}
  void operator()(std::size_t done) {
    if (quiet_) return;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta =
        done == 0 ? 0 : elapsed / static_cast<double>(done) * static_cast<double>(total_ - done);
    err_ << "\rsweep: " << done << "/" << total_ << " variants, ETA "
         << static_cast<long>(eta + 0.5) << "s   " << std::flush;
    if (done == total_) err_ << "\n";
  }

 private:
  std::ostream& err_;
  std::size_t total_;
  bool quiet_;
  std::chrono::steady_clock::time_point start_;
};

int write_and_print(const nlohmann::ordered_json& doc, const std::string& format,
                    const po::variables_map& vm, const std::string& file_name, std::ostream& out,
                    std::ostream& err) {
  const std::string json = doc.dump(2) + "\n";
  if (vm.count("out")) {
    const std::string dir = vm["out"].as<std::string>();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      err << "hivesim sweep: error: " << dir << ": cannot create the output folder\n";
      return kExitBadInput;
    }
    if (Status e = write_file_atomically(dir + "/" + file_name, json); !e.ok()) {
      err << "hivesim sweep: error: " << e.error() << "\n";
      return kExitBadInput;
    }
  }
  if (format == "json" || doc.contains("partial")) {
    out << json;
  } else {
    out << whatif::sweep_text(doc);
  }
  return whatif::sweep_regressed(doc) ? kExitExpectationFailed : kExitOk;
}

int merge(const std::vector<std::string>& files, const std::string& format,
          const po::variables_map& vm, std::ostream& out, std::ostream& err) {
  std::vector<std::string> texts;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      err << "hivesim sweep: error: " << f << ": cannot read the partial report\n";
      return kExitBadInput;
    }
    std::ostringstream s;
    s << in.rdbuf();
    texts.push_back(s.str());
  }
  auto merged = whatif::merge_partials(files, texts);
  if (!merged) {
    err << "hivesim sweep --merge: " << merged.error() << "\n";
    return kExitBadInput;
  }
  return write_and_print(*merged, format, vm, "report.json", out, err);
}

}  // namespace

int sweep_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("sweep options");
  options.add_options()("help,h", "show this help")(
      "fail", po::value<std::string>(), "failure kinds: host,agent,link,member,nsdb,port")(
      "at", po::value<std::string>(), "when the failure happens (default: duration / 3)")(
      "for", po::value<std::string>(), "undo the failure after this long (default: never)")(
      "jobs", po::value<std::string>(), "local workers (default: the number of cores)")(
      "shard", po::value<std::string>(), "K/N: run this shard only, print a partial report")(
      "merge", "join the partial reports given as arguments")(
      "format", po::value<std::string>()->default_value("text"), "text or json")(
      "out", po::value<std::string>(), "folder for report.json (partial-K-of-N.json)")(
      "db", po::value<std::string>(), "SQLite history (not supported by sweep yet)")(
      "quiet", "no progress bar");
  po::options_description all;
  all.add(options).add_options()("inputs", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("inputs", -1);
  po::variables_map vm;
  auto fail = [&err](const std::string& message) {
    err << "hivesim sweep: error: " << message << "\n";
    return kExitBadInput;
  };
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "hivesim sweep: error: " << e.what() << "\n" << kUsage;
    return kExitBadInput;
  }
  if (vm.count("help")) {
    out << kUsage << "\n" << options;
    return kExitOk;
  }
  const std::string format = vm["format"].as<std::string>();
  if (Status bad = check_format(format); !bad.ok()) return fail(bad.error());
  const std::vector<std::string> inputs =
      vm.count("inputs") ? vm["inputs"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (vm.count("merge")) {
    if (vm.count("fail") || vm.count("shard") || vm.count("jobs") || vm.count("at") ||
        vm.count("for")) {
      return fail("--merge takes partial reports only (no --fail, --shard, --jobs, --at, --for)");
    }
    if (inputs.empty()) return fail("--merge needs the partial reports (PART.json...)");
    return merge(inputs, format, vm, out, err);
  }
  if (inputs.size() != 1) return fail("give one SCENARIO (see hivesim sweep --help)");
  if (!vm.count("fail")) return fail("--fail KIND[,KIND...] is required");
  if (vm.count("db")) return fail("--db is not supported by sweep yet (run --db records runs)");
  whatif::SweepQuestion question;
  auto kinds = whatif::parse_fail_kinds(vm["fail"].as<std::string>());
  if (!kinds) return fail("--fail: " + kinds.error());
  question.kinds = *kinds;
  if (vm.count("at")) {
    question.at = parse_duration(vm["at"].as<std::string>());
    if (!question.at) return fail("--at: '" + vm["at"].as<std::string>() + "' is not a duration");
  }
  if (vm.count("for")) {
    question.for_ = parse_duration(vm["for"].as<std::string>());
    if (!question.for_)
      return fail("--for: '" + vm["for"].as<std::string>() + "' is not a duration");
  }
  unsigned jobs = std::max(1U, std::thread::hardware_concurrency());
  bool jobs_given = false;
  if (vm.count("jobs")) {
    const auto n = parse_seed(vm["jobs"].as<std::string>());
    if (!n || *n == 0 || *n > 1024) return fail("--jobs must be a whole number from 1 to 1024");
    jobs = static_cast<unsigned>(*n);
    jobs_given = true;
  }
  std::optional<whatif::Shard> shard;
  if (vm.count("shard")) {
    auto s = whatif::parse_shard(vm["shard"].as<std::string>());
    if (!s) return fail(s.error());
    shard = *s;
  }

  const auto scenario = load_or_report(inputs[0], err);
  if (!scenario) return kExitBadInput;

  const std::optional<MpiWorld> started = shard ? std::nullopt : mpi_begin();
  const bool distributed = started.has_value();
  const MpiWorld world = started.value_or(MpiWorld{});
  if (distributed && !jobs_given) jobs = 1;  // one rank per core: mpirun places the ranks
  auto finish = [&](int code) {
    mpi_end();
    return code;
  };
  // Every rank plans (the baseline decides the link variants) and runs its share.
  auto plan = whatif::plan_sweep(*scenario, question);
  std::string error;
  std::vector<whatif::VariantResult> results;
  whatif::Shard part = shard.value_or(whatif::Shard{1, 1});
  if (distributed) {
    part = whatif::Shard{static_cast<std::uint32_t>(world.rank + 1),
                         static_cast<std::uint32_t>(world.size)};
  }
  if (!plan) {
    error = plan.error();
  } else {
    const std::vector<std::uint32_t> indices = whatif::shard_indices(plan->variants.size(), part);
    Progress progress(err, indices.size(),
                      vm.count("quiet") != 0 || (distributed && world.rank != 0));
    progress(0);
    auto ran = whatif::run_variants(*scenario, *plan, indices, jobs,
                                    [&progress](std::size_t done) { progress(done); });
    if (!ran) {
      error = ran.error();
    } else {
      results = std::move(*ran);
    }
  }
  if (distributed) {
    // Ranks send their partial report (or "!" and the error) to rank 0, which merges.
    const std::string mine =
        error.empty() ? whatif::partial_json(*scenario, question, *plan, part, results).dump()
                      : "!" + error;
    const std::vector<std::string> parts = mpi_gather(mine);
    if (world.rank != 0) return finish(kExitOk);
    std::vector<std::string> names;
    for (std::size_t r = 0; r < parts.size(); ++r) {
      if (!parts[r].empty() && parts[r][0] == '!') return finish(fail(parts[r].substr(1)));
      names.push_back("rank " + std::to_string(r));
    }
    auto merged = whatif::merge_partials(names, parts);
    if (!merged) {
      err << "hivesim sweep: internal error: " << merged.error() << "\n";
      return finish(kExitInternal);
    }
    return finish(write_and_print(*merged, format, vm, "report.json", out, err));
  }
  if (!error.empty()) return fail(error);
  if (shard) {
    const std::string name =
        "partial-" + std::to_string(shard->index) + "-of-" + std::to_string(shard->count) + ".json";
    return write_and_print(whatif::partial_json(*scenario, question, *plan, *shard, results),
                           format, vm, name, out, err);
  }
  return write_and_print(whatif::sweep_json(*scenario, question, *plan, std::move(results)), format,
                         vm, "report.json", out, err);
}

}  // namespace hivesim::cli
