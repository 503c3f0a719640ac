// HostLedger: the memory-mapped, journaled, host-wide record of vGPUs (docs/ledger.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/container/flat_map.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "ledger/layout.hpp"
#include "ledger/secure_file.hpp"
#include "vgpu/ledger.hpp"

namespace vgpu {

using namespace ledger;

namespace {

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::chrono::system_clock::time_point from_ns(std::uint64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(ns)));
}

std::uint64_t to_ns(std::chrono::system_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

Error os_error(std::string what, int err) {
  return Error(errc_for_errno(err), what + ": " + std::strerror(err), err);
}

// Test-only fault injection (docs/ledger.md): VGPU_TEST_CRASH=POINT:N kills this process
// with SIGKILL at protocol point POINT (1: journal written, 2: journal armed, 3: half
// applied) of its N-th commit. Unset in production; costs one branch per point.
// Commits are counted per process, by every handle and thread (hence atomic), and only when
// a plan is set.
struct CrashPlan {
  int point = 0;
  long commit = 0;
  std::atomic<long> commits_seen{0};
  CrashPlan() {
    if (const char* spec = std::getenv("VGPU_TEST_CRASH")) {
      char* end = nullptr;
      point = static_cast<int>(std::strtol(spec, &end, 10));
      if (end && *end == ':') commit = std::strtol(end + 1, nullptr, 10);
    }
  }
};
CrashPlan& crash_plan() {
  static CrashPlan plan;
  return plan;
}
inline void crash_point(int point) {
  const auto& p = crash_plan();
  if (p.point == point && p.commits_seen.load(std::memory_order_relaxed) == p.commit)
    ::raise(SIGKILL);
}

RecordImage free_image() {
  RecordImage r;
  std::memset(&r, 0, sizeof r);
  return r;
}

VgpuRecord decode(const RecordImage& r) {
  VgpuRecord out;
  std::array<std::uint8_t, 16> b{};
  std::memcpy(b.data(), r.uuid, 16);
  out.uuid = Uuid(b);
  if (r.has_vm_uuid) {
    std::memcpy(b.data(), r.vm_uuid, 16);
    out.vm_uuid = Uuid(b);
  }
  out.gpu = PciAddress::from_parts(r.gpu_domain, r.gpu_bus, r.gpu_device & 31, r.gpu_function & 7)
                .value();
  out.type_name = get_text(r.type_name);
  out.placement = r.placement;
  out.state = static_cast<VgpuState>(r.state);
  out.owner = get_text(r.owner);
  out.process = ProcessIdentity{r.process_pid, r.process_start, r.process_boot};
  out.device = get_text(r.device);
  out.created_at = from_ns(r.created_ns);
  out.updated_at = from_ns(r.updated_ns);
  return out;
}

Result<RecordImage> encode(const VgpuRecord& v) {
  auto too_long = [&](std::string_view field, std::size_t n, std::size_t max) {
    return fail(Errc::invalid_argument,
                "vGPU " + v.uuid.to_string() + ": " + std::string(field) + " is " +
                    std::to_string(n) + " bytes; the ledger holds at most " + std::to_string(max));
  };
  if (v.uuid.is_nil()) return fail(Errc::invalid_argument, "a vGPU record needs a non-nil UUID");
  if (v.type_name.empty() || v.type_name.size() > max_record_type_name)
    return too_long("type name", v.type_name.size(), max_record_type_name);
  if (v.owner.size() > max_record_owner) return too_long("owner", v.owner.size(), max_record_owner);
  if (v.device.size() > max_record_device)
    return too_long("device", v.device.size(), max_record_device);
  if (v.state != VgpuState::reserved && v.state != VgpuState::active &&
      v.state != VgpuState::releasing)
    return fail(Errc::invalid_argument, "vGPU " + v.uuid.to_string() + ": invalid state");
  RecordImage r = free_image();
  std::memcpy(r.uuid, v.uuid.bytes().data(), 16);
  if (v.vm_uuid) {
    r.has_vm_uuid = 1;
    std::memcpy(r.vm_uuid, v.vm_uuid->bytes().data(), 16);
  }
  r.gpu_domain = v.gpu.domain();
  r.gpu_bus = v.gpu.bus();
  r.gpu_device = v.gpu.device();
  r.gpu_function = v.gpu.function();
  r.placement = v.placement;
  r.state = static_cast<std::uint8_t>(v.state);
  put_text(r.type_name, v.type_name);
  put_text(r.owner, v.owner);
  put_text(r.device, v.device);
  r.process_pid = v.process.pid;
  r.process_start = v.process.start_time;
  r.process_boot = v.process.boot;
  r.created_ns = to_ns(v.created_at);
  r.updated_ns = to_ns(v.updated_at);
  r.checksum = record_checksum(r);
  return r;
}

// Empty if @p r is a well-formed slot, else what is wrong with it.
std::string check_slot(const RecordImage& r) {
  if (r.state == 0) return all_zero(&r, sizeof r) ? "" : "a free slot holds data";
  if (r.checksum != record_checksum(r)) return "checksum mismatch";
  if (r.state > 3) return "invalid state " + std::to_string(r.state);
  if (r.gpu_device > 31 || r.gpu_function > 7) return "invalid PCI address";
  // Writers refuse the nil UUID (encode), so a record holding it is damage (fuzzing found
  // one that passed every other check).
  if (all_zero(r.uuid, sizeof r.uuid)) return "the nil UUID";
  if (r.type_name[0] == '\0' || r.type_name[sizeof r.type_name - 1] != '\0')
    return "invalid type name";
  if (r.owner[sizeof r.owner - 1] != '\0' || r.device[sizeof r.device - 1] != '\0')
    return "unterminated text";
  return "";
}

GpuSlot encode_gpu(const LedgerGpu& g) {
  GpuSlot s;
  std::memset(&s, 0, sizeof s);
  s.domain = g.address.domain();
  s.bus = g.address.bus();
  s.device = g.address.device();
  s.function = g.address.function();
  s.mode = static_cast<std::uint8_t>(g.mode);
  put_text(s.model, g.model);
  s.checksum = gpu_checksum(s);
  return s;
}

LedgerGpu decode_gpu(const GpuSlot& s) {
  return LedgerGpu{PciAddress::from_parts(s.domain, s.bus, s.device & 31, s.function & 7).value(),
                   get_text(s.model), static_cast<GpuMode>(s.mode <= 2 ? s.mode : 0)};
}

}  // namespace

