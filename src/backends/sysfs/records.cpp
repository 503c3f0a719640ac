#include "backends/sysfs/records.hpp"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>

namespace vgpu::sysfs {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<VgpuRecord> RecordStore::load(const std::string& key) const {
  std::ifstream in(dir_ / key);
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
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
}

Result<void> RecordStore::save(const std::string& key, const VgpuRecord& r) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const fs::path file = dir_ / key;
  const fs::path tmp = dir_ / (key + ".tmp." + std::to_string(::getpid()));
  const json j = {{"uuid", r.uuid.to_string()}, {"type", r.type},   {"type_id", r.type_id},
                  {"placement", r.placement},   {"owner", r.owner}, {"created_at", r.created_at}};
  {
    std::ofstream out(tmp);
    out << j.dump() << '\n';
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

}  // namespace vgpu::sysfs
