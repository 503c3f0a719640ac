// HostLedger: commits, reopening, growth, deltas, the file format, corruption, security and
// crash points (the crash tests kill a real child process inside its commit).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <set>

#include "ledger/layout.hpp"
#include "ledger_test_util.hpp"

using namespace vgpu;
using namespace vgpu::test;

namespace {

HostLedger open_at(const std::filesystem::path& path) {
  LedgerOptions o;
  o.path = path;
  auto l = HostLedger::open(o);
  INFO(path.string());
  REQUIRE(l);
  return std::move(*l);
}

Result<void> put_all(HostLedger& l, const std::vector<VgpuRecord>& records) {
  return l.transact([&](LedgerTransaction& t) -> Result<void> {
    for (const auto& r : records)
      if (auto ok = t.put(r); !ok) return ok;
    return {};
  });
}

std::vector<VgpuRecord> numbered(std::uint32_t a, std::uint32_t n) {
  std::vector<VgpuRecord> out;
  for (std::uint32_t i = 0; i < n; ++i)
    out.push_back(numbered_record(a, i));
  return out;
}

std::set<Uuid> uuids_of(const std::vector<VgpuRecord>& records) {
  std::set<Uuid> out;
  for (const auto& r : records)
    out.insert(r.uuid);
  return out;
}

void flip_byte(const std::filesystem::path& path, std::size_t offset) {
  std::string bytes = read_file(path);
  REQUIRE(offset < bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
  write_file(path, bytes);
}

template <class T>
void poke(const std::filesystem::path& path, std::size_t offset, T value) {
  std::string bytes = read_file(path);
  REQUIRE(offset + sizeof value <= bytes.size());
  std::memcpy(bytes.data() + offset, &value, sizeof value);
  write_file(path, bytes);
}

std::vector<std::filesystem::path> corrupt_copies(const TempDir& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().filename().string().find(".corrupt-") != std::string::npos)
      out.push_back(e.path());
  return out;
}

}  // namespace

// ---- commits ------------------------------------------------------------------------------

