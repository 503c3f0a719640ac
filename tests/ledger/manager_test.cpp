// vgpu::Manager against a shared simulated host file and a ledger file: two-phase create,
// rollback, busy destroys, reconcile, apply/restore, and ledgers of other hosts.
#include <catch2/catch.hpp>
#include <set>

#include "ledger/layout.hpp"
#include "ledger_test_util.hpp"

using namespace vgpu;
using namespace vgpu::test;

namespace {

const PciAddress gpu41 = *PciAddress::parse("0000:41:00.0");
const PciAddress gpu42 = *PciAddress::parse("0000:42:00.0");

std::unique_ptr<Manager> open_manager(ManagerOptions o) {
  auto m = Manager::open(std::move(o));
  INFO((m ? std::string() : m.error().message()));
  REQUIRE(m);
  return std::move(*m);
}

// A backend over the shared host file whose create/destroy can be made to fail, and which
// can run a hook while the Manager is in the middle of creating.
class ScriptedBackend final : public sys::Backend {
 public:
  explicit ScriptedBackend(std::unique_ptr<sys::Backend> inner) : inner_(std::move(inner)) {}
  std::string_view name() const override { return "sim"; }
  Result<std::vector<PhysicalGpu>> gpus() override { return inner_->gpus(); }
  Result<std::vector<VgpuInstance>> instances() override { return inner_->instances(); }
  Result<VgpuInstance> create(const sys::CreateRequest& r) override {
    if (on_create) on_create(r);
    if (fail_create_after >= 0 && creates++ >= fail_create_after)
      return fail(Errc::io_error, "simulated driver failure");
    return inner_->create(r);
  }
  Result<void> destroy(const Uuid& u) override {
    if (fail_destroy) return fail(Errc::busy, "simulated: a VM holds it");
    return inner_->destroy(u);
  }
  int fail_create_after = -1;  // creates that succeed before every later one fails
  int creates = 0;
  bool fail_destroy = false;
  std::function<void(const sys::CreateRequest&)> on_create;

 private:
  std::unique_ptr<sys::Backend> inner_;
};

struct Scripted {
  std::unique_ptr<Manager> manager;
  ScriptedBackend* backend;
};

Scripted open_scripted(const std::filesystem::path& host, const std::filesystem::path& ledger) {
  auto b = std::make_unique<ScriptedBackend>(open_host(host));
  auto* raw = b.get();
  auto o = options_for(host, ledger);
  o.backend_instance = std::move(b);
  return {open_manager(std::move(o)), raw};
}

std::set<Uuid> uuids_of(const std::vector<VgpuRecord>& records) {
  std::set<Uuid> out;
  for (const auto& r : records)
    out.insert(r.uuid);
  return out;
}

std::vector<std::string> problems(Manager& m, const std::filesystem::path& host) {
  auto backend = open_host(host);
  return ledger_vs_backend(m.instances().value(), *backend);
}

}  // namespace

TEST_CASE("Create reserves in the ledger, creates through the backend, then activates",
          "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  auto [m, backend] = open_scripted(host, ledger);
  std::vector<VgpuRecord> seen_during_create;
  backend->on_create = [&](const sys::CreateRequest&) {
    seen_during_create = records_of(ledger);  // another handle, as another process would
  };
  CreateOptions co;
  co.vm_uuid = Uuid::generate();
  Request rq = Request::of(type("A16-4Q"), 2);
  rq.owner = "vm-1";
  auto made = m->create(rq, co);
  REQUIRE(made);
  REQUIRE(made->size() == 2);
  REQUIRE(seen_during_create.size() == 2);
  for (const auto& r : seen_during_create) {
    CHECK(r.state == VgpuState::reserved);
    CHECK(r.process == ProcessIdentity::self());
  }
  const auto records = records_of(ledger);
  REQUIRE(records.size() == 2);
  for (const auto& r : records) {
    CHECK(r.state == VgpuState::active);
    CHECK(r.owner == "vm-1");
    CHECK(r.vm_uuid == co.vm_uuid);
    CHECK(r.type_name == "A16-4Q");
  }
  CHECK(records[0].gpu != records[1].gpu);  // one VM's vGPUs on distinct GPUs
  CHECK(problems(*m, host).empty());

  // Explicit UUIDs: a UUID in use is a conflict.
  co.uuids = {made->front().uuid};
  auto dup = m->create(Request::of(type("A16-4Q"), 1), co);
  CHECK(dup.error().code() == Errc::conflict);
  REQUIRE(m->destroy(made->front().uuid));
  CHECK(m->destroy(made->front().uuid).error().code() == Errc::not_found);
  CHECK(records_of(ledger).size() == 1);
  CHECK(problems(*m, host).empty());
}

