#include "backends/sysfs/records.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace vgpu::sysfs {

namespace fs = std::filesystem;
using nlohmann::json;

std::string record_text(const VgpuRecord& r) {
  const json j = {{"uuid", r.uuid.to_string()}, {"type", r.type},   {"type_id", r.type_id},
                  {"placement", r.placement},   {"owner", r.owner}, {"created_at", r.created_at}};
  // Type and owner come from callers and may hold bytes that are not UTF-8: written as
  // U+FFFD, never thrown on (fuzzing found the throw).
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + '\n';
}

namespace {

// Seconds since the epoch of 2200-01-01, the latest created_at a record may hold (as for host
// descriptions): later ones would overflow system_clock's nanoseconds in created().
constexpr std::int64_t latest_created_at = 7'258'118'400;

// An integer field from min to max; absent: 0. Another type, a fraction or a value out of
// range makes the file not a record: nlohmann's value<T>() would convert 1e20 to T, which is
// undefined behaviour (fuzzing found it).
std::optional<std::int64_t> integer_field(const json& j, const char* key, std::int64_t min,
                                          std::int64_t max) {
  const auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(max)) return std::nullopt;
    if (static_cast<std::int64_t>(v) < min) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    if (v < min || v > max) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<VgpuRecord> parse_record(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  // value() throws when a field has another type ("uuid": 7): such a file is not a record
  // either (fuzzing found the throw).
  try {
    auto uuid = Uuid::parse(j.value("uuid", ""));
    if (!uuid) return std::nullopt;
    VgpuRecord r;
    r.uuid = *uuid;
    r.type = j.value("type", "");
    constexpr std::int64_t u32_max = std::numeric_limits<std::uint32_t>::max();
    const auto type_id = integer_field(j, "type_id", 0, u32_max);
    const auto placement = integer_field(j, "placement", 0, u32_max);
    const auto created_at = integer_field(j, "created_at", 0, latest_created_at);
    if (!type_id || !placement || !created_at) return std::nullopt;
    r.type_id = static_cast<std::uint32_t>(*type_id);
    r.placement = static_cast<std::uint32_t>(*placement);
    r.owner = j.value("owner", "");
    r.created_at = *created_at;
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<VgpuRecord> RecordStore::load(const std::string& key) const {
  std::ifstream in(dir_ / key, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return parse_record(text.str());
}

Result<void> RecordStore::save(const std::string& key, const VgpuRecord& r) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const fs::path file = dir_ / key;
  const fs::path tmp = dir_ / (key + ".tmp." + std::to_string(::getpid()));
  {
    std::ofstream out(tmp);
    out << record_text(r);
    if (!out)
      return fail(Errc::io_error,
                  "cannot write " + tmp.string() +
                      " (vgpu's record of what the kernel does not store about a vGPU); make " +
                      dir_.string() + " writable or set BackendOptions::state_dir",
                  errno);
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return fail(Errc::io_error, "cannot rename a record to " + file.string() + ": " + ec.message(),
                ec.value());
  }
  return {};
}

void RecordStore::remove(const std::string& key) const {
  std::error_code ec;
  fs::remove(dir_ / key, ec);
}

void place_unrecorded(const GpuModel& model, const PciAddress& gpu, std::vector<VgpuInstance>& all,
                      const std::vector<std::size_t>& unplaced) {
  std::set<std::uint32_t> used;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i].gpu == gpu && std::find(unplaced.begin(), unplaced.end(), i) == unplaced.end())
      used.insert(all[i].placement);
  for (std::size_t i : unplaced) {
    const VgpuType* t = model.find_type(all[i].type_name);
    const std::uint32_t size = t ? t->placement_size : 1;
    std::uint32_t start = 0;
    while (used.count(start))
      start += size;
    used.insert(start);
    all[i].placement = start;
  }
}

}  // namespace vgpu::sysfs