TEST_CASE("A transaction commits all of its changes or none", "[ledger]") {
  auto l = HostLedger::open({}).value();
  auto failed = l.transact([&](LedgerTransaction& t) -> Result<void> {
    REQUIRE(t.put(numbered_record(1, 0)));
    REQUIRE(t.put(numbered_record(1, 1)));
    CHECK(t.staged() == 2);
    CHECK(t.records().size() == 2);  // the transaction sees what it staged
    return fail(Errc::busy, "changed my mind");
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code() == Errc::busy);
  CHECK(failed.error().message() == "changed my mind");
  CHECK(l.records().value().empty());
  CHECK(l.commits().value() == 0);

  REQUIRE(put_all(l, numbered(1, 2)));
  CHECK(l.records().value().size() == 2);
  CHECK(l.commits().value() == 1);

  // Bad records are refused when staged; the rest of the transaction is not committed.
  auto bad = l.transact([&](LedgerTransaction& t) -> Result<void> {
    REQUIRE(t.erase(numbered_uuid(1, 0)));
    VgpuRecord r = numbered_record(2, 0);
    r.owner = std::string(max_record_owner + 1, 'x');
    return t.put(r);
  });
  CHECK(bad.error().code() == Errc::invalid_argument);
  CHECK(bad.error().message().find("owner is 72 bytes") != std::string::npos);
  CHECK(l.records().value().size() == 2);
  auto missing = l.transact([](LedgerTransaction& t) { return t.erase(numbered_uuid(9, 9)); });
  CHECK(missing.error().code() == Errc::not_found);
  CHECK(l.check());
}

TEST_CASE("Records survive closing and reopening the ledger, field for field", "[ledger]") {
  TempDir dir;
  const auto path = dir / "ledger";
  std::vector<VgpuRecord> written = numbered(7, 3);
  written[1].state = VgpuState::reserved;
  written[1].vm_uuid = Uuid::generate();
  written[2].state = VgpuState::releasing;
  written[2].owner = std::string(max_record_owner, 'o');
  written[2].device = std::string(max_record_device, 'd');
  {
    auto l = open_at(path);
    CHECK(l.open_report().created);
    CHECK(l.path() == path);
    REQUIRE(put_all(l, written));
    REQUIRE(l.transact([](LedgerTransaction& t) {
      return t.set_gpus({{*PciAddress::parse("0000:41:00.0"), "A16", GpuMode::equal_size},
                         {*PciAddress::parse("0000:45:00.0"), "L40S", GpuMode::mixed_size}});
    }));
  }
  auto l = open_at(path);
  CHECK_FALSE(l.open_report().created);
  CHECK_FALSE(l.open_report().replayed_journal);
  CHECK(l.open_report().corruption.empty());
  CHECK(l.commits().value() == 2);
  auto read = l.records().value();
  REQUIRE(read.size() == written.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    INFO(i);
    CHECK(read[i].uuid == written[i].uuid);
    CHECK(read[i].gpu == written[i].gpu);
    CHECK(read[i].type_name == written[i].type_name);
    CHECK(read[i].placement == written[i].placement);
    CHECK(read[i].state == written[i].state);
    CHECK(read[i].owner == written[i].owner);
    CHECK(read[i].vm_uuid == written[i].vm_uuid);
    CHECK(read[i].process == written[i].process);
    CHECK(read[i].device == written[i].device);
    CHECK(read[i].created_at == written[i].created_at);
    CHECK(read[i].updated_at == written[i].updated_at);
  }
  std::vector<LedgerGpu> gpus;
  REQUIRE(l.transact([&](LedgerTransaction& t) -> Result<void> {
    gpus = t.gpus();
    return {};
  }));
  REQUIRE(gpus.size() == 2);
  CHECK(gpus[1].model == "L40S");
  CHECK(gpus[1].mode == GpuMode::mixed_size);
  CHECK(l.check());
}

TEST_CASE("The ledger grows past its initial 256 record slots", "[ledger]") {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto l = open_at(path);
    const auto initial = std::filesystem::file_size(path);
    CHECK(initial == ledger::file_size_for(ledger::initial_capacity));
    REQUIRE(put_all(l, numbered(1, 300)));
    REQUIRE(put_all(l, numbered(2, 500)));
    CHECK(std::filesystem::file_size(path) > initial);
    // One commit holds at most 512 changes.
    auto too_many = put_all(l, numbered(3, 513));
    CHECK(too_many.error().code() == Errc::no_capacity);
    CHECK(l.records().value().size() == 800);
    CHECK(l.check());
  }
  auto l = open_at(path);
  CHECK(l.records().value().size() == 800);
  CHECK(l.check());
  // Freed slots are reused.
  REQUIRE(l.transact([](LedgerTransaction& t) -> Result<void> {
    for (std::uint32_t i = 0; i < 300; ++i)
      if (auto ok = t.erase(numbered_uuid(1, i)); !ok) return ok;
    return {};
  }));
  const auto size = std::filesystem::file_size(path);
  REQUIRE(put_all(l, numbered(4, 300)));
  CHECK(std::filesystem::file_size(path) == size);
  CHECK(l.records().value().size() == 800);
  // Changes to existing records count against the journal too: erasing or rewriting 600
  // records in one commit is refused, and nothing of it happens.
  auto erase_many = l.transact([](LedgerTransaction& t) -> Result<void> {
    for (std::uint32_t i = 0; i < 500; ++i)
      if (auto ok = t.erase(numbered_uuid(2, i)); !ok) return ok;
    for (std::uint32_t i = 0; i < 100; ++i)
      if (auto ok = t.erase(numbered_uuid(4, i)); !ok) return ok;
    return {};
  });
  CHECK(erase_many.error().code() == Errc::no_capacity);
  auto rewrite_many = put_all(l, numbered(2, 500));  // 500 rewrites fit
  CHECK(rewrite_many);
  auto rewrite_more = l.transact([](LedgerTransaction& t) -> Result<void> {
    for (const auto& r : numbered(2, 500))
      if (auto ok = t.put(r); !ok) return ok;
    for (const auto& r : numbered(4, 13))
      if (auto ok = t.put(r); !ok) return ok;
    return {};
  });
  CHECK(rewrite_more.error().code() == Errc::no_capacity);
  CHECK(l.records().value().size() == 800);
  CHECK(l.check());
}