// ---------------------------------------------------------------------------------------

struct HostLedger::Impl {
  LedgerOptions options;
  std::mutex mu;
  UniqueFd fd;
  std::uint8_t* base = nullptr;
  std::size_t mapped = 0;
  LedgerOpenReport report;
  pid_t attached_by = 0;  // the process whose open file description fd is

  // What this handle knows of the records (kept in step through the change ring).
  boost::container::flat_map<Uuid, std::uint32_t> index;
  std::vector<Uuid> slot_uuid;
  std::uint64_t seen_change_no = 0;
  std::uint64_t seen_gpu_epoch = 0;
  bool synced = false;
  bool reported = false;  // a first delta (full) went out since the file was attached
  LedgerDelta delta;

  ~Impl() { unmap(); }

  Header& header() { return *reinterpret_cast<Header*>(base); }
  JournalHeader& journal() { return *reinterpret_cast<JournalHeader*>(base + journal_offset); }
  JournalEntry* entries() {
    return reinterpret_cast<JournalEntry*>(base + journal_offset + sizeof(JournalHeader));
  }
  RecordImage& slot(std::uint64_t i) {
    return *reinterpret_cast<RecordImage*>(base + records_offset + i * record_size);
  }
  GpuSlot& gpu_slot(std::uint32_t i) {
    return *reinterpret_cast<GpuSlot*>(base + gpu_table_offset + i * gpu_slot_size);
  }
  std::uint64_t capacity() const {
    return mapped > records_offset ? (mapped - records_offset) / record_size : 0;
  }
  std::string name() const {
    return options.path.empty() ? std::string("private ledger") : "ledger " + options.path.string();
  }

  void unmap() {
    if (base) ::munmap(base, mapped);
    base = nullptr;
    mapped = 0;
  }