TEST_CASE("A backend failure rolls the reservation back", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  auto [m, backend] = open_scripted(host, ledger);
  std::vector<std::string> log;
  backend->fail_create_after = 1;  // the first vGPU is made, the second fails
  auto made = m->create(Request::of(type("A16-8Q"), 2));
  REQUIRE_FALSE(made);
  CHECK(made.error().code() == Errc::io_error);
  CHECK(made.error().message().find("simulated driver failure") != std::string::npos);
  CHECK(records_of(ledger).empty());
  CHECK(open_host(host)->instances().value().empty());
  CHECK(m->instances().value().empty());
  // The Manager's view was rolled back too: the whole host is free.
  CHECK(m->snapshot().value().vgpu_count() == 0);
  backend->fail_create_after = -1;
  REQUIRE(m->create(Request::of(type("A16-16Q"), 4)));
  CHECK(problems(*m, host).empty());
}

TEST_CASE("A backend that refuses to destroy leaves the vGPU active", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  auto [m, backend] = open_scripted(host, dir / "ledger");
  auto made = m->create(Request::of(type("A16-2Q"), 1)).value();
  backend->fail_destroy = true;
  auto gone = m->destroy(made[0].uuid);
  CHECK(gone.error().code() == Errc::busy);
  auto all = m->instances().value();
  REQUIRE(all.size() == 1);
  CHECK(all[0].state == VgpuState::active);
  backend->fail_destroy = false;
  CHECK(m->destroy(made[0].uuid));
}

TEST_CASE("Destroying a vGPU another live process is creating is busy", "[manager][multiprocess]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  auto m = open_manager(options_for(host, ledger));
  Child creator({"hold-create", host.string(), ledger.string(), "A16-4Q"}, {}, true);
  auto line = creator.line();
  REQUIRE(line);
  REQUIRE(line->rfind("reserved ", 0) == 0);
  const Uuid u = Uuid::parse(line->substr(9)).value();
  auto busy = m->destroy(u);
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code() == Errc::busy);
  CHECK(busy.error().message().find("is being created by process " +
                                    std::to_string(creator.pid())) != std::string::npos);
  // reconcile leaves it alone: its process is alive.
  auto rec = m->reconcile().value();
  CHECK(rec.actions.empty());
  CHECK(rec.in_progress == 1);
  creator.close_stdin();
  CHECK(creator.line() == "created " + u.to_string());
  CHECK(exited_ok(creator.wait()));
  REQUIRE(m->destroy(u));
  CHECK(records_of(ledger).empty());
  CHECK(problems(*m, host).empty());
}

