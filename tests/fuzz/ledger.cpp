// The host ledger file (docs/ledger.md): HostLedger::open() of arbitrary bytes, and of valid
// ledgers that were truncated or damaged, in a private directory (0700) as a private file
// (0600). The file must be refused (left untouched), or moved aside and rebuilt, or opened;
// never a crash or a hang.
//
// Input: one mode byte, then the body.
//   mode % 8 == 0       raw: the file is the body, byte for byte.
//   mode % 8 == 1..7    a valid ledger (base (mode % 8 - 1) % 4: see bases()) changed by the
//                       body's operations (see apply()); mode & 0x80: recompute every
//                       checksum afterwards, so damage gets past them into the checks behind.
// Invariants: a refusal (not a ledger, another format) leaves the file as it was; a file moved
// aside keeps its bytes and the new ledger is empty; an opened ledger passes check(), its
// records are well-formed and unique, take a commit (every record written back, one added,
// one erased), and a second handle then sees exactly the first one's records.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "ledger/layout.hpp"
#include "vgpu/ledger.hpp"

namespace {

namespace fs = std::filesystem;
using Image = std::vector<std::uint8_t>;
using namespace vgpu;

// The private directory every input's ledger lives in, removed at exit: under $TMPDIR, else
// /dev/shm, else /tmp. tmpfs first because that is where the default ledger lives
// (/run/vgpu), and because a disk file system's write path was a third of each input's time.
struct Workspace {
  fs::path dir;
  fs::path file;
  Workspace() {
    const char* tmp = std::getenv("TMPDIR");
    std::error_code ec;
    const std::string parent = tmp && *tmp                        ? tmp
                               : fs::is_directory("/dev/shm", ec) ? "/dev/shm"
                                                                  : "/tmp";
    std::string pattern = parent + "/vgpu-fuzz-ledger-XXXXXX";
    if (!::mkdtemp(pattern.data())) std::abort();  // mode 0700
    dir = pattern;
    file = dir / "ledger";
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void clear() const {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      fs::remove_all(e.path(), ec);
  }
  void write(const Image& bytes) const {
    clear();
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) std::abort();
    for (std::size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
};

// Reads @p path into @p bytes, reusing its storage: inputs cost a few hundred microseconds
// each, and a fresh buffer of a ledger's size per read (mapped, faulted in, unmapped by the
// sanitizer's allocator) was a fifth of that.
void read_into(const fs::path& path, Image& bytes) {
  bytes.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
  }
  ::close(fd);
}

Image read_all(const fs::path& path) {
  Image bytes;
  read_into(path, bytes);
  return bytes;
}

// The size of @p path, or -1 when it cannot be read.
long long size_of(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

Uuid uuid_number(std::uint32_t n) {
  std::array<std::uint8_t, 16> b{};
  b[0] = 0x5e;
  b[14] = static_cast<std::uint8_t>(n >> 8);
  b[15] = static_cast<std::uint8_t>(n);
  return Uuid(b);
}

VgpuRecord make_record(std::uint32_t n) {
  VgpuRecord r;
  r.uuid = uuid_number(n);
  r.gpu = PciAddress::from_parts(0, static_cast<std::uint8_t>(0x41 + n % 3), 0, 0).value();
  r.type_name = n % 2 ? "A16-4Q" : "L40S-12Q";
  r.placement = 4 * (n % 4);
  r.state = static_cast<VgpuState>(1 + n % 3);
  r.owner = "vm-" + std::to_string(n);
  if (n % 2) r.vm_uuid = uuid_number(1000 + n);
  r.process = ProcessIdentity{1000 + n, 5000 + n, 0xb007};
  r.device = "0000:41:00." + std::to_string(4 + n % 4);
  r.created_at = std::chrono::system_clock::time_point(std::chrono::seconds(1764000000 + n));
  r.updated_at = r.created_at;
  return r;
}

// A ledger made through the library with @p records records and three GPUs, as bytes.
Image build(const Workspace& ws, std::uint32_t records) {
  ws.clear();
  {
    auto ledger = HostLedger::open(LedgerOptions{ws.file, {}, false});
    if (!ledger) std::abort();
    auto ok = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
      std::vector<LedgerGpu> gpus;
      for (std::uint8_t bus : {std::uint8_t{0x41}, std::uint8_t{0x42}, std::uint8_t{0x43}})
        gpus.push_back({PciAddress::from_parts(0, bus, 0, 0).value(), "NVIDIA A16",
                        bus == 0x43 ? GpuMode::mixed_size : GpuMode::equal_size});
      if (auto g = t.set_gpus(gpus); !g) return g;
      for (std::uint32_t i = 0; i < records; ++i)
        if (auto p = t.put(make_record(i)); !p) return p;
      return {};
    });
    if (!ok) std::abort();
  }
  return read_all(ws.file);
}

// A commit that was armed but not applied (its author died at crash point 2): record slot
// 0 erased, a new record in the first free slot, the GPU table cut to one GPU.
Image with_armed_journal(Image image, std::uint32_t free_slot) {
  using namespace vgpu::ledger;
  auto& h = *reinterpret_cast<Header*>(image.data());
  auto& j = *reinterpret_cast<JournalHeader*>(image.data() + journal_offset);
  auto* e = reinterpret_cast<JournalEntry*>(image.data() + journal_offset + sizeof(JournalHeader));
  std::memset(&j, 0, sizeof j + 3 * sizeof(JournalEntry));
  RecordImage added{};
  const Uuid u = uuid_number(999);
  std::memcpy(added.uuid, u.bytes().data(), 16);
  added.gpu_bus = 0x41;
  added.state = 2;
  put_text(added.type_name, "A16-2Q");
  put_text(added.owner, "vm-journal");
  added.checksum = record_checksum(added);
  constexpr auto record_length = static_cast<std::uint32_t>(record_size);
  e[0] = JournalEntry{records_offset, record_length, 1, {}};  // slot 0 erased: all zero
  e[1] = JournalEntry{
      records_offset + std::uint64_t{free_slot} * record_size, record_length, free_slot + 1, {}};
  std::memcpy(e[1].data, &added, record_size);
  e[2] = JournalEntry{gpu_table_offset, static_cast<std::uint32_t>(gpu_slot_size), 0, {}};
  std::memcpy(e[2].data, image.data() + gpu_table_offset, gpu_slot_size);
  j.base_change_no = h.change_no;
  j.gpu_epoch = h.gpu_epoch + 1;
  j.count = 3;
  j.gpu_count = 1;
  j.checksum = journal_checksum(j, e);
  j.armed = h.commits + 1;
  return image;
}

// The valid ledgers inputs start from: empty; 3 GPUs and 6 records; the same with an armed
// journal waiting to be replayed; grown past its first capacity (260 records).
const std::vector<Image>& bases(const Workspace& ws) {
  static const std::vector<Image> all = [&] {
    std::vector<Image> b;
    b.push_back(build(ws, 0));
    b.push_back(build(ws, 6));
    b.push_back(with_armed_journal(b.back(), 6));
    b.push_back(build(ws, 260));
    ws.clear();
    return b;
  }();
  return all;
}

// The body's operations, each [op][position: 3 bytes, little-endian][length][data...]:
// op % 4 selects write (length bytes of data), truncate (the file ends at the position),
// zero (length * 16 bytes) or copy record slot (position % 256) over slot (length); op / 4 % 8
// the region the position is taken modulo: header, GPU table, journal header, journal
// entries, records, or (5-7) the whole file.
void apply(Image& image, std::string_view body, bool fix) {
  using namespace vgpu::ledger;
  std::size_t cut = image.size();
  while (body.size() >= 5) {
    const auto op = static_cast<std::uint8_t>(body[0]);
    const std::size_t pos = static_cast<std::uint8_t>(body[1]) |
                            static_cast<std::size_t>(static_cast<std::uint8_t>(body[2])) << 8 |
                            static_cast<std::size_t>(static_cast<std::uint8_t>(body[3])) << 16;
    const auto len = static_cast<std::uint8_t>(body[4]);
    body.remove_prefix(5);
    static constexpr std::size_t journal_entries = journal_offset + sizeof(JournalHeader);
    const std::size_t regions[][2] = {{0, header_size},
                                      {gpu_table_offset, journal_offset},
                                      {journal_offset, journal_entries},
                                      {journal_entries, journal_offset + journal_size},
                                      {records_offset, image.size()},
                                      {0, image.size()}};
    const auto& [from, to] = regions[std::min<std::size_t>(op / 4 % 8, 5)];
    const std::size_t at = to > from ? from + pos % (to - from) : 0;
    switch (op % 4) {
      case 0: {
        const std::size_t n = std::min<std::size_t>(len, body.size());
        for (std::size_t i = 0; i < n && at + i < image.size(); ++i)
          image[at + i] = static_cast<std::uint8_t>(body[i]);
        body.remove_prefix(n);
        break;
      }
      case 1:
        cut = std::min(cut, at);
        break;
      case 2:
        std::fill(
            image.begin() + static_cast<std::ptrdiff_t>(at),
            image.begin() + static_cast<std::ptrdiff_t>(std::min(image.size(), at + len * 16u)), 0);
        break;
      default: {
        const std::size_t slots =
            (image.size() - std::min(image.size(), records_offset)) / record_size;
        if (slots == 0) break;
        const std::size_t src = records_offset + pos % 256 % slots * record_size;
        const std::size_t dst = records_offset + len % slots * record_size;
        std::memmove(image.data() + dst, image.data() + src, record_size);
      }
    }
  }
  if (fix && image.size() >= records_offset) {
    auto& h = *reinterpret_cast<Header*>(image.data());
    h.static_checksum = crc32c(&h, static_checksum_span);
    for (std::uint32_t i = 0; i < std::min(h.gpu_count, max_gpus); ++i) {
      auto& g = *reinterpret_cast<GpuSlot*>(image.data() + gpu_table_offset + i * gpu_slot_size);
      g.checksum = gpu_checksum(g);
    }
    for (std::size_t off = records_offset; off + record_size <= image.size(); off += record_size) {
      auto& r = *reinterpret_cast<RecordImage*>(image.data() + off);
      if (r.state != 0) r.checksum = record_checksum(r);
    }
    auto& j = *reinterpret_cast<JournalHeader*>(image.data() + journal_offset);
    if (j.count <= journal_capacity)
      j.checksum = journal_checksum(
          j, reinterpret_cast<JournalEntry*>(image.data() + journal_offset + sizeof j));
  }
  image.resize(cut);
}

std::string well_formed(const VgpuRecord& r) {
  if (r.uuid.is_nil()) return "a record with the nil UUID";
  if (r.state != VgpuState::reserved && r.state != VgpuState::active &&
      r.state != VgpuState::releasing)
    return "a record in an invalid state";
  if (r.type_name.empty() || r.type_name.size() > max_record_type_name)
    return "a record with a bad type name";
  if (r.owner.size() > max_record_owner || r.device.size() > max_record_device)
    return "a record with text too long";
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Workspace ws;
  const std::vector<Image>& base = bases(ws);
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view body = fuzz::text(data + 1, size - 1);
  // Reused between inputs, like read_into()'s buffer.
  static Image image;
  static Image on_disk;
  if (mode % 8 == 0) {
    image.assign(body.begin(), body.end());
  } else {
    image = base[(mode % 8 - 1u) % base.size()];
    apply(image, body, (mode & 0x80) != 0);
  }
  ws.write(image);

  const LedgerOptions options{ws.file, {}, false};
  auto ledger = HostLedger::open(options);
  if (!ledger) {
    const Error& e = ledger.error();
    FUZZ_CHECK_ERROR(e);
    FUZZ_CHECK(e.code() == Errc::invalid_argument || e.code() == Errc::version_mismatch,
               "an unexpected refusal: " + e.message());
    read_into(ws.file, on_disk);
    FUZZ_CHECK(on_disk == image, "a refused file was changed: " + e.message());
    return 0;
  }
  const LedgerOpenReport report = ledger->open_report();
  if (!report.corruption.empty()) {
    // Kept for inspection: the same file (flagged retired, and a valid journal replayed).
    FUZZ_CHECK(report.created, "a corrupted file was moved aside but nothing replaced it");
    FUZZ_CHECK(size_of(report.kept_aside) == static_cast<long long>(image.size()),
               "the file moved aside is not the corrupted one (" + report.corruption + ")");
  }
  auto checked = ledger->check();
  FUZZ_CHECK(checked.has_value(), "an opened ledger fails check(): " + checked.error().message());
  auto records = ledger->records();
  FUZZ_CHECK(records.has_value(), "records() of an opened ledger: " + records.error().message());
  if (report.created) FUZZ_CHECK(records->empty(), "a new ledger holds records");
  std::set<Uuid> seen;
  for (const auto& r : *records) {
    const std::string bad = well_formed(r);
    FUZZ_CHECK(bad.empty(), bad + ": " + r.uuid.to_string());
    FUZZ_CHECK(seen.insert(r.uuid).second, "a UUID recorded twice: " + r.uuid.to_string());
  }

  // A commit: records written back as they are (as many as one commit holds), one added and
  // (if any) one erased.
  const VgpuRecord added = make_record(4000);
  auto committed = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
    for (std::size_t i = 0; i < records->size() && i < 500; ++i)
      if (auto ok = t.put((*records)[i]); !ok) return ok;
    if (!seen.count(added.uuid))
      if (auto ok = t.put(added); !ok) return ok;
    if (!records->empty()) return t.erase(records->front().uuid);
    return {};
  });
  FUZZ_CHECK(committed.has_value(), "a commit on an opened ledger: " + committed.error().message());
  auto after = ledger->records();
  FUZZ_CHECK(after.has_value(), "records() after a commit: " + after.error().message());

  auto second = HostLedger::open(options);
  FUZZ_CHECK(second.has_value(), "a second handle cannot open: " + second.error().message());
  FUZZ_CHECK(second->open_report().corruption.empty(),
             "a second handle finds corruption: " + second->open_report().corruption);
  auto theirs = second->records();
  FUZZ_CHECK(theirs.has_value(), "records() of a second handle: " + theirs.error().message());
  FUZZ_CHECK(theirs->size() == after->size(), "two handles see different record counts");
  for (std::size_t i = 0; i < after->size(); ++i)
    FUZZ_CHECK((*theirs)[i].uuid == (*after)[i].uuid && (*theirs)[i].state == (*after)[i].state &&
                   (*theirs)[i].owner == (*after)[i].owner,
               "two handles see different records");
  auto rechecked = second->check();
  FUZZ_CHECK(rechecked.has_value(), "check() after a commit: " + rechecked.error().message());
  return 0;
}