  Result<void> map(std::size_t size) {
    unmap();
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) return os_error("cannot map the " + name(), errno);
    base = static_cast<std::uint8_t*>(p);
    mapped = size;
    return {};
  }

  Result<std::size_t> file_size() {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return os_error("cannot inspect the " + name(), errno);
    return static_cast<std::size_t>(st.st_size);
  }

  Result<void> initialize() {
    const std::size_t size = file_size_for(initial_capacity);
    if (::ftruncate(fd.get(), 0) != 0 || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
      return os_error("cannot size the " + name(), errno);
    if (auto ok = map(size); !ok) return ok;
    Header& h = header();
    h.format_version = HostLedger::format_version;
    h.header_size = static_cast<std::uint32_t>(ledger::header_size);
    h.record_size = static_cast<std::uint32_t>(ledger::record_size);
    h.gpu_slot_size = static_cast<std::uint32_t>(ledger::gpu_slot_size);
    h.max_gpus = ledger::max_gpus;
    h.journal_capacity = ledger::journal_capacity;
    h.ring_size = ledger::ring_size;
    h.created_ns = now_ns();
    h.capacity = initial_capacity;
    // The magic goes last, after the checksum that covers it: a creator killed before it
    // leaves a file open() re-initializes.
    Header copy = h;
    std::memcpy(copy.magic, ledger::magic, sizeof copy.magic);
    h.static_checksum = crc32c(&copy, static_checksum_span);
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(h.magic, ledger::magic, sizeof h.magic);
    std::atomic_thread_fence(std::memory_order_release);
    if (options.durable) return flush(0, mapped);
    return {};
  }

  Result<void> flush(std::size_t offset, std::size_t size) {
    if (!options.durable || options.path.empty()) return {};
    const std::size_t page = 4096;
    const std::size_t start = offset / page * page;
    if (::msync(base + start, offset + size - start, MS_SYNC) != 0)
      return os_error("cannot flush the " + name(), errno);
    return {};
  }

  // Applies the armed journal to the file. Idempotent, so a commit interrupted anywhere in
  // here is completed by whoever takes the lock next.
  void apply_journal() {
    JournalHeader& j = journal();
    Header& h = header();
    const JournalEntry* e = entries();
    std::uint64_t k = 0;
    for (std::uint32_t i = 0; i < j.count; ++i) {
      std::memcpy(base + e[i].offset, e[i].data, e[i].length);
      if (e[i].slot != 0) h.ring[(j.base_change_no + k++) % ring_size] = e[i].slot - 1;
      if (i == j.count / 2) crash_point(3);
    }
    h.gpu_count = j.gpu_count;
    h.gpu_epoch = j.gpu_epoch;
    h.change_no = j.base_change_no + k;
    h.commits = j.armed;
    std::atomic_ref<std::uint64_t>(j.armed).store(0, std::memory_order_release);
  }

  // Empty if the journal may be replayed, else what is wrong with it.
  std::string check_journal() {
    JournalHeader& j = journal();
    if (j.count > journal_capacity) return "journal holds too many entries";
    if (j.checksum != journal_checksum(j, entries())) return "journal checksum mismatch";
    const std::size_t limit = file_size_for(header().capacity);
    for (std::uint32_t i = 0; i < j.count; ++i) {
      const auto& e = entries()[i];
      // e.length is checked first, so the other bounds cannot overflow (an offset near 2^64
      // once wrapped past the limit: fuzzing found it). No entry may touch the journal itself.
      if (e.length > record_size || e.offset < gpu_table_offset || e.offset > limit - e.length ||
          (e.offset < records_offset && e.offset + e.length > journal_offset))
        return "journal entry " + std::to_string(i) + " points outside the records";
    }
    return "";
  }

  // Validates the mapped header and journal; empty, or what is corrupt. Errors are for
  // files that must not be touched (another format, not a ledger at all).
  Result<std::string> validate_header(std::size_t size) {
    Header& h = header();
    // The magic first, so that a file that is no ledger at all (whatever its size) is
    // refused and left alone rather than "repaired". A ledger cut short inside its magic is
    // still recognised by the part that is left.
    const std::size_t have = std::min(size, sizeof h.magic);
    if (have == 0 || std::memcmp(h.magic, ledger::magic, have) != 0)
      return fail(Errc::invalid_argument,
                  name() +
                      " is not a vgpu ledger (its first bytes are not \"VGPULDGR\"); remove "
                      "it or choose another path with --ledger or VGPU_LEDGER");
    if (size < records_offset)
      return std::string("the file is " + std::to_string(size) +
                         " bytes, shorter than a ledger's fixed part");
    if (h.format_version > HostLedger::format_version)
      return fail(Errc::version_mismatch,
                  name() + " has format version " + std::to_string(h.format_version) +
                      ", written by a newer vgpu; this build reads versions 1 to " +
                      std::to_string(HostLedger::format_version) +
                      ". Upgrade vgpu on this host (all processes sharing a ledger must "
                      "understand its format); the file was left as it is");
    if (h.format_version < 1)
      return fail(Errc::version_mismatch,
                  name() + " has format version " + std::to_string(h.format_version) +
                      ", which no vgpu release wrote, so it cannot be migrated; move it away");
    // Versions 1..format_version-1 would be migrated here; version 1 is the first format.
    if (h.static_checksum != crc32c(&h, static_checksum_span))
      return std::string("header checksum mismatch");
    if (h.header_size != ledger::header_size || h.record_size != ledger::record_size ||
        h.gpu_slot_size != ledger::gpu_slot_size || h.max_gpus != ledger::max_gpus ||
        h.journal_capacity != ledger::journal_capacity || h.ring_size != ledger::ring_size)
      return std::string("header geometry does not match format version 1");
    if (h.capacity == 0 || h.capacity > max_capacity || file_size_for(h.capacity) > size)
      return std::string("record capacity " + std::to_string(h.capacity) +
                         " does not fit the file's size");
    if (h.gpu_count > max_gpus) return std::string("GPU table claims too many GPUs");
    return std::string();
  }

  // Empty, or why the file's bytes past the record area the header claims (@p size: the
  // file's size) are not free slots. A growing ledger extends the file (zero-filled) before it
  // raises the capacity, and writes a slot only after both, so data there means the capacity
  // was damaged. Opening anyway hid those records until a commit grew the area over them, and
  // then handles disagreed on the records (a fuzzing finding).
  std::string check_tail(std::size_t size) {
    std::array<std::uint8_t, 4096> buffer{};
    for (std::size_t at = file_size_for(header().capacity); at < size;) {
      const ssize_t n = ::pread(fd.get(), buffer.data(), std::min(buffer.size(), size - at),
                                static_cast<off_t>(at));
      if (n <= 0) return "the bytes past its record area cannot be read";
      if (!all_zero(buffer.data(), static_cast<std::size_t>(n)))
        return "record slots past the capacity the header claims (" +
               std::to_string(header().capacity) + ") hold data";
      at += static_cast<std::size_t>(n);
    }
    return {};
  }

  // Rebuilds this handle's index from every slot; empty, or what is corrupt.
  std::string rebuild_index(bool verify_gpus) {
    index.clear();
    const std::uint64_t cap = header().capacity;
    slot_uuid.assign(cap, Uuid{});
    std::vector<std::pair<Uuid, std::uint32_t>> all;
    for (std::uint64_t i = 0; i < cap; ++i) {
      const RecordImage& r = slot(i);
      if (r.state == 0 && r.checksum == 0 && all_zero(&r, sizeof r)) continue;
      if (auto bad = check_slot(r); !bad.empty())
        return "record slot " + std::to_string(i) + ": " + bad;
      std::array<std::uint8_t, 16> b{};
      std::memcpy(b.data(), r.uuid, 16);
      slot_uuid[i] = Uuid(b);
      all.emplace_back(slot_uuid[i], static_cast<std::uint32_t>(i));
    }
    index.reserve(all.size());
    for (const auto& [u, s] : all) {
      if (!index.emplace(u, s).second) return "vGPU " + u.to_string() + " is recorded twice";
    }
    if (verify_gpus) {
      for (std::uint32_t i = 0; i < header().gpu_count; ++i)
        if (gpu_slot(i).checksum != gpu_checksum(gpu_slot(i)))
          return "GPU table slot " + std::to_string(i) + ": checksum mismatch";
    }
    seen_change_no = header().change_no;
    seen_gpu_epoch = header().gpu_epoch;
    synced = true;
    return "";
  }

  // Whether the open file is still the one at options.path (not moved aside or replaced).
  Result<bool> still_at_path() {
    struct stat mine {};
    struct stat there {};
    if (::fstat(fd.get(), &mine) != 0) return os_error("cannot inspect the " + name(), errno);
    if (::lstat(options.path.c_str(), &there) != 0) {
      if (errno == ENOENT) return false;
      return os_error("cannot inspect the " + name(), errno);
    }
    return mine.st_dev == there.st_dev && mine.st_ino == there.st_ino;
  }

  // Opens (or creates) the file, recovers it and builds the index. A corrupted file is moved
  // aside and replaced by an empty one.
  Result<void> attach() {
    attached_by = ::getpid();
    synced = false;
    reported = false;
    unmap();
    int reopened = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool created = false;
      if (options.path.empty()) {
        const int raw = ::memfd_create("vgpu-ledger", MFD_CLOEXEC);
        if (raw < 0) return os_error("cannot create a private ledger", errno);
        fd = UniqueFd(raw);
        created = true;
      } else {
        if (auto ok = ensure_private_directory(options.path.parent_path().empty()
                                                   ? std::filesystem::path(".")
                                                   : options.path.parent_path(),
                                               options.group, "ledger");
            !ok)
          return ok;
        auto opened = open_private_file(options.path, options.group, true, "ledger", &created);
        if (!opened) return opened.error();
        fd = std::move(*opened);
      }
      auto lock = FileLock::acquire(fd.get(), "the " + name());
      if (!lock) return lock.error();
      if (!options.path.empty()) {
        // Another process may have moved a corrupted file aside (and put a new one in its
        // place) while this one waited for the lock: then this descriptor is the old file,
        // and judging (or renaming!) the path from it would be wrong. Open the path again.
        auto same = still_at_path();
        if (!same) return same.error();
        if (!*same) {
          if (++reopened > 100)
            return fail(Errc::busy, "the " + name() + " keeps being replaced; try again");
          --attempt;
          continue;
        }
      }
      auto size = file_size();
      if (!size) return size.error();
      bool fresh = *size == 0;
      if (!fresh) {
        if (auto ok = map(*size); !ok) return ok;
        // A creator killed before writing the magic leaves zeros there: start again.
        fresh = *size >= sizeof(Header) && all_zero(header().magic, sizeof header().magic) &&
                header().commits == 0;
      }
      if (fresh) {
        if (auto ok = initialize(); !ok) return ok;
        report.created = true;
        if (auto bad = rebuild_index(true); !bad.empty())
          return fail(Errc::internal, "a new ledger fails its own check: " + bad);
        return {};
      }
      auto problem = validate_header(*size);
      if (!problem) return problem.error();
      std::string corrupt = *problem;
      // A process that finds a ledger corrupted marks it retired, then renames it aside; a
      // retired file at the path is one whose rename failed, or a kept copy put back. Handles
      // refuse to work on a retired file, so it is moved aside like any corrupted one (fuzzing
      // found that such a file opened and then failed every call).
      if (corrupt.empty() &&
          std::atomic_ref<std::uint32_t>(header().retired).load(std::memory_order_acquire) != 0)
        corrupt = "it is marked retired: a process moved it aside as corrupted before";
      if (corrupt.empty() && journal().armed != 0) {
        corrupt = check_journal();
        if (corrupt.empty()) {
          apply_journal();
          report.replayed_journal = true;
        }
      }
      if (corrupt.empty()) corrupt = check_tail(*size);
      if (corrupt.empty() && header().capacity * record_size + records_offset != mapped) {
        if (auto ok = map(file_size_for(header().capacity)); !ok) return ok;
      }
      if (corrupt.empty()) corrupt = rebuild_index(true);
      if (corrupt.empty()) return {};
      // Corrupted: keep it for inspection, tell handles that still map it, start afresh.
      if (attempt == 1 || options.path.empty())
        return fail(Errc::io_error, name() + " is corrupted (" + corrupt + ")");
      char stamp[32];
      const std::time_t t = std::time(nullptr);
      std::tm tm{};
      ::gmtime_r(&t, &tm);
      std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
      auto aside = options.path;
      aside += std::string(".corrupt-") + stamp + "-" + std::to_string(::getpid());
      if (mapped >= sizeof(Header)) {
        std::atomic_ref<std::uint32_t>(header().retired).store(1, std::memory_order_release);
      }
      if (::rename(options.path.c_str(), aside.c_str()) != 0)
        return os_error("the " + name() + " is corrupted (" + corrupt +
                            ") and could not be moved aside to " + aside.string(),
                        errno);
      report.corruption = corrupt;
      report.kept_aside = aside;
      unmap();
    }
    return fail(Errc::internal, "unreachable");
  }

  // Brings this handle up to date with what others committed (under the lock).
  Result<void> sync() {
    delta = LedgerDelta{};
    if (std::atomic_ref<std::uint32_t>(header().retired).load(std::memory_order_acquire) != 0)
      return fail(Errc::busy, "retired");  // the caller reattaches
    // Map the whole record area first: a commit that grew the file may be waiting in the
    // journal, and its entries lie beyond what this handle mapped before.
    const std::uint64_t cap = header().capacity;
    if (cap != capacity()) {
      auto size = file_size();
      if (!size) return size.error();
      if (cap == 0 || cap > max_capacity || file_size_for(cap) > *size)
        return fail(Errc::io_error, name() + " is corrupted (capacity does not fit the file)");
      if (auto ok = map(file_size_for(cap)); !ok) return ok;
      slot_uuid.resize(cap);
    }
    if (journal().armed != 0) {
      if (auto bad = check_journal(); !bad.empty())
        return fail(Errc::io_error, name() + " is corrupted (" + bad +
                                        "); reopen it (the Manager moves it aside and rebuilds)");
      apply_journal();
    }
    const std::uint64_t now = header().change_no;
    if (!synced || !reported || now < seen_change_no || now - seen_change_no > ring_size) {
      reported = true;
      if (auto bad = rebuild_index(false); !bad.empty())
        return fail(Errc::io_error, name() + " is corrupted (" + bad + ")");
      delta.full = true;
      delta.gpus_changed = true;
      for (const auto& [u, s] : index)
        delta.upserted.push_back(decode(slot(s)));
      return {};
    }
    std::vector<std::uint32_t> changed;
    for (std::uint64_t k = seen_change_no; k < now; ++k)
      changed.push_back(header().ring[k % ring_size]);
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    std::vector<Uuid> gone;
    for (const std::uint32_t s : changed) {
      if (s >= cap) return fail(Errc::io_error, name() + " is corrupted (change ring)");
      const RecordImage& r = slot(s);
      if (auto bad = check_slot(r); !bad.empty())
        return fail(Errc::io_error,
                    name() + " is corrupted (record slot " + std::to_string(s) + ": " + bad + ")");
      const Uuid old = slot_uuid[s];
      if (!old.is_nil()) {
        auto it = index.find(old);
        if (it != index.end() && it->second == s) index.erase(it);
        gone.push_back(old);
      }
      slot_uuid[s] = Uuid{};
      if (r.state != 0) {
        VgpuRecord rec = decode(r);
        slot_uuid[s] = rec.uuid;
        index[rec.uuid] = s;
        delta.upserted.push_back(std::move(rec));
      }
    }
    for (const auto& u : gone)
      if (!index.count(u)) delta.removed.push_back(u);
    seen_change_no = now;
    if (header().gpu_epoch != seen_gpu_epoch) delta.gpus_changed = true;
    seen_gpu_epoch = header().gpu_epoch;
    return {};
  }

  std::vector<LedgerGpu> read_gpus() {
    std::vector<LedgerGpu> out;
    for (std::uint32_t i = 0; i < header().gpu_count; ++i)
      out.push_back(decode_gpu(gpu_slot(i)));
    return out;
  }

  Result<FileLock> lock_and_sync() {
    // After fork() the child shares the parent's open file description, and so its lock:
    // the two would not exclude each other. A child therefore opens the file afresh.
    if (!options.path.empty() && attached_by != ::getpid()) {
      const auto kept = report;
      if (auto again = attach(); !again) return again.error();
      report = kept;
    }
    for (int attempt = 0;; ++attempt) {
      auto lock = FileLock::acquire(fd.get(), "the " + name());
      if (!lock) return lock.error();
      auto ok = sync();
      if (ok) return lock;
      if (ok.error().code() != Errc::busy || attempt > 0) return ok.error();
      // The file was retired (found corrupted and replaced by another process): reattach.
      { auto dropped = std::move(*lock); }
      const auto kept = report;  // this handle's open report stays what open() found
      if (auto again = attach(); !again) return again.error();
      report = kept;
    }
  }
};