TEST_CASE("reconcile repairs what dead processes and the backend left behind", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  auto m = open_manager(options_for(host, ledger));
  auto backend = open_host(host);
  LedgerOptions lo;
  lo.path = ledger;
  auto l = HostLedger::open(lo).value();

  const ProcessIdentity dead{0x7ffffff0u, 12345, ProcessIdentity::self().boot};
  ProcessIdentity reused = ProcessIdentity::self();  // our PID, another start time
  reused.start_time += 1;
  auto record = [&](std::uint32_t n, PciAddress gpu, std::string type_name, std::uint32_t placement,
                    VgpuState state, ProcessIdentity who) {
    VgpuRecord r;
    r.uuid = numbered_uuid(100, n);
    r.gpu = gpu;
    r.type_name = std::move(type_name);
    r.placement = placement;
    r.state = state;
    r.process = who;
    r.created_at = r.updated_at = std::chrono::system_clock::now();
    return r;
  };
  // 1: reserved by a dead process, its device made; 2: reserved by a reused PID, no device;
  // 3: releasing by a dead process, device still there; 4: active, device vanished;
  // 5: device the ledger does not know; 6: active, recorded at the wrong placement;
  // 7: reserved by this live process (in progress).
  std::vector<VgpuRecord> recs{
      record(1, gpu41, "A16-4Q", 0, VgpuState::reserved, dead),
      record(2, gpu41, "A16-4Q", 4, VgpuState::reserved, reused),
      record(3, gpu41, "A16-4Q", 8, VgpuState::releasing, dead),
      record(4, gpu42, "A16-16Q", 0, VgpuState::active, {}),
      record(6, *PciAddress::parse("0000:45:00.0"), "L40S-8Q", 0, VgpuState::active, {}),
      record(7, *PciAddress::parse("0000:46:00.0"), "L40S-24Q", 0, VgpuState::reserved,
             ProcessIdentity::self()),
  };
  REQUIRE(l.transact([&](LedgerTransaction& t) -> Result<void> {
    for (const auto& r : recs)
      if (auto ok = t.put(r); !ok) return ok;
    return {};
  }));
  REQUIRE(backend->create({recs[0].uuid, gpu41, "A16-4Q", 0, ""}));
  REQUIRE(backend->create({recs[2].uuid, gpu41, "A16-4Q", 8, ""}));
  REQUIRE(backend->create(
      {numbered_uuid(100, 5), *PciAddress::parse("0000:43:00.0"), "A16-1Q", 3, "adoptee"}));
  REQUIRE(backend->create({recs[4].uuid, recs[4].gpu, "L40S-8Q", 16, ""}));

  auto report = m->reconcile();
  REQUIRE(report);
  using K = ReconcileReport::Action::Kind;
  std::map<Uuid, K> kinds;
  for (const auto& a : report->actions) {
    INFO(a.text);
    CHECK(kinds.emplace(a.uuid, a.kind).second);
  }
  CHECK(kinds == std::map<Uuid, K>{{numbered_uuid(100, 1), K::rolled_back_reservation},
                                   {numbered_uuid(100, 2), K::rolled_back_reservation},
                                   {numbered_uuid(100, 3), K::finished_release},
                                   {numbered_uuid(100, 4), K::released_vanished},
                                   {numbered_uuid(100, 5), K::adopted},
                                   {numbered_uuid(100, 6), K::updated}});
  CHECK(report->in_progress == 1);
  for (const auto& a : report->actions)
    if (a.kind == K::rolled_back_reservation && a.uuid == numbered_uuid(100, 1))
      CHECK(a.text.find("its device was destroyed") != std::string::npos);

  auto records = l.records().value();
  REQUIRE(records.size() == 3);
  std::map<Uuid, VgpuRecord> by;
  for (const auto& r : records)
    by[r.uuid] = r;
  CHECK(by.at(numbered_uuid(100, 5)).owner == "adoptee");
  CHECK(by.at(numbered_uuid(100, 5)).state == VgpuState::active);
  CHECK(by.at(numbered_uuid(100, 5)).process.pid == 0);
  CHECK(by.at(numbered_uuid(100, 6)).placement == 16);
  CHECK(by.at(numbered_uuid(100, 7)).state == VgpuState::reserved);
  auto present = backend->instances().value();
  CHECK(present.size() == 2);  // the adoptee and the corrected one; 1 and 3 destroyed

  // A second reconcile finds nothing more to do.
  auto again = m->reconcile().value();
  CHECK(again.actions.empty());
  // The Manager's view follows: 0000:41 is free again for a 16Q.
  Request rq = Request::of(type("A16-16Q"), 1);
  rq.constraints.allowed = {m->gpu_index(gpu41).value()};
  CHECK(m->create(rq));
}

TEST_CASE("A Manager opened without reconciling still sees what the ledger holds", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  auto a = open_manager(options_for(host, ledger));
  REQUIRE(a->create(Request::of(type("A16-16Q"), 4)));
  auto o = options_for(host, ledger);
  o.reconcile_on_open = false;
  auto b = open_manager(std::move(o));
  CHECK(b->snapshot().value().vgpu_count() == 4);
  CHECK(b->creatable(gpu41).value().empty());
  auto more = b->create(Request::of(type("A16-2Q"), 1));
  REQUIRE_FALSE(more);
  CHECK(more.error().code() == Errc::no_capacity);
}