TEST_CASE("A handle's delta says what other handles changed", "[ledger]") {
  TempDir dir;
  const auto path = dir / "ledger";
  auto a = open_at(path);
  REQUIRE(put_all(a, numbered(1, 2)));
  auto b = open_at(path);
  auto delta_of = [](HostLedger& l) {
    LedgerDelta d;
    REQUIRE(l.transact([&](LedgerTransaction& t) -> Result<void> {
      d = t.delta();
      return {};
    }));
    return d;
  };
  // The first look is full: it holds every record.
  auto d = delta_of(b);
  CHECK(d.full);
  CHECK(uuids_of(d.upserted) == uuids_of(numbered(1, 2)));

  REQUIRE(put_all(a, {numbered_record(1, 2), numbered_record(1, 3)}));
  d = delta_of(b);
  CHECK_FALSE(d.full);
  CHECK(d.removed.empty());
  CHECK(uuids_of(d.upserted) == std::set<Uuid>{numbered_uuid(1, 2), numbered_uuid(1, 3)});
  CHECK_FALSE(d.gpus_changed);

  REQUIRE(a.transact([](LedgerTransaction& t) -> Result<void> {
    if (auto ok = t.erase(numbered_uuid(1, 0)); !ok) return ok;
    VgpuRecord r = numbered_record(1, 1);
    r.state = VgpuState::releasing;
    return t.put(r);
  }));
  d = delta_of(b);
  CHECK_FALSE(d.full);
  CHECK(d.removed == std::vector<Uuid>{numbered_uuid(1, 0)});
  REQUIRE(d.upserted.size() == 1);
  CHECK(d.upserted[0].uuid == numbered_uuid(1, 1));
  CHECK(d.upserted[0].state == VgpuState::releasing);

  // A handle does not see its own commits as changes.
  CHECK(delta_of(a).upserted.empty());
  CHECK(delta_of(b).upserted.empty());

  REQUIRE(a.transact([](LedgerTransaction& t) {
    return t.set_gpus({{*PciAddress::parse("0000:41:00.0"), "A16", GpuMode::equal_size}});
  }));
  CHECK(delta_of(b).gpus_changed);

  // More changes than the change ring remembers: b gets everything again.
  REQUIRE(put_all(a, numbered(2, 400)));
  REQUIRE(put_all(a, numbered(3, 400)));
  d = delta_of(b);
  CHECK(d.full);
  CHECK(d.upserted.size() == a.records().value().size());
}

TEST_CASE("A private ledger lives in memory and is not shared", "[ledger]") {
  auto a = HostLedger::open({}).value();
  auto b = HostLedger::open({}).value();
  CHECK(a.path().empty());
  CHECK(a.open_report().created);
  REQUIRE(put_all(a, numbered(1, 3)));
  CHECK(a.records().value().size() == 3);
  CHECK(b.records().value().empty());
  CHECK(a.check());
  HostLedger moved = std::move(a);
  CHECK(moved.records().value().size() == 3);
}

TEST_CASE("check() finds a record corrupted under an open handle", "[ledger]") {
  TempDir dir;
  const auto path = dir / "ledger";
  auto l = open_at(path);
  REQUIRE(put_all(l, numbered(1, 3)));
  REQUIRE(l.check());
  flip_byte(path, ledger::records_offset + 1 * ledger::record_size + 40);
  auto bad = l.check();
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == Errc::io_error);
  CHECK(bad.error().message().find("record slot 1: checksum mismatch") != std::string::npos);
}

TEST_CASE("A path naming a directory is refused", "[ledger]") {
  LedgerOptions o;
  o.path = "/tmp/";
  CHECK(HostLedger::open(o).error().code() == Errc::invalid_argument);
}