// ---------------------------------------------------------------------------------------

struct LedgerTransaction::Impl {
  HostLedger::Impl& ledger;
  boost::container::flat_map<std::uint32_t, RecordImage> staged;  // slot -> new image
  boost::container::flat_map<Uuid, std::uint32_t> staged_index;   // uuid -> slot (or none)
  std::vector<std::uint32_t> allocated;
  std::optional<std::vector<LedgerGpu>> gpus;
  static constexpr std::uint32_t erased = 0xFFFFFFFFu;

  std::optional<std::uint32_t> slot_of(const Uuid& u) const {
    if (auto it = staged_index.find(u); it != staged_index.end()) {
      if (it->second == erased) return std::nullopt;
      return it->second;
    }
    if (auto it = ledger.index.find(u); it != ledger.index.end()) return it->second;
    return std::nullopt;
  }
  const RecordImage& image(std::uint32_t s) const {
    if (auto it = staged.find(s); it != staged.end()) return it->second;
    return ledger.slot(s);
  }
  bool slot_taken(std::uint32_t s) const {
    if (auto it = staged.find(s); it != staged.end()) return it->second.state != 0;
    return s < ledger.slot_uuid.size() && !ledger.slot_uuid[s].is_nil();
  }
  std::uint32_t allocate() {
    std::uint32_t s = allocated.empty() ? 0 : allocated.back() + 1;
    while (slot_taken(s) || staged.count(s))
      ++s;
    allocated.push_back(s);
    return s;
  }
  std::size_t entries_needed() const { return staged.size() + (gpus ? gpus->size() : 0); }
  // Every slot a transaction changes takes one journal entry, new or not.
  Result<void> room_for(std::optional<std::uint32_t> slot) const {
    if (slot && staged.count(*slot)) return {};
    if (entries_needed() + 1 <= journal_capacity) return {};
    return fail(Errc::no_capacity, "one ledger commit holds at most " +
                                       std::to_string(journal_capacity) +
                                       " changes; split the work into several");
  }
};