TEST_CASE("usage() follows what other processes create and destroy", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  auto a = open_manager(options_for(host, ledger));
  auto b = open_manager(options_for(host, ledger));
  const auto check_against_snapshot = [&] {
    const auto usage = b->usage().value();
    const auto engine = b->snapshot().value();
    REQUIRE(usage.size() == b->gpus().size());
    REQUIRE(usage.size() == engine.gpu_count());
    for (GpuIndex g = 0; g < usage.size(); ++g) {
      INFO("GPU " << g);
      CHECK(usage[g].index == g);
      CHECK(usage[g].gpu.address == b->gpus()[g].address);
      CHECK(usage[g].used_framebuffer == engine.gpu(g).used_framebuffer());
      CHECK(usage[g].vgpu_count == engine.gpu(g).occupants().size());
    }
    return usage;
  };
  for (const auto& u : check_against_snapshot())
    CHECK(u.vgpu_count == 0);

  Request rq = Request::of(type("A16-4Q"), 3);
  rq.constraints.allowed = {a->gpu_index(gpu42).value()};
  rq.constraints.distinct_gpus = false;  // all three on 0000:42
  const auto created = a->create(rq);
  INFO((created ? std::string() : created.error().message()));
  REQUIRE(created);
  const auto& made = *created;
  auto usage = check_against_snapshot();  // b reads what a wrote, through the ledger
  const GpuIndex on42 = b->gpu_index(gpu42).value();
  CHECK(usage[on42].vgpu_count == 3);
  CHECK(usage[on42].used_framebuffer == Bytes::gib(12));
  REQUIRE(a->destroy(made.front().uuid));
  usage = check_against_snapshot();
  CHECK(usage[on42].vgpu_count == 2);
  CHECK(usage[on42].used_framebuffer == Bytes::gib(8));
}

TEST_CASE("A manager's extra catalog stays its own, and the others share the built-in one",
          "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  write_file(dir / "x1.json",
             R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "Example X1",
    "framebuffer_mib": 8192, "types": [{"name": "X1-8Q", "series": "Q",
    "framebuffer_mib": 8192, "max_heads": 1, "max_resolution": "1920x1080",
    "max_instances": 1}]}]})");
  auto plain = open_manager(options_for(host, dir / "ledger"));
  CHECK(&plain->catalog() == &builtin_catalog());  // shared, not copied per manager
  auto o = options_for(host, dir / "ledger");
  o.catalogs = {dir / "x1.json"};
  auto extended = open_manager(std::move(o));
  CHECK(&extended->catalog() != &builtin_catalog());
  CHECK(extended->catalog().find_type("X1-8Q"));
  CHECK_FALSE(plain->catalog().find_type("X1-8Q"));
  CHECK_FALSE(builtin_catalog().find_type("X1-8Q"));
  // The built-in catalog outlives the managers that shared it.
  plain.reset();
  auto again = open_manager(options_for(host, dir / "ledger"));
  CHECK_FALSE(again->catalog().find_type("X1-8Q"));
  CHECK(again->catalog().find_type("A16-4Q"));
  CHECK(again->create(Request::of(type("A16-4Q"), 1)));
}

TEST_CASE("apply is idempotent, rolls back a failure and prunes on request", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  auto m = open_manager(options_for(host, ledger));
  const Uuid named = Uuid::generate();
  auto state = parse_host_state(R"({"vgpus":[
      {"type":"A16-2Q","count":3,"gpu":"0000:41:00.0"},
      {"type":"L40S-12Q","count":2,"model":"L40S"},
      {"type":"A16-4Q","uuid":")" + named.to_string() +
                                    R"(","owner":"vm-7"}]})",
                                "state.json")
                   .value();
  SECTION("twice changes nothing the second time") {
    auto first = m->apply(state);
    REQUIRE(first);
    CHECK(first->created.size() == 6);
    CHECK(first->kept.empty());
    auto second = m->apply(state);
    REQUIRE(second);
    CHECK(second->created.empty());
    CHECK(second->kept.size() == 6);
    CHECK(second->extra.empty());
    CHECK(uuids_of(m->instances().value()).count(named) == 1);
    CHECK(m->definitions().value().size() == 6);
    CHECK(problems(*m, host).empty());
  }
  SECTION("dry_run reports without creating") {
    ApplyOptions dry;
    dry.dry_run = true;
    auto plan = m->apply(state, dry);
    REQUIRE(plan);
    CHECK(plan->created.size() == 6);
    CHECK(m->instances().value().empty());
    CHECK(open_host(host)->instances().value().empty());
    CHECK_FALSE(std::filesystem::exists(m->definitions_path()));
  }
  SECTION("prune destroys what the state does not name; without it they are extra") {
    Request rq = Request::of(type("A16-16Q"), 1);
    rq.constraints.allowed = {m->gpu_index(*PciAddress::parse("0000:44:00.0")).value()};
    auto extra = m->create(rq).value();
    auto kept = m->apply(state);
    REQUIRE(kept);
    REQUIRE(kept->extra.size() == 1);
    CHECK(kept->extra[0].uuid == extra[0].uuid);
    ApplyOptions prune;
    prune.prune = true;
    ApplyOptions dry_prune = prune;
    dry_prune.dry_run = true;
    auto would = m->apply(state, dry_prune).value();
    CHECK(would.destroyed.size() == 1);
    CHECK(uuids_of(m->instances().value()).count(extra[0].uuid) == 1);
    auto pruned = m->apply(state, prune);
    REQUIRE(pruned);
    REQUIRE(pruned->destroyed.size() == 1);
    CHECK(pruned->destroyed[0].uuid == extra[0].uuid);
    CHECK(pruned->extra.empty());
    CHECK(m->instances().value().size() == 6);
    CHECK(problems(*m, host).empty());
  }
  SECTION("a failure part-way undoes this run's creations and says so") {
    auto before = m->create(Request::of(type("A16-16Q"), 1)).value();  // kept by the A16-16Q entry
    auto too_much = parse_host_state(R"({"vgpus":[
        {"type":"L40S-12Q","count":2,"model":"L40S"},
        {"type":"A16-16Q","count":5}]})",
                                     "state.json")
                        .value();
    auto failed = m->apply(too_much);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code() == Errc::no_capacity);
    INFO(failed.error().message());
    CHECK(failed.error().message().find("vgpus[1] (A16-16Q)") != std::string::npos);
    CHECK(failed.error().message().find("undone (5 created, 0 destroyed)") != std::string::npos);
    CHECK(uuids_of(m->instances().value()) == uuids_of(before));
    CHECK(problems(*m, host).empty());
  }
}