TEST_CASE("The default ledger path comes from VGPU_LEDGER when set", "[ledger]") {
  const char* old = std::getenv("VGPU_LEDGER");
  const std::string saved = old ? old : "";
  ::setenv("VGPU_LEDGER", "/tmp/elsewhere/ledger", 1);
  CHECK(HostLedger::default_path() == "/tmp/elsewhere/ledger");
  ::setenv("VGPU_LEDGER", "", 1);
  CHECK(HostLedger::default_path() == "/run/vgpu/ledger");
  if (old)
    ::setenv("VGPU_LEDGER", saved.c_str(), 1);
  else
    ::unsetenv("VGPU_LEDGER");
}

// ---- the file format ------------------------------------------------------------------------

TEST_CASE("A ledger of a newer format version is refused and left untouched", "[ledger][format]") {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto l = open_at(path);
    REQUIRE(put_all(l, numbered(1, 2)));
  }
  poke<std::uint32_t>(path, offsetof(ledger::Header, format_version), 2);
  const std::string before = read_file(path);
  LedgerOptions o;
  o.path = path;
  auto l = HostLedger::open(o);
  REQUIRE_FALSE(l);
  CHECK(l.error().code() == Errc::version_mismatch);
  CHECK(l.error().message().find("format version 2, written by a newer vgpu") != std::string::npos);
  CHECK(read_file(path) == before);
  CHECK(corrupt_copies(dir).empty());

  poke<std::uint32_t>(path, offsetof(ledger::Header, format_version), 0);
  l = HostLedger::open(o);
  CHECK(l.error().code() == Errc::version_mismatch);
  CHECK(l.error().message().find("format version 0") != std::string::npos);
  CHECK(corrupt_copies(dir).empty());
}

TEST_CASE("A file that is not a ledger is refused and left untouched", "[ledger][format]") {
  TempDir dir;
  const auto path = dir / "ledger";
  LedgerOptions o;
  o.path = path;
  for (const std::string& text :
       {std::string("hello, world\n"), std::string(300000, 'x'), std::string("VGPUXXXXXXXXXXXX")}) {
    INFO(text.size());
    write_file(path, text);
    ::chmod(path.c_str(), 0600);
    auto l = HostLedger::open(o);
    REQUIRE_FALSE(l);
    CHECK(l.error().code() == Errc::invalid_argument);
    CHECK(l.error().message().find("is not a vgpu ledger") != std::string::npos);
    CHECK(read_file(path) == text);
    CHECK(corrupt_copies(dir).empty());
  }
}

TEST_CASE("A corrupted ledger is moved aside and replaced by an empty one", "[ledger][format]") {
  struct Case {
    const char* what;
    std::size_t offset;
    const char* reported;
  };
  const Case cases[] = {
      {"a record", ledger::records_offset + 2 * ledger::record_size + 20, "record slot 2"},
      {"a record's checksum", ledger::records_offset + offsetof(ledger::RecordImage, checksum),
       "record slot 0"},
      {"the header", offsetof(ledger::Header, created_ns), "header checksum mismatch"},
      {"the GPU table", ledger::gpu_table_offset + 10, "GPU table slot 0"},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      TempDir dir;
      const auto path = dir / "ledger";
      {
        auto l = open_at(path);
        REQUIRE(put_all(l, numbered(1, 4)));
        REQUIRE(l.transact([](LedgerTransaction& t) {
          return t.set_gpus({{*PciAddress::parse("0000:41:00.0"), "A16", GpuMode::equal_size}});
        }));
      }
      flip_byte(path, c.offset);
      const std::string damaged = read_file(path);
      auto l = open_at(path);
      const auto& report = l.open_report();
      CHECK(report.created);
      INFO(report.corruption);
      CHECK(report.corruption.find(c.reported) != std::string::npos);
      REQUIRE(std::filesystem::exists(report.kept_aside));
      CHECK(report.kept_aside.string().rfind(path.string() + ".corrupt-", 0) == 0);
      // Kept as found, but for the flag that tells handles still mapping it to reopen.
      std::string kept = read_file(report.kept_aside);
      REQUIRE(kept.size() == damaged.size());
      CHECK(kept[offsetof(ledger::Header, retired)] == 1);
      kept[offsetof(ledger::Header, retired)] = 0;
      CHECK((kept == damaged));
      CHECK(corrupt_copies(dir).size() == 1);
      CHECK(l.records().value().empty());
      CHECK(l.check());
      // The new file is a good ledger: the next open finds nothing wrong.
      auto again = open_at(path);
      CHECK(again.open_report().corruption.empty());
      CHECK_FALSE(again.open_report().created);
    }
  }
}

