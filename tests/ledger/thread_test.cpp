// Threads: one Manager shared by threads, several Managers (and ledger handles) on one ledger
// in one process. Run under ThreadSanitizer by the tsan preset. Assertions stay on the main
// thread (Catch2 is not thread-safe).
#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "ledger_test_util.hpp"

using namespace vgpu;
using namespace vgpu::test;

namespace {

// Random creates and destroys of vGPUs this thread made; returns unexpected errors.
std::vector<std::string> churn(Manager& m, unsigned seed, int ops) {
  std::mt19937 rng(seed);
  static const char* const types[] = {"A16-2Q", "A16-4Q", "A16-8Q", "L40S-4Q", "L40S-8Q"};
  std::vector<std::string> errors;
  std::vector<Uuid> mine;
  for (int op = 0; op < ops; ++op) {
    if (mine.empty() || rng() % 100 < 55) {
      auto t = m.catalog().find_type(types[rng() % std::size(types)]);
      if (!t) return {t.error().message()};
      auto made = m.create(Request::of(*t, 1));
      if (made)
        mine.push_back(made->front().uuid);
      else if (made.error().code() != Errc::no_capacity)
        errors.push_back("create: " + made.error().message());
    } else {
      const std::size_t i = rng() % mine.size();
      if (auto gone = m.destroy(mine[i]); !gone)
        errors.push_back("destroy: " + gone.error().message());
      mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (op % 10 == 0) {
      (void)m.instances();
      (void)m.usage();
      (void)m.creatable(*PciAddress::parse("0000:41:00.0"));
    }
  }
  return errors;
}

}  // namespace

TEST_CASE("Threads sharing one Manager and Managers sharing one ledger agree",
          "[manager][threads]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  std::vector<std::unique_ptr<Manager>> managers;
  for (int i = 0; i < 3; ++i) {
    auto m = Manager::open(options_for(host, ledger));
    REQUIRE(m);
    managers.push_back(std::move(*m));
  }
  // Manager 0 is shared by three threads; managers 1 and 2 have two threads each.
  const int assignment[] = {0, 0, 0, 1, 1, 2, 2};
  std::vector<std::vector<std::string>> errors(std::size(assignment));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < std::size(assignment); ++t)
    threads.emplace_back([&, t] {
      errors[t] = churn(*managers[static_cast<std::size_t>(assignment[t])],
                        static_cast<unsigned>(7 + t), 40);
    });
  for (auto& t : threads)
    t.join();
  for (const auto& e : errors) {
    INFO(join(e));
    CHECK(e.empty());
  }
  auto records = managers[1]->instances().value();
  auto backend = open_host(host);
  const auto wrong = ledger_vs_backend(records, *backend);
  INFO(join(wrong));
  CHECK(wrong.empty());
  for (auto& m : managers) {
    CHECK(m->snapshot().value().vgpu_count() == records.size());
    std::size_t counted = 0;
    for (const auto& u : m->usage().value())
      counted += u.vgpu_count;
    CHECK(counted == records.size());
  }
}

TEST_CASE("Two ledger handles in one process exclude each other", "[ledger][threads]") {
  TempDir dir;
  LedgerOptions o;
  o.path = dir / "ledger";
  auto a = HostLedger::open(o).value();
  auto b = HostLedger::open(o).value();
  std::atomic<bool> inside_a{false};
  std::atomic<bool> a_done{false};
  std::atomic<bool> overlap{false};
  std::thread ta([&] {
    (void)a.transact([&](LedgerTransaction& t) -> Result<void> {
      inside_a = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      a_done = true;
      return t.put(numbered_record(1, 0));
    });
  });
  while (!inside_a)
    std::this_thread::yield();
  std::size_t seen = 0;
  auto ok = b.transact([&](LedgerTransaction& t) -> Result<void> {
    overlap = !a_done;
    seen = t.records().size();
    return {};
  });
  ta.join();
  REQUIRE(ok);
  CHECK_FALSE(overlap);
  CHECK(seen == 1);  // b ran after a committed, and sees its record

  // Many threads on one handle and on several handles: every commit counted once.
  auto c = HostLedger::open(o).value();
  std::vector<std::thread> threads;
  HostLedger* handles[] = {&a, &a, &b, &c};
  for (std::uint32_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < 50; ++i)
        (void)handles[t]->transact(
            [&](LedgerTransaction& txn) { return txn.put(numbered_record(10 + t, i)); });
    });
  for (auto& t : threads)
    t.join();
  CHECK(c.records().value().size() == 201);
  CHECK(c.commits().value() == 201);
  CHECK(a.check());
}
