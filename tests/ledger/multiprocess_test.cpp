// Real processes sharing one simulated host file and one ledger: random churn, the race for
// the last slot, and SIGKILL at random points (including inside commits).
#include <poll.h>

#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "ledger_test_util.hpp"

using namespace vgpu;
using namespace vgpu::test;

TEST_CASE("Processes creating and destroying at random leave ledger and backend agreeing",
          "[manager][multiprocess]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  constexpr int processes = 4;
  constexpr int ops = 60;
  std::vector<Child> workers;
  for (int i = 0; i < processes; ++i)
    workers.emplace_back(std::vector<std::string>{"churn", host.string(), ledger.string(),
                                                  std::to_string(1000 + i), std::to_string(ops)});
  std::size_t created = 0;
  std::size_t destroyed = 0;
  for (auto& w : workers) {
    for (const auto& l : w.lines()) {
      INFO(l);
      CHECK(l.rfind("E ", 0) != 0);
      created += l.rfind("C ", 0) == 0 ? 1 : 0;
      destroyed += l.rfind("X ", 0) == 0 ? 1 : 0;
    }
    CHECK(exited_ok(w.wait()));
  }
  CHECK(created > 20);
  CHECK(destroyed > 10);
  LedgerOptions lo;
  lo.path = ledger;
  auto l = HostLedger::open(lo).value();
  REQUIRE(l.check());
  auto records = l.records().value();
  CHECK(records.size() == created - destroyed);
  auto backend = open_host(host);
  const auto wrong = ledger_vs_backend(records, *backend);
  INFO(join(wrong));
  CHECK(wrong.empty());
}

TEST_CASE("Eight processes race for the last slot: exactly one gets it",
          "[manager][multiprocess]") {
  TempDir dir;
  const auto host = make_host(dir, R"({"gpus":[{"model":"A16","count":1}]})");
  const auto ledger = dir / "ledger";
  {
    auto m = Manager::open(options_for(host, ledger)).value();
    REQUIRE(m->create(Request::of(type("A16-8Q"), 1)));  // one of two 8Q slots left
  }
  std::vector<Child> racers;
  for (int i = 0; i < 8; ++i)
    racers.emplace_back(std::vector<std::string>{"race", host.string(), ledger.string(), "A16-8Q"},
                        std::vector<std::string>{}, true);
  for (auto& r : racers)  // all open and waiting at the barrier
    REQUIRE(r.line() == "ready");
  for (auto& r : racers)
    r.close_stdin();
  int won = 0;
  int refused = 0;
  for (auto& r : racers) {
    auto l = r.line();
    REQUIRE(l);
    INFO(*l);
    if (l->rfind("ok ", 0) == 0) {
      ++won;
    } else {
      CHECK(l->rfind("err no_capacity ", 0) == 0);
      CHECK(l->find("A16-8Q") != std::string::npos);
      CHECK(l->find("0000:41:00.0") != std::string::npos);
      ++refused;
    }
    CHECK(exited_ok(r.wait()));
  }
  CHECK(won == 1);
  CHECK(refused == 7);
  auto records = records_of(ledger);
  CHECK(records.size() == 2);
  auto backend = open_host(host);
  CHECK(ledger_vs_backend(records, *backend).empty());
}