TEST_CASE("A retired ledger back at its path is moved aside again", "[ledger][format]") {
  // A process that finds a ledger corrupted marks it retired and renames it aside. A retired
  // file at the path (the rename failed, or someone put the kept copy back) used to open and
  // then fail every call with "retired" (a fuzzing finding); now it is treated as corrupted.
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto l = open_at(path);
    REQUIRE(put_all(l, numbered(1, 3)));
  }
  flip_byte(path, offsetof(ledger::Header, retired));  // 0 -> nonzero
  auto l = open_at(path);
  const auto& report = l.open_report();
  INFO(report.corruption);
  CHECK(report.corruption.find("retired") != std::string::npos);
  CHECK(report.created);
  CHECK(std::filesystem::exists(report.kept_aside));
  CHECK(l.records().value().empty());
  CHECK(l.check());
}

TEST_CASE("Records past the capacity the header claims make the ledger corrupted",
          "[ledger][format]") {
  // The capacity is not covered by the header's checksum (commits change it). Lowered by
  // damage, it hid the records past it until a commit grew the area over them again, and two
  // handles then disagreed on the records (a fuzzing finding). Now the file is moved aside.
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto l = open_at(path);
    REQUIRE(put_all(l, numbered(1, ledger::initial_capacity + 4)));  // grown to twice the first
  }
  poke<std::uint64_t>(path, offsetof(ledger::Header, capacity), ledger::initial_capacity - 1);
  auto l = open_at(path);
  const auto& report = l.open_report();
  INFO(report.corruption);
  CHECK(report.corruption.find("record slots past the capacity the header claims (255) hold "
                               "data") != std::string::npos);
  CHECK(report.created);
  CHECK(std::filesystem::exists(report.kept_aside));
  CHECK(l.records().value().empty());
  CHECK(l.check());
}

TEST_CASE("A file grown past its capacity with free slots opens as it is", "[ledger][format]") {
  // What a process killed between growing the file and raising the capacity leaves behind.
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto l = open_at(path);
    REQUIRE(put_all(l, numbered(1, 3)));
  }
  std::filesystem::resize_file(path, ledger::file_size_for(2 * ledger::initial_capacity));
  auto l = open_at(path);
  CHECK(l.open_report().corruption.empty());
  CHECK_FALSE(l.open_report().created);
  CHECK(l.records().value().size() == 3);
  CHECK(l.check());
  REQUIRE(put_all(l, numbered(2, ledger::initial_capacity)));  // grows over the free slots
  CHECK(l.records().value().size() == 3 + ledger::initial_capacity);
  CHECK(l.check());
  auto again = open_at(path);
  CHECK(again.open_report().corruption.empty());
  CHECK(again.records().value().size() == 3 + ledger::initial_capacity);
}

TEST_CASE("A truncated ledger is moved aside, and an empty file becomes a ledger",
          "[ledger][format]") {
  for (const std::size_t size :
       {std::size_t{100}, std::size_t{5000}, ledger::records_offset + 10}) {
    INFO(size);
    TempDir dir;
    const auto path = dir / "ledger";
    {
      auto l = open_at(path);
      REQUIRE(put_all(l, numbered(1, 4)));
    }
    std::filesystem::resize_file(path, size);
    auto l = open_at(path);
    CHECK(l.open_report().corruption.find("") == 0);
    CHECK_FALSE(l.open_report().corruption.empty());
    CHECK(corrupt_copies(dir).size() == 1);
    CHECK(l.check());
  }
  TempDir dir;
  const auto path = dir / "ledger";
  write_file(path, "");
  ::chmod(path.c_str(), 0600);
  auto l = open_at(path);
  CHECK(l.open_report().created);
  CHECK(l.open_report().corruption.empty());
  CHECK(l.check());
}

