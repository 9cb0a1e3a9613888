#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>

#include "base/units.hpp"
#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/sweep_mpi.hpp"
#include "sim/io/sqlite_history.hpp"
#include "sim/whatif/sweep.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim sweep SCENARIO --fail KIND[,KIND...] [--at T] [--for D] [--jobs N]\n"
    "                     [--shard K/N] [--format text|json] [--out DIR] [--db FILE]\n"
    "                     [--html FILE] [--quiet]\n"
    "       hivesim sweep --merge PART.json... [--format text|json] [--out DIR] [--db FILE]\n"
    "                     [--html FILE]\n"
    "       mpirun -n R hivesim sweep SCENARIO --fail ...\n"
    "\n"
    "Runs the scenario once as a baseline and once per failure variant, and ranks the\n"
    "variants by packets lost. Kinds: host (host_down), agent (agent_restart), link (link_down\n"
    "of each host pair that exchanged tunnelled packets in the baseline), member (member_down),\n"
    "nsdb (nsdb_down), port (port_down of each exterior port). The failure happens at --at\n"
    "(default: a third of the duration) and is undone after --for (default: never).\n"
    "--shard K/N runs variants i with i mod N = K-1 and prints a partial report (JSON);\n"
    "--merge joins the partial reports. --db appends the sweep to an SQLite history (the\n"
    "baseline's run, one row per variant; sim/io/SCHEMA.md); --html writes one self-contained\n"
    "page (ranking, the worst variants' timelines against the baseline). A shard is partial:\n"
    "give --db and --html to the --merge. Exit 1 when a variant fails an expectation the\n"
    "baseline passes, 2 on bad input.\n";

/// "done/total variants, ETA" on stderr; the wall clock only feeds this line.
class Progress {
 public:
  Progress(std::ostream& err, std::size_t total, bool quiet)
      : err_(err), total_(total), quiet_(quiet), start_(std::chrono::steady_clock::now()) {}
  void operator()(std::size_t done) {
    if (quiet_) return;
    shown_ = done;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta =
        done == 0 ? 0 : elapsed / static_cast<double>(done) * static_cast<double>(total_ - done);
    err_ << "\rsweep: " << done << "/" << total_ << " variants, ETA "
         << static_cast<long>(eta + 0.5) << "s   " << std::flush;
    if (done == total_) err_ << "\n";
  }
  /// All done, whether or not every completion was counted (under MPI a rank's last ones may
  /// not be told to rank 0).
  void finish() {
    if (shown_ != total_) (*this)(total_);
  }

 private:
  std::ostream& err_;
  std::size_t total_;
  bool quiet_;
  std::size_t shown_ = SIZE_MAX;
  std::chrono::steady_clock::time_point start_;
};

/// Under mpirun: this rank's variants, taken one at a time from the queue rank 0 keeps, as
/// local workers take them (sweep_mpi.hpp); rank 0 shows the progress of the whole sweep.
Result<std::vector<whatif::VariantResult>> run_rank_share(const Scenario& scenario,
                                                          const whatif::SweepPlan& plan,
                                                          const MpiWorld& world, unsigned jobs,
                                                          bool quiet, std::ostream& err) {
  const auto total = static_cast<std::uint32_t>(plan.variants.size());
  Progress progress(err, total, quiet || world.rank != 0);
  std::mutex lock;  // the progress line: rank 0's workers and its serving thread
  std::size_t here = 0;
  std::size_t elsewhere = 0;
  progress(0);
  auto ran = [&] {
    MpiVariantQueue queue(world, total, [&](std::size_t n) {
      const std::lock_guard<std::mutex> guard(lock);
      elsewhere += n;
      progress(here + elsewhere);
    });
    return whatif::run_claimed(
        scenario, plan, jobs, [&queue] { return queue.next(); },
        [&](std::size_t done) {
          queue.finished_one();
          const std::lock_guard<std::mutex> guard(lock);
          here = done;
          progress(here + elsewhere);
        });
  }();  // the queue is gone here: rank 0 has told every rank that nothing is left
  progress.finish();
  return ran;
}

/// What a complete report is written with besides stdout and --out.
struct Extras {
  const html::SweepTimelines* timelines = nullptr;  // for --html
  const RunReport* baseline = nullptr;              // for --db (null after --merge)
  std::string scenario_file;                        // for --db ('' after --merge)
};

int write_and_print(const nlohmann::ordered_json& doc, const std::string& format,
                    const po::variables_map& vm, const std::string& file_name, std::ostream& out,
                    std::ostream& err, const Extras& extras = {}) {
  const std::string json = doc.dump(2) + "\n";
  std::vector<std::string> written;
  auto fail = [&](const std::string& message) {
    std::error_code ignored;
    for (const std::string& p : written)
      std::filesystem::remove(p, ignored);
    err << "hivesim sweep: error: " << message << "\n";
    return kExitBadInput;
  };
  if (vm.count("out")) {
    const std::string dir = vm["out"].as<std::string>();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(dir + ": cannot create the output folder");
    if (Status e = write_file_atomically(dir + "/" + file_name, json); !e.ok())
      return fail(e.error());
    written.push_back(dir + "/" + file_name);
  }
  if (vm.count("html")) {
    const std::string path = vm["html"].as<std::string>();
    if (Status e = write_sweep_html(path, doc, extras.timelines); !e.ok()) return fail(e.error());
    written.push_back(path);
  }
  if (vm.count("db")) {  // last: an append cannot be taken back
    auto id = append_sweep(vm["db"].as<std::string>(), doc, extras.baseline, extras.scenario_file);
    if (!id) return fail(id.error());
  }
  if (format == "json" || doc.contains("partial")) {
    out << json;
  } else {
    out << whatif::sweep_text(doc);
  }
  return whatif::sweep_regressed(doc) ? kExitExpectationFailed : kExitOk;
}

