// What the kernel cannot store about a vGPU (its UUID for a VF, owner, placement, creation
// time), kept by vgpu in <state_dir>/<backend>/<key> as one JSON object. Internal to libvgpu.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/model/gpu.hpp"
#include "vgpu/model/uuid.hpp"

namespace vgpu::sysfs {

struct VgpuRecord {
  Uuid uuid;
  std::string type;           // canonical catalog name
  std::uint32_t type_id = 0;  // kernel type id, when there is one
  std::uint32_t placement = 0;
  std::string owner;
  std::int64_t created_at = 0;  // seconds since the epoch

  [[nodiscard]] std::chrono::system_clock::time_point created() const {
    return std::chrono::system_clock::time_point(std::chrono::seconds(created_at));
  }
  static std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// The text of a record file (one JSON object), and back. parse_record() gives nullopt for a
// file that is not a record, which then counts as absent.
std::string record_text(const VgpuRecord& r);
std::optional<VgpuRecord> parse_record(std::string_view text);

class RecordStore {
 public:
  RecordStore(const std::filesystem::path& state_dir, std::string_view backend)
      : dir_(state_dir / std::string(backend)) {}
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] std::optional<VgpuRecord> load(const std::string& key) const;
  // Atomic (temporary file and rename); the error says how to make the directory writable.
  [[nodiscard]] Result<void> save(const std::string& key, const VgpuRecord& r) const;
  void remove(const std::string& key) const;

 private:
  std::filesystem::path dir_;
};

// The kernel says nothing about where a vGPU vgpu did not record sits (mdev never does; VFs
// only in mixed-size mode): in equal-size mode a slot is just a slot of the type's size, so give
// each vGPU of @p unplaced (indexes into @p all, all on @p gpu, a @p model) the lowest start no
// other vGPU on @p gpu uses.
void place_unrecorded(const GpuModel& model, const PciAddress& gpu, std::vector<VgpuInstance>& all,
                      const std::vector<std::size_t>& unplaced);

}  // namespace vgpu::sysfs