TEST_CASE("apply says so when it cannot undo what it created", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  auto [m, backend] = open_scripted(host, dir / "ledger");
  backend->fail_create_after = 2;
  auto state =
      parse_host_state(R"({"vgpus":[{"type":"A16-2Q","count":3,"gpu":"0000:41:00.0"}]})", "s")
          .value();
  backend->fail_destroy = true;
  auto failed = m->apply(state);
  REQUIRE_FALSE(failed);
  INFO(failed.error().message());
  CHECK(failed.error().message().find("the host is as it was") == std::string::npos);
  CHECK(failed.error().message().find("could not undo 2") != std::string::npos);
  // What the ledger says is what the backend has.
  CHECK(m->instances().value().size() == 2);
  CHECK(problems(*m, host).empty());
}

TEST_CASE("An owner that is not UTF-8 is stored, never thrown on", "[manager]") {
  // Found by fuzzing the backends' records: writing such an owner as JSON threw. apply()
  // writes the definitions file (JSON), which holds it with U+FFFD for the bad bytes.
  TempDir dir;
  const auto host = make_host(dir);
  auto m = open_manager(options_for(host, dir / "ledger"));
  Request rq = Request::of(type("A16-4Q"), 1);
  rq.owner = "vm-\xff\xfe-7";
  auto made = m->create(rq);
  REQUIRE(made);
  CHECK(made->at(0).owner == rq.owner);
  HostState state;  // the vGPU above (kept) and a new one
  DesiredVgpus kept;
  kept.type = "A16-4Q";
  kept.uuid = made->at(0).uuid;
  kept.owner = rq.owner;
  DesiredVgpus fresh;
  fresh.type = "A16-2Q";
  fresh.owner = "vm-\xff-8";
  state.vgpus = {kept, fresh};
  auto applied = m->apply(state);
  INFO((applied ? std::string() : applied.error().message()));
  REQUIRE(applied);
  auto defined = m->definitions();
  REQUIRE(defined);
  std::set<std::string> owners;
  for (const auto& d : *defined)
    owners.insert(d.owner);
  CHECK(owners == std::set<std::string>{"vm-\xef\xbf\xbd-8", "vm-\xef\xbf\xbd\xef\xbf\xbd-7"});
}

TEST_CASE("restore re-creates the definitions after a reboot", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  std::vector<VgpuRecord> made;
  {
    auto m = open_manager(options_for(host, ledger));
    auto state = parse_host_state(R"({"vgpus":[
        {"type":"A16-4Q","count":3,"gpu":"0000:42:00.0"},
        {"type":"L40S-8Q","count":2,"model":"L40S","owner":"vm-9"}]})",
                                  "state.json")
                     .value();
    auto applied = m->apply(state);
    REQUIRE(applied);
    made = applied->created;
    REQUIRE(made.size() == 5);
    CHECK(m->definitions_path() == std::filesystem::path(ledger.string() + ".definitions.json"));
  }
  // The reboot: the GPUs come back without their vGPUs.
  write_file(host, default_host_json);
  auto m = open_manager(options_for(host, ledger));
  std::size_t vanished = 0;
  for (const auto& a : m->open_reconcile().actions)
    vanished += a.kind == ReconcileReport::Action::Kind::released_vanished ? 1 : 0;
  CHECK(vanished == 5);
  CHECK(m->instances().value().empty());
  auto restored = m->restore();
  REQUIRE(restored);
  CHECK(restored->created.size() == 5);
  std::map<Uuid, VgpuRecord> now;
  for (const auto& r : m->instances().value())
    now[r.uuid] = r;
  REQUIRE(now.size() == 5);
  for (const auto& r : made) {
    INFO(r.uuid.to_string());
    REQUIRE(now.count(r.uuid));
    CHECK(now[r.uuid].gpu == r.gpu);
    CHECK(now[r.uuid].type_name == r.type_name);
    CHECK(now[r.uuid].placement == r.placement);
    CHECK(now[r.uuid].owner == r.owner);
  }
  CHECK(problems(*m, host).empty());
  // Restoring again creates nothing.
  CHECK(m->restore().value().created.empty());
}