TEST_CASE("Processes that open a corrupted ledger at once move it aside once",
          "[ledger][format][multiprocess]") {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto l = open_at(path);
    REQUIRE(put_all(l, numbered(1, 4)));
  }
  flip_byte(path, ledger::records_offset + 20);
  std::vector<Child> children;
  for (int i = 0; i < 6; ++i)
    children.emplace_back(std::vector<std::string>{"open", path.string()},
                          std::vector<std::string>{}, true);
  ::usleep(100000);  // let them all start and block on their stdin
  for (auto& c : children)
    c.close_stdin();
  int corrupt = 0;
  for (auto& c : children) {
    auto out = c.lines();
    REQUIRE(exited_ok(c.wait()));
    REQUIRE(out.size() == 1);
    corrupt += out[0] == "corrupt" ? 1 : 0;
  }
  CHECK(corrupt == 1);
  CHECK(corrupt_copies(dir).size() == 1);
  auto l = open_at(path);
  CHECK(l.open_report().corruption.empty());
  CHECK(l.check());
}

// ---- security -------------------------------------------------------------------------------

TEST_CASE("A symlink at the ledger path is refused", "[ledger][security]") {
  TempDir dir;
  { auto real = open_at(dir / "real"); }
  std::filesystem::create_symlink(dir / "real", dir / "ledger");
  LedgerOptions o;
  o.path = dir / "ledger";
  auto l = HostLedger::open(o);
  REQUIRE_FALSE(l);
  CHECK(l.error().code() == Errc::permission_denied);
  CHECK(l.error().message().find("symbolic link") != std::string::npos);
  // A dangling link is refused too (and no file is created through it).
  std::filesystem::create_symlink(dir / "nowhere", dir / "dangling");
  o.path = dir / "dangling";
  CHECK(HostLedger::open(o).error().code() == Errc::permission_denied);
  CHECK_FALSE(std::filesystem::exists(dir / "nowhere"));
}

TEST_CASE("A ledger owned by another user or writable by others is refused", "[ledger][security]") {
  TempDir dir;
  const auto path = dir / "ledger";
  { auto l = open_at(path); }
  LedgerOptions o;
  o.path = path;
  ::chmod(path.c_str(), 0666);
  auto l = HostLedger::open(o);
  REQUIRE_FALSE(l);
  CHECK(l.error().code() == Errc::permission_denied);
  CHECK(l.error().message().find("writable by every user") != std::string::npos);
  ::chmod(path.c_str(), 0600);
  REQUIRE(HostLedger::open(o));
  if (::geteuid() != 0) {
    WARN("not root: cannot give a file to another user; skipping that part");
    return;
  }
  REQUIRE(::chown(path.c_str(), 12345, 12345) == 0);
  l = HostLedger::open(o);
  REQUIRE_FALSE(l);
  CHECK(l.error().code() == Errc::permission_denied);
  CHECK(l.error().message().find("belongs to uid 12345") != std::string::npos);
}

TEST_CASE("A ledger directory others can write to is refused unless sticky", "[ledger][security]") {
  TempDir dir;
  const auto shared = dir / "shared";
  std::filesystem::create_directory(shared);
  ::chmod(shared.c_str(), 0777);
  LedgerOptions o;
  o.path = shared / "ledger";
  auto l = HostLedger::open(o);
  REQUIRE_FALSE(l);
  CHECK(l.error().code() == Errc::permission_denied);
  CHECK(l.error().message().find("writable by every user") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(o.path));
  ::chmod(shared.c_str(), 01777);  // like /tmp
  CHECK(HostLedger::open(o));
  if (::geteuid() == 0) {
    const auto theirs = dir / "theirs";
    std::filesystem::create_directory(theirs);
    REQUIRE(::chown(theirs.c_str(), 12345, 12345) == 0);
    o.path = theirs / "ledger";
    l = HostLedger::open(o);
    CHECK(l.error().code() == Errc::permission_denied);
    CHECK(l.error().message().find("belongs to uid 12345") != std::string::npos);
  }
}