std::optional<VgpuRecord> LedgerTransaction::find(const Uuid& uuid) const {
  auto s = impl_.slot_of(uuid);
  if (!s) return std::nullopt;
  return decode(impl_.image(*s));
}

std::vector<VgpuRecord> LedgerTransaction::records() const {
  std::vector<std::uint32_t> slots;
  for (const auto& [u, s] : impl_.ledger.index)
    slots.push_back(s);
  for (const auto& [s, img] : impl_.staged)
    slots.push_back(s);
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  std::vector<VgpuRecord> out;
  for (const auto s : slots) {
    const RecordImage& r = impl_.image(s);
    if (r.state != 0) out.push_back(decode(r));
  }
  return out;
}

std::vector<LedgerGpu> LedgerTransaction::gpus() const {
  if (impl_.gpus) return *impl_.gpus;
  return impl_.ledger.read_gpus();
}

const LedgerDelta& LedgerTransaction::delta() const {
  return impl_.ledger.delta;
}

std::size_t LedgerTransaction::staged() const {
  return impl_.entries_needed();
}

Result<void> LedgerTransaction::put(const VgpuRecord& record) {
  auto image = encode(record);
  if (!image) return image.error();
  auto s = impl_.slot_of(record.uuid);
  if (auto room = impl_.room_for(s); !room) return room;
  if (!s) s = impl_.allocate();
  impl_.staged[*s] = *image;
  impl_.staged_index[record.uuid] = *s;
  return {};
}