TEST_CASE("A corrupted ledger is rebuilt from the backend", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto ledger = dir / "ledger";
  std::vector<VgpuRecord> made;
  {
    auto m = open_manager(options_for(host, ledger));
    made = m->create(Request::of(type("A16-8Q"), 3)).value();
  }
  std::string bytes = read_file(ledger);
  bytes[ledger::records_offset + 30] ^= 0x11;
  write_file(ledger, bytes);
  std::vector<std::string> log;
  auto o = options_for(host, ledger);
  o.logger = [&](LogLevel, std::string_view msg) { log.emplace_back(msg); };
  auto m = open_manager(std::move(o));
  CHECK_FALSE(m->ledger_report().corruption.empty());
  CHECK(std::filesystem::exists(m->ledger_report().kept_aside));
  REQUIRE(m->open_reconcile().actions.size() == 3);
  for (const auto& a : m->open_reconcile().actions)
    CHECK(a.kind == ReconcileReport::Action::Kind::adopted);
  std::map<Uuid, VgpuRecord> now;
  for (const auto& r : m->instances().value())
    now[r.uuid] = r;
  for (const auto& r : made) {
    REQUIRE(now.count(r.uuid));
    CHECK(now[r.uuid].gpu == r.gpu);
    CHECK(now[r.uuid].placement == r.placement);
    CHECK(now[r.uuid].type_name == r.type_name);
  }
  bool logged = false;
  for (const auto& l : log)
    logged = logged || l.find("was corrupted") != std::string::npos;
  CHECK(logged);
  CHECK(problems(*m, host).empty());
}

TEST_CASE("A ledger that belongs to another host is refused", "[manager]") {
  TempDir dir;
  const auto host = make_host(dir);
  const auto other =
      make_host(dir, R"({"gpus":[{"model":"A16","address":"0000:81:00.0"}]})", "other.json");
  const auto ledger = dir / "ledger";
  {
    auto m = open_manager(options_for(host, ledger));
    REQUIRE(m->create(Request::of(type("A16-2Q"), 1)));
  }
  auto m = Manager::open(options_for(other, ledger));
  REQUIRE_FALSE(m);
  CHECK(m.error().code() == Errc::conflict);
  CHECK(m.error().message().find("belongs to another host") != std::string::npos);
  CHECK(records_of(ledger).size() == 1);
}

TEST_CASE("reconcile adopts more vGPUs than one commit holds", "[manager]") {
  TempDir dir;
  // 40 A16 GPUs with sixteen 1Q vGPUs each: 640 vGPUs the ledger does not know.
  std::string json = R"({"gpus":[{"model":"A16","count":40}],"vgpus":[)";
  for (std::uint32_t g = 0; g < 40; ++g)
    for (std::uint32_t s = 0; s < 16; ++s) {
      char gpu[16];
      std::snprintf(gpu, sizeof gpu, "0000:%02x:00.0", 0x41 + g);
      json += std::string(g + s ? "," : "") + R"({"uuid":")" +
              numbered_uuid(200 + g, s).to_string() + R"(","type":"A16-1Q","gpu":")" + gpu +
              R"(","placement":)" + std::to_string(s) + "}";
    }
  json += "]}";
  const auto host = make_host(dir, json);
  auto m = open_manager(options_for(host, dir / "ledger"));
  CHECK(m->open_reconcile().actions.size() == 640);
  CHECK(m->instances().value().size() == 640);
  CHECK(m->snapshot().value().vgpu_count() == 640);
  CHECK(problems(*m, host).empty());
  CHECK(m->reconcile().value().actions.empty());
}
