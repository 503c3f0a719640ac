// Committed create+destroy per second through the host ledger, against the placement engine
// alone, with 1 process and with several processes contending for one ledger file.
//
//   build/default/benchmarks/vgpu_ledger_benchmark            # defaults below; ~1 minute
//   build/default/benchmarks/vgpu_ledger_benchmark --smoke    # what ctest runs
//
// Cases (medians over --reps repetitions; docs/benchmarks.md has the figures):
//   (a) engine only: PlacementEngine::place + destroy of one vGPU on the built-in host.
//   (b) Manager::create + destroy of one vGPU, 1 process: a ledger file under --dir and a
//       private in-memory simulated backend (reconcile_on_open off).
//   (c) the same in --procs processes (fork) sharing one ledger file: aggregate ops/s.
//   (d) (b) with ManagerOptions::durable (msync + fsync per commit) on --durable-dir.
//   (e) breakdown: the ledger alone, the four commits one create+destroy makes (reserve,
//       activate, mark releasing, erase), 1 process.
// Each process opens its Manager after fork, warms up, then waits for a common start; the
// aggregate is all operations over (last end - first start) on CLOCK_MONOTONIC.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/ledger.hpp"
#include "vgpu/manager.hpp"
#include "vgpu/placement/engine.hpp"
#include "vgpu/sys/backend.hpp"