Result<void> LedgerTransaction::erase(const Uuid& uuid) {
  auto s = impl_.slot_of(uuid);
  if (!s) return fail(Errc::not_found, "no vGPU " + uuid.to_string() + " in the ledger");
  if (auto room = impl_.room_for(s); !room) return room;
  impl_.staged[*s] = free_image();
  impl_.staged_index[uuid] = Impl::erased;
  return {};
}

Result<void> LedgerTransaction::set_gpus(const std::vector<LedgerGpu>& gpus) {
  if (gpus.size() > max_gpus)
    return fail(Errc::no_capacity, "the ledger records at most " + std::to_string(max_gpus) +
                                       " GPUs per host, not " + std::to_string(gpus.size()));
  for (const auto& g : gpus)
    if (g.model.size() > 47)
      return fail(Errc::invalid_argument,
                  "GPU model name \"" + g.model + "\" is longer than 47 bytes");
  impl_.gpus = gpus;
  if (impl_.entries_needed() > journal_capacity)
    return fail(Errc::no_capacity, "too many changes for one ledger commit");
  return {};
}

// ---------------------------------------------------------------------------------------

HostLedger::HostLedger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HostLedger::HostLedger(HostLedger&&) noexcept = default;
HostLedger& HostLedger::operator=(HostLedger&&) noexcept = default;
HostLedger::~HostLedger() = default;