TEST_CASE("New ledgers are 0600 in 0700 directories, or 0660/0770 for a group",
          "[ledger][security]") {
  TempDir dir;
  const mode_t old_umask = ::umask(0);  // the modes must not depend on the umask
  LedgerOptions o;
  o.path = dir / "new" / "ledger";
  auto l = HostLedger::open(o);
  ::umask(old_umask);
  REQUIRE(l);
  struct stat st {};
  REQUIRE(::stat(o.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat((dir / "new").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);

  const gid_t group = ::geteuid() == 0 ? 12345 : ::getegid();
  o.path = dir / "grp" / "ledger";
  o.group = group;
  REQUIRE(HostLedger::open(o));
  REQUIRE(::stat(o.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0660);
  CHECK(st.st_gid == group);
  REQUIRE(::stat((dir / "grp").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0770);
  CHECK(st.st_gid == group);

  // Through the Manager's option too.
  const auto host = make_host(dir);
  auto mo = options_for(host, dir / "mgr" / "ledger");
  mo.ledger_group = group;
  REQUIRE(Manager::open(std::move(mo)));
  REQUIRE(::stat((dir / "mgr" / "ledger").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0660);
}

// ---- crash points ---------------------------------------------------------------------------

TEST_CASE("A commit killed at any protocol point leaves all of it or none of it",
          "[ledger][crash][multiprocess]") {
  for (int point = 1; point <= 3; ++point) {
    for (const long per : {5L, 200L}) {  // 200 per commit: commits 2 and 3 grow the file
      INFO("point " << point << ", " << per << " records per commit");
      TempDir dir;
      const auto path = dir / "ledger";
      // A handle opened before the crash, still mapping the file at its old size.
      auto early = open_at(path);
      Child child({"commit", path.string(), "4", std::to_string(per)},
                  {"VGPU_TEST_CRASH=" + std::to_string(point) + ":3"});
      const auto out = child.lines();
      const int status = child.wait();
      CHECK(killed_by_sigkill(status));
      CHECK(out == std::vector<std::string>{"ack 1", "ack 2"});
      // Commit 3 (armed at point 2) is the last one that happened, or commit 2 is.
      const std::uint32_t last = point >= 2 ? 3 : 2;
      std::set<Uuid> expected;
      for (std::uint32_t c = last - 1; c <= last; ++c)
        for (std::uint32_t i = 0; i < per; ++i)
          expected.insert(numbered_uuid(c, i));
      {
        auto l = open_at(path);
        CHECK(l.open_report().replayed_journal == (point >= 2));
        CHECK(l.open_report().corruption.empty());
        REQUIRE(l.check());
        CHECK(uuids_of(l.records().value()) == expected);
        CHECK(l.commits().value() == last);
      }
      // The early handle follows (replaying nothing twice).
      REQUIRE(early.check());
      CHECK(uuids_of(early.records().value()) == expected);
    }
  }
}

TEST_CASE("A handle mapping the old size completes a crashed commit that grew the file",
          "[ledger][crash][multiprocess]") {
  for (int point = 2; point <= 3; ++point) {
    INFO("point " << point);
    TempDir dir;
    const auto path = dir / "ledger";
    auto early = open_at(path);
    REQUIRE(early.records().value().empty());
    Child child({"commit", path.string(), "2", "200"},
                {"VGPU_TEST_CRASH=" + std::to_string(point) + ":2"});
    CHECK(child.lines() == std::vector<std::string>{"ack 1"});
    CHECK(killed_by_sigkill(child.wait()));
    // The journal is still armed: this handle replays it into the grown file.
    auto records = early.records();
    REQUIRE(records);
    CHECK(records->size() == 400);
    CHECK(early.check());
    CHECK(open_at(path).records().value().size() == 400);
  }
}