namespace {

struct Config {
  long ops = 20000;          // create+destroy cycles per process per repetition
  long engine_ops = 200000;  // for (a)
  long durable_ops = 50;     // for (d): ~70 ms per cycle on a VM disk
  long warmup = 500;
  int reps = 5;
  int procs = 4;
  std::string type = "A16-2Q";
  std::filesystem::path dir = "/dev/shm";
  std::filesystem::path durable_dir = "/var/tmp";
  bool durable = true;
  bool ledger_only = true;
  std::string cases = "abcde";  // which cases to run (for profiling one)
};

double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "vgpu_ledger_benchmark: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

vgpu::Request request_for(const Config& cfg) {
  auto t = vgpu::builtin_catalog().find_type(cfg.type);
  if (!t) die(t.error().message());
  return vgpu::Request::of(*t, 1);
}

// (a) -----------------------------------------------------------------------------------

struct EngineWorker {
  std::unique_ptr<vgpu::PlacementEngine> engine;
  vgpu::Request rq;
  explicit EngineWorker(const Config& cfg) : rq(request_for(cfg)) {
    auto host = vgpu::default_host(vgpu::builtin_catalog());
    if (!host) die(host.error().message());
    auto policy = vgpu::make_policy("fragmentation-aware");  // the Manager's default
    if (!policy) die(policy.error().message());
    engine = std::make_unique<vgpu::PlacementEngine>(std::move(*policy));
    if (auto ok = engine->add_gpus(host->gpus); !ok) die(ok.error().message());
  }
  void cycle() {
    auto placed = engine->place(rq);
    if (!placed) die("engine: " + placed.error().message());
    if (auto ok = engine->destroy(placed->front().first); !ok) die(ok.error().message());
  }
};

// (b), (c), (d) ---------------------------------------------------------------------------

std::unique_ptr<vgpu::Manager> open_manager(const std::filesystem::path& ledger, bool durable) {
  auto host = vgpu::default_host(vgpu::builtin_catalog());
  if (!host) die(host.error().message());
  auto backend = vgpu::sys::make_simulated_backend(std::move(*host));
  if (!backend) die(backend.error().message());
  vgpu::ManagerOptions options;
  options.backend_instance = std::move(*backend);  // private to this process
  options.ledger = ledger;
  options.reconcile_on_open = false;  // the backends are private: nothing to reconcile
  options.durable = durable;
  auto m = vgpu::Manager::open(std::move(options));
  if (!m) die("opening the Manager: " + m.error().message());
  return std::move(*m);
}

void manager_cycle(vgpu::Manager& m, const vgpu::Request& rq) {
  auto made = m.create(rq);
  if (!made) die("create: " + made.error().message());
  if (auto ok = m.destroy(made->front().uuid); !ok) die("destroy: " + ok.error().message());
}

// The four commits of one Manager create+destroy, straight on a HostLedger.
void ledger_cycle(vgpu::HostLedger& ledger, const vgpu::Request& rq) {
  vgpu::VgpuRecord r;
  r.uuid = vgpu::Uuid::generate();
  r.gpu = *vgpu::PciAddress::parse("0000:41:00.0");
  r.type_name = rq.type->type->name;
  r.process = vgpu::ProcessIdentity::self();
  r.created_at = r.updated_at = std::chrono::system_clock::now();
  for (const auto state :
       {vgpu::VgpuState::reserved, vgpu::VgpuState::active, vgpu::VgpuState::releasing}) {
    r.state = state;
    auto ok = ledger.transact([&](vgpu::LedgerTransaction& t) { return t.put(r); });
    if (!ok) die("ledger: " + ok.error().message());
  }
  auto ok = ledger.transact([&](vgpu::LedgerTransaction& t) { return t.erase(r.uuid); });
  if (!ok) die("ledger: " + ok.error().message());
}

struct WorkerResult {
  double start = 0;
  double end = 0;
  long ops = 0;
};

enum class Kind { engine, manager, ledger };

// Runs @p procs forked workers of @p kind on one fresh ledger file in @p dir; returns the
// aggregate operations per second. Every case runs in fresh processes: besides giving each
// its own backend, this keeps the parent from drawing a UUID before fork (Uuid::generate()'s
// generator is seeded once per thread, so children forked after a draw repeat each other's
// UUIDs).
double run_procs(const Config& cfg, Kind kind, int procs, const std::filesystem::path& dir,
                 bool durable, long ops) {
  const auto ledger = dir / "ledger";
  std::filesystem::remove(ledger);
  int ready[2], go[2], results[2];
  if (::pipe(ready) != 0 || ::pipe(go) != 0 || ::pipe(results) != 0) die(std::strerror(errno));
  std::fflush(stdout);
  std::vector<pid_t> children;
  for (int p = 0; p < procs; ++p) {
    const pid_t pid = ::fork();
    if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      ::close(ready[0]);
      ::close(go[1]);
      ::close(results[0]);
      const auto rq = request_for(cfg);
      std::unique_ptr<vgpu::Manager> m;
      std::optional<vgpu::HostLedger> l;
      std::optional<EngineWorker> e;
      if (kind == Kind::engine) {
        e.emplace(cfg);
      } else if (kind == Kind::manager) {
        m = open_manager(ledger, durable);
      } else {
        vgpu::LedgerOptions lo;
        lo.path = ledger;
        lo.durable = durable;
        auto opened = vgpu::HostLedger::open(lo);
        if (!opened) die(opened.error().message());
        l.emplace(std::move(*opened));
      }
      auto cycle = [&] {
        if (e)
          e->cycle();
        else if (m)
          manager_cycle(*m, rq);
        else
          ledger_cycle(*l, rq);
      };
      const long warm = durable ? std::min<long>(cfg.warmup, 5) : cfg.warmup;
      for (long i = 0; i < warm; ++i)
        cycle();
      char c = 1;
      if (::write(ready[1], &c, 1) != 1) std::_Exit(3);
      if (::read(go[0], &c, 1) != 1) std::_Exit(3);
      WorkerResult r;
      r.start = now_s();
      for (long i = 0; i < ops; ++i)
        cycle();
      r.end = now_s();
      r.ops = ops;
      if (::write(results[1], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) std::_Exit(3);
      std::_Exit(0);
    }
    children.push_back(pid);
  }
  ::close(ready[1]);
  ::close(go[0]);
  ::close(results[1]);
  for (int p = 0; p < procs; ++p) {
    char c;
    if (::read(ready[0], &c, 1) != 1) die("a worker failed before the start (see above)");
  }
  const std::string start(static_cast<std::size_t>(procs), 'g');
  if (::write(go[1], start.data(), start.size()) != static_cast<ssize_t>(start.size()))
    die("cannot start the workers");
  double first = 1e300, last = 0;
  long total = 0;
  for (int p = 0; p < procs; ++p) {
    WorkerResult r;
    if (::read(results[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r))
      die("a worker failed (see above)");
    first = std::min(first, r.start);
    last = std::max(last, r.end);
    total += r.ops;
  }
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("a worker exited abnormally");
  }
  ::close(ready[0]);
  ::close(go[1]);
  ::close(results[0]);
  std::filesystem::remove(ledger);
  return static_cast<double>(total) / (last - first);
}

// ---------------------------------------------------------------------------------------

long number(const char* flag, const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (!end || *end != '\0' || v <= 0) die(std::string(flag) + " needs a positive number");
  return v;
}

void usage() {
  std::printf(
      "usage: vgpu_ledger_benchmark [--ops N] [--engine-ops N] [--durable-ops N] [--reps R]\n"
      "                             [--procs P] [--type TYPE] [--dir DIR] [--durable-dir DIR]\n"
      "                             [--no-durable] [--no-breakdown] [--cases abcde] [--smoke]\n"
      "Committed create+destroy per second through the host ledger (docs/benchmarks.md).\n"
      "Ledger files go to a new private directory under DIR (default /dev/shm) and under\n"
      "--durable-dir (default /var/tmp, a disk) for the durable case; both are removed after.\n");
}

Config parse(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--ops")
      cfg.ops = number("--ops", value());
    else if (a == "--engine-ops")
      cfg.engine_ops = number("--engine-ops", value());
    else if (a == "--durable-ops")
      cfg.durable_ops = number("--durable-ops", value());
    else if (a == "--reps")
      cfg.reps = static_cast<int>(number("--reps", value()));
    else if (a == "--procs")
      cfg.procs = static_cast<int>(number("--procs", value()));
    else if (a == "--type")
      cfg.type = value();
    else if (a == "--dir")
      cfg.dir = value();
    else if (a == "--durable-dir")
      cfg.durable_dir = value();
    else if (a == "--no-durable")
      cfg.durable = false;
    else if (a == "--no-breakdown")
      cfg.ledger_only = false;
    else if (a == "--cases")
      cfg.cases = value();
    else if (a == "--smoke") {
      cfg.ops = 50;
      cfg.engine_ops = 200;
      cfg.durable_ops = 3;
      cfg.warmup = 5;
      cfg.reps = 1;
    } else if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else {
      usage();
      die("unknown argument " + a);
    }
  }
  return cfg;
}