namespace {

struct KillFigures {
  int kills = 0;
  int crash_plan_deaths = 0;
  int rounds = 0;
  std::size_t acknowledged_creates = 0;
  std::size_t acknowledged_destroys = 0;
  std::size_t reconcile_actions = 0;
};

// Rounds of @p workers churning processes killed with SIGKILL at random times (some also
// armed to die at a commit protocol point); after each round the ledger must open, pass
// check(), hold every acknowledged create not since asked to be destroyed, hold no
// acknowledged destroy, and reconcile must leave it equal to the backend.
KillFigures kill_test(int rounds, int workers, unsigned seed) {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  std::mt19937 rng(seed);
  std::set<Uuid> acked_created, intents, acked_destroyed;
  KillFigures f;
  for (int round = 0; round < rounds; ++round) {
    std::vector<Child> running;
    for (int w = 0; w < workers; ++w) {
      std::vector<std::string> env;
      if (rng() % 3 == 0)  // die inside a commit
        env.push_back("VGPU_TEST_CRASH=" + std::to_string(1 + rng() % 3) + ":" +
                      std::to_string(1 + rng() % 12));
      running.emplace_back(std::vector<std::string>{"churn", host.string(), ledger.string(),
                                                    std::to_string(rng()), "0"},
                           env);
    }
    std::vector<std::vector<std::string>> out(running.size());
    // Wait for the workers to start working (or die trying), then kill them one by one.
    for (std::size_t i = 0; i < running.size(); ++i)
      if (auto l = running[i].line()) out[i].push_back(*l);
    std::vector<std::size_t> order(running.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (const auto i : order) {
      ::usleep(static_cast<useconds_t>(rng() % 40000));
      if (running[i].ended()) ++f.crash_plan_deaths;  // died at its commit protocol point
      running[i].kill9();
      for (auto& l : running[i].drain())
        out[i].push_back(l);
    }
    for (std::size_t i = 0; i < running.size(); ++i) {
      for (auto& l : running[i].lines())
        out[i].push_back(l);
      const int status = running[i].wait();
      INFO(join(out[i]));
      REQUIRE(killed_by_sigkill(status));
      ++f.kills;
      for (const auto& l : out[i]) {
        INFO(l);
        REQUIRE(l.rfind("E ", 0) != 0);
        if (l.size() < 3 || l[1] != ' ') continue;
        const Uuid u = Uuid::parse(l.substr(2)).value();
        if (l[0] == 'C') acked_created.insert(u);
        if (l[0] == 'D') intents.insert(u);
        if (l[0] == 'X') acked_destroyed.insert(u);
      }
    }
    ++f.rounds;
    // A fresh open passes check() and holds every acknowledged commit.
    {
      LedgerOptions lo;
      lo.path = ledger;
      auto l = HostLedger::open(lo);
      REQUIRE(l);
      REQUIRE(l->open_report().corruption.empty());
      auto checked = l->check();
      INFO((checked ? std::string() : checked.error().message()));
      REQUIRE(checked);
      std::map<Uuid, VgpuRecord> now;
      for (const auto& r : l->records().value())
        now[r.uuid] = r;
      for (const auto& u : acked_created) {
        if (intents.count(u)) continue;
        INFO("acknowledged create " << u.to_string() << " in round " << round);
        REQUIRE(now.count(u));
        REQUIRE(now[u].state == VgpuState::active);
      }
      for (const auto& u : acked_destroyed) {
        INFO("acknowledged destroy " << u.to_string() << " in round " << round);
        REQUIRE(now.count(u) == 0);
      }
    }
    // Reconcile repairs what the dead left behind: ledger == backend.
    {
      auto m = Manager::open(options_for(host, ledger));
      REQUIRE(m);
      f.reconcile_actions += (*m)->open_reconcile().actions.size();
      CHECK((*m)->open_reconcile().in_progress == 0);
      auto backend = open_host(host);
      const auto wrong = ledger_vs_backend((*m)->instances().value(), *backend);
      INFO(join(wrong));
      REQUIRE(wrong.empty());
      // Reconciling must not have dropped an acknowledged vGPU either.
      auto after = uuids_of_records((*m)->instances().value());
      for (const auto& u : acked_created)
        if (!intents.count(u)) REQUIRE(after.count(u));
    }
  }
  f.acknowledged_creates = acked_created.size();
  f.acknowledged_destroys = acked_destroyed.size();
  return f;
}

}  // namespace

TEST_CASE("Processes killed with SIGKILL lose no acknowledged commit (short)",
          "[manager][multiprocess][kill]") {
  const auto f = kill_test(8, 4, 42);
  CHECK(f.kills == 32);
  CHECK(f.acknowledged_creates > 0);
}

TEST_CASE("Processes killed with SIGKILL lose no acknowledged commit (1,000+ kills)", "[.][long]") {
  const auto start = std::chrono::steady_clock::now();
  const auto f = kill_test(260, 4, 20240601);
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("kill test: " << f.kills << " kills (" << f.crash_plan_deaths
                     << " of them self-inflicted at commit protocol points) in " << f.rounds
                     << " rounds, " << seconds << " s; " << f.acknowledged_creates
                     << " acknowledged creates, " << f.acknowledged_destroys
                     << " acknowledged destroys, " << f.reconcile_actions << " reconcile repairs");
  CHECK(f.kills >= 1000);
}