std::filesystem::path HostLedger::default_path() {
  if (const char* env = std::getenv("VGPU_LEDGER"); env && *env) return env;
  return "/run/vgpu/ledger";
}

Result<HostLedger> HostLedger::open(const LedgerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.path.empty() && options.path.filename().empty())
    return fail(Errc::invalid_argument,
                "ledger path " + options.path.string() + " names a directory; give a file name");
  if (auto ok = impl->attach(); !ok) return ok.error();
  return HostLedger(std::move(impl));
}

Result<void> HostLedger::transact(const std::function<Result<void>(LedgerTransaction&)>& fn) {
  Impl& L = *impl_;
  std::lock_guard<std::mutex> guard(L.mu);
  auto lock = L.lock_and_sync();
  if (!lock) return lock.error();
  LedgerTransaction::Impl t{L, {}, {}, {}, {}};
  LedgerTransaction txn(t);
  if (auto ok = fn(txn); !ok) return ok;
  if (t.staged.empty() && !t.gpus) return {};

  // Grow the record area first if new slots lie beyond it (zero-filled slots are free).
  const std::uint64_t need = t.staged.empty() ? 0 : std::uint64_t{t.staged.rbegin()->first} + 1;
  if (need > L.header().capacity) {
    if (need > max_capacity)
      return fail(Errc::no_capacity,
                  "the ledger holds at most " + std::to_string(max_capacity) + " vGPUs");
    const std::uint64_t cap = std::min(max_capacity, std::max(need, L.header().capacity * 2));
    if (::ftruncate(L.fd.get(), static_cast<off_t>(file_size_for(cap))) != 0)
      return os_error("cannot grow the " + L.name(), errno);
    if (auto ok = L.map(file_size_for(cap)); !ok) return ok;
    L.header().capacity = cap;
    L.slot_uuid.resize(cap);
  }

  if (t.entries_needed() > journal_capacity)  // put/erase/set_gpus refuse this; never overflow
    return fail(Errc::internal, "a ledger commit outgrew the journal");
  JournalHeader& j = L.journal();
  JournalEntry* e = L.entries();
  std::uint32_t n = 0;
  for (const auto& [s, img] : t.staged) {
    e[n].offset = records_offset + std::uint64_t{s} * record_size;
    e[n].length = record_size;
    e[n].slot = s + 1;
    std::memcpy(e[n].data, &img, record_size);
    ++n;
  }
  j.gpu_count = L.header().gpu_count;
  j.gpu_epoch = L.header().gpu_epoch;
  if (t.gpus) {
    for (std::uint32_t i = 0; i < t.gpus->size(); ++i) {
      const GpuSlot g = encode_gpu((*t.gpus)[i]);
      e[n].offset = gpu_table_offset + std::uint64_t{i} * gpu_slot_size;
      e[n].length = gpu_slot_size;
      e[n].slot = 0;
      std::memset(e[n].data, 0, record_size);
      std::memcpy(e[n].data, &g, gpu_slot_size);
      ++n;
    }
    j.gpu_count = static_cast<std::uint32_t>(t.gpus->size());
    j.gpu_epoch = L.header().gpu_epoch + 1;
  }
  j.base_change_no = L.header().change_no;
  j.count = n;
  j.checksum = journal_checksum(j, e);
  if (auto& plan = crash_plan(); plan.point != 0)
    plan.commits_seen.fetch_add(1, std::memory_order_relaxed);
  crash_point(1);
  if (auto ok = L.flush(journal_offset, journal_size); !ok) return ok;
  // The commit point: once armed, the commit happens even if this process dies now.
  std::atomic_ref<std::uint64_t>(j.armed).store(L.header().commits + 1, std::memory_order_release);
  crash_point(2);
  if (auto ok = L.flush(journal_offset, sizeof(JournalHeader)); !ok) return ok;
  L.apply_journal();
  if (auto ok = L.flush(0, L.mapped); !ok) return ok;
  if (L.options.durable && !L.options.path.empty() && ::fsync(L.fd.get()) != 0)
    return os_error("cannot flush the " + L.name(), errno);

  // Follow our own commit without reporting it as someone else's change.
  for (const auto& [s, img] : t.staged) {
    const Uuid old = L.slot_uuid[s];
    if (!old.is_nil()) {
      auto it = L.index.find(old);
      if (it != L.index.end() && it->second == s) L.index.erase(it);
    }
    L.slot_uuid[s] = Uuid{};
    if (img.state != 0) {
      std::array<std::uint8_t, 16> b{};
      std::memcpy(b.data(), img.uuid, 16);
      L.slot_uuid[s] = Uuid(b);
      L.index[L.slot_uuid[s]] = s;
    }
  }
  L.seen_change_no = L.header().change_no;
  L.seen_gpu_epoch = L.header().gpu_epoch;
  return {};
}