// A fresh directory of ours under @p parent (the ledger creates nothing in shared places).
std::filesystem::path work_dir(const std::filesystem::path& parent) {
  auto d = parent / ("vgpu-ledger-bench-" + std::to_string(::getpid()));
  std::error_code ec;
  std::filesystem::remove_all(d, ec);
  if (!std::filesystem::create_directories(d, ec) || ec)
    die("cannot create " + d.string() + ": " + ec.message());
  std::filesystem::permissions(d, std::filesystem::perms::owner_all, ec);
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg = parse(argc, argv);
  if (!cfg.durable)
    cfg.cases.erase(std::remove(cfg.cases.begin(), cfg.cases.end(), 'd'), cfg.cases.end());
  if (!cfg.ledger_only)
    cfg.cases.erase(std::remove(cfg.cases.begin(), cfg.cases.end(), 'e'), cfg.cases.end());
  (void)request_for(cfg);  // fail early on an unknown type (draws no UUID: see run_procs)
  const bool durable = cfg.cases.find('d') != std::string::npos;
  const auto dir = work_dir(cfg.dir);
  const auto ddir = durable ? work_dir(cfg.durable_dir) : std::filesystem::path();

  struct Case {
    char letter;
    std::string name;
    Kind kind;
    int procs;
    bool durable;
    long ops;
    std::vector<double> rates;
  };
  const std::string n = std::to_string(cfg.procs);
  std::vector<Case> all = {
      {'a', "(a) engine only: place + destroy", Kind::engine, 1, false, cfg.engine_ops, {}},
      {'b', "(b) Manager + ledger, 1 process", Kind::manager, 1, false, cfg.ops, {}},
      {'c',
       "(c) Manager + ledger, " + n + " processes (aggregate)",
       Kind::manager,
       cfg.procs,
       false,
       cfg.ops,
       {}},
      {'d',
       "(d) (b) with durable=true (" + cfg.durable_dir.string() + ")",
       Kind::manager,
       1,
       true,
       cfg.durable_ops,
       {}},
      {'e', "(e) ledger only, 4 commits/cycle, 1 process", Kind::ledger, 1, false, cfg.ops, {}},
      {'e',
       "(e') ledger only, 4 commits/cycle, " + n + " processes (aggregate)",
       Kind::ledger,
       cfg.procs,
       false,
       cfg.ops,
       {}},
  };
  std::vector<Case> rows;
  for (auto& c : all)
    if (cfg.cases.find(c.letter) != std::string::npos) rows.push_back(std::move(c));

  std::printf(
      "vgpu_ledger_benchmark: type %s, %ld cycles per process per repetition, %d "
      "repetitions, ledger in %s\n",
      cfg.type.c_str(), cfg.ops, cfg.reps, dir.c_str());
  for (int rep = 0; rep < cfg.reps; ++rep) {
    for (auto& c : rows)
      c.rates.push_back(run_procs(cfg, c.kind, c.procs, c.durable ? ddir : dir, c.durable, c.ops));
    std::fprintf(stderr, "repetition %d of %d done\n", rep + 1, cfg.reps);
  }

  std::printf("\n%-58s %12s %10s %16s\n", "case (medians)", "cycles/s", "us/cycle", "min..max/s");
  double engine = 0, one = 0, many = 0;
  for (const auto& r : rows) {
    const double m = median(r.rates);
    const auto [lo, hi] = std::minmax_element(r.rates.begin(), r.rates.end());
    std::printf("%-58s %12.0f %10.2f %7.0f..%.0f\n", r.name.c_str(), m, 1e6 / m, *lo, *hi);
    if (r.letter == 'a') engine = m;
    if (r.letter == 'b') one = m;
    if (r.letter == 'c') many = m;
  }
  std::printf("\n");
  if (engine > 0 && one > 0)
    std::printf(
        "overhead of Manager + ledger vs the engine alone: +%.2f us per create+destroy "
        "(a cycle takes %.1fx the engine's time)\n",
        1e6 / one - 1e6 / engine, engine / one);
  if (one > 0)
    std::printf("target 1 process >= 100,000/s: %s (%.0f)\n", one >= 100000 ? "met" : "MISSED",
                one);
  if (one > 0 && many > 0)
    std::printf(
        "target %d processes >= 50%% of 100,000/s: %s (%.0f); vs 1 process measured: "
        "%.2fx\n",
        cfg.procs, many >= 50000 ? "met" : "MISSED", many, many / one);

  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!ddir.empty()) std::filesystem::remove_all(ddir, ec);
  return 0;
}