/// The baseline's and the worst variants' timelines for the page: from the results this
/// process ran, the others (another MPI rank's) run again here.
Result<html::SweepTimelines> page_timelines(const Scenario& scenario, const whatif::SweepPlan& plan,
                                            const nlohmann::ordered_json& doc,
                                            const std::vector<whatif::VariantResult>& results) {
  html::SweepTimelines t;
  t.baseline = plan.baseline.timeline;
  t.baseline_time = plan.baseline.sim_time;
  for (const std::string& name : html::worst_variants(doc)) {
    auto mine = std::find_if(results.begin(), results.end(),
                             [&](const whatif::VariantResult& r) { return r.name == name; });
    if (mine != results.end()) {
      t.worst.push_back({name, mine->timeline, mine->sim_time});
      continue;
    }
    for (std::uint32_t i = 0; i < plan.variants.size(); ++i) {
      if (plan.variants[i].name != name) continue;
      auto again = whatif::run_variant(scenario, plan, i);
      if (!again) return Error{again.error()};
      t.worst.push_back({name, again->timeline, again->sim_time});
      break;
    }
  }
  return t;
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
      "db", po::value<std::string>(), "append the sweep to this SQLite history")(
      "html", po::value<std::string>(), "self-contained HTML page of the ranking")(
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
    // A shard's report is partial: recording or drawing it would show a sweep that never
    // finished. The merge has the whole sweep.
    for (const char* flag : {"db", "html"}) {
      if (vm.count(flag)) {
        return fail(std::string("--") + flag +
                    " takes the whole sweep, and a shard is a part: give --" + flag +
                    " to 'hivesim sweep --merge PART.json...' instead");
      }
    }
  }

  // Under mpirun, MPI starts while this rank loads the scenario and plans (both its own work:
  // every rank plans, since the baseline decides the link variants); it ends when this does.
  MpiSession mpi(!shard);
  const auto scenario = load_or_report(inputs[0], err);
  if (!scenario) return kExitBadInput;
  auto plan = whatif::plan_sweep(*scenario, question);

  const std::optional<MpiWorld> started = mpi.world();
  const bool distributed = started.has_value();
  const MpiWorld world = started.value_or(MpiWorld{});
  if (distributed && !jobs_given) jobs = 1;  // one rank per core: mpirun places the ranks
  if (distributed && !world.threads) {
    if (world.rank == 0) {
      err << "hivesim sweep: error: this MPI library does not allow MPI_THREAD_SERIALIZED, "
             "which a sweep under mpirun needs; run it with --shard K/N and --merge instead\n";
    }
    return kExitBadInput;
  }
  std::string error;
  std::vector<whatif::VariantResult> results;
  if (!plan) {
    error = plan.error();
  } else {
    const bool quiet = vm.count("quiet") != 0;
    Result<std::vector<whatif::VariantResult>> ran = Error{""};
    if (distributed) {
      ran = run_rank_share(*scenario, *plan, world, jobs, quiet, err);
    } else {
      const std::vector<std::uint32_t> indices =
          whatif::shard_indices(plan->variants.size(), shard.value_or(whatif::Shard{1, 1}));
      Progress progress(err, indices.size(), quiet);
      progress(0);
      ran = whatif::run_variants(*scenario, *plan, indices, jobs,
                                 [&progress](std::size_t done) { progress(done); });
    }
    if (!ran) {
      error = ran.error();
    } else {
      results = std::move(*ran);
    }
  }
  if (distributed) {
    // Ranks send their results with their indices (or "!" and the error) to rank 0.
    const std::string mine = error.empty() ? whatif::variant_rows(results) : "!" + error;
    const std::vector<std::string> parts = mpi_gather(mine);
    if (world.rank != 0) return kExitOk;
    for (const std::string& part : parts) {
      if (!part.empty() && part[0] == '!') return fail(part.substr(1));
    }
    auto merged = whatif::sweep_json_from_rows(*scenario, question, *plan, parts);
    if (!merged) {
      err << "hivesim sweep: internal error: " << merged.error() << "\n";
      return kExitInternal;
    }
    Extras extras{nullptr, &plan->baseline, scenario->file};
    std::optional<html::SweepTimelines> pictures;
    if (vm.count("html")) {
      auto t = page_timelines(*scenario, *plan, *merged, results);
      if (!t) return fail(t.error());
      pictures = std::move(*t);
      extras.timelines = &*pictures;
    }
    return write_and_print(*merged, format, vm, "report.json", out, err, extras);
  }
  if (!error.empty()) return fail(error);
  if (shard) {
    const std::string name =
        "partial-" + std::to_string(shard->index) + "-of-" + std::to_string(shard->count) + ".json";
    return write_and_print(whatif::partial_json(*scenario, question, *plan, *shard, results),
                           format, vm, name, out, err);
  }
  const nlohmann::ordered_json doc = whatif::sweep_json(*scenario, question, *plan, results);
  Extras extras{nullptr, &plan->baseline, scenario->file};
  std::optional<html::SweepTimelines> pictures;
  if (vm.count("html")) {
    auto t = page_timelines(*scenario, *plan, doc, results);
    if (!t) return fail(t.error());
    pictures = std::move(*t);
    extras.timelines = &*pictures;
  }
  return write_and_print(doc, format, vm, "report.json", out, err, extras);
}

}  // namespace hivesim::cli