Result<std::vector<VgpuRecord>> HostLedger::records() {
  std::vector<VgpuRecord> out;
  auto ok = transact([&](LedgerTransaction& t) -> Result<void> {
    out = t.records();
    return {};
  });
  if (!ok) return ok.error();
  return out;
}

Result<std::uint64_t> HostLedger::commits() {
  Impl& L = *impl_;
  std::lock_guard<std::mutex> guard(L.mu);
  auto lock = L.lock_and_sync();
  if (!lock) return lock.error();
  return L.header().commits;
}

Result<void> HostLedger::check() {
  Impl& L = *impl_;
  std::lock_guard<std::mutex> guard(L.mu);
  auto lock = L.lock_and_sync();
  if (!lock) return lock.error();
  auto size = L.file_size();
  if (!size) return size.error();
  auto header = L.validate_header(*size);
  if (!header) return header.error();
  if (!header->empty()) return fail(Errc::io_error, L.name() + ": " + *header);
  if (auto bad = L.check_tail(*size); !bad.empty())
    return fail(Errc::io_error, L.name() + ": " + bad);
  if (auto bad = L.rebuild_index(true); !bad.empty())
    return fail(Errc::io_error, L.name() + ": " + bad);
  return {};
}

const LedgerOpenReport& HostLedger::open_report() const {
  return impl_->report;
}

const std::filesystem::path& HostLedger::path() const {
  return impl_->options.path;
}

}  // namespace vgpu
