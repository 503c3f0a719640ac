#include "backends/sysfs/records.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
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
    r.type_id = j.value("type_id", 0u);
    r.placement = j.value("placement", 0u);
    r.owner = j.value("owner", "");
    r.created_at = j.value("created_at", std::int64_t{0});
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
