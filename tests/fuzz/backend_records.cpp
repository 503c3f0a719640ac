// The files the sysfs backends keep about vGPUs (<state_dir>/<backend>/...): a vGPU record
// (sysfs::parse_record, RecordStore::load) and nvidia-vfio's cache of driver type ids
// (parse_type_ids). Also the other way: a record built from the input's bytes, written by
// record_text() (RecordStore::save), must read back.
// Invariants: what parses writes back to text that parses to the same value; writing never
// throws, and a written record reads back with its owner and type (when they are UTF-8).
#include <array>
#include <cstring>
#include <string>

#include "backends/nvidia_vfio/nvidia_vfio.hpp"
#include "backends/sysfs/records.hpp"
#include "fuzz_support.hpp"

namespace {

bool same(const vgpu::sysfs::VgpuRecord& a, const vgpu::sysfs::VgpuRecord& b) {
  return a.uuid == b.uuid && a.type == b.type && a.type_id == b.type_id &&
         a.placement == b.placement && a.owner == b.owner && a.created_at == b.created_at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const std::string_view input = fuzz::text(data, size);

  if (auto record = sysfs::parse_record(input)) {
    (void)record->created();  // in the clock's range (UBSan: no overflow)
    const std::string text = sysfs::record_text(*record);
    auto again = sysfs::parse_record(text);
    FUZZ_CHECK(again.has_value(), "a written record does not read back: " + text);
    FUZZ_CHECK(same(*record, *again), "round trip changed the record: " + text);
  }

  const auto ids = sys::nvidia_vfio::parse_type_ids(input);
  const std::string ids_text = sys::nvidia_vfio::type_ids_text(ids);
  FUZZ_CHECK(sys::nvidia_vfio::parse_type_ids(ids_text) == ids,
             "round trip changed the type ids: " + ids_text);

  // A record whose free text is the input: 24 bytes of numbers, then type and owner.
  if (size >= 24) {
    sysfs::VgpuRecord r;
    std::array<std::uint8_t, 16> uuid{};
    std::memcpy(uuid.data(), data, 16);
    uuid[0] |= 1;  // never nil
    r.uuid = Uuid(uuid);
    std::memcpy(&r.type_id, data + 16, 4);
    std::memcpy(&r.placement, data + 20, 4);
    const std::string_view rest = input.substr(24);
    const auto cut = rest.find('\0');
    r.type = std::string(rest.substr(0, cut));
    r.owner = cut == std::string_view::npos ? std::string() : std::string(rest.substr(cut + 1));
    r.created_at = static_cast<std::int64_t>(size % 7000) * 1000003;  // up to the year 2191
    const std::string text = sysfs::record_text(r);
    auto back = sysfs::parse_record(text);
    FUZZ_CHECK(back.has_value(), "a written record does not read back: " + text);
    FUZZ_CHECK(back->uuid == r.uuid && back->type_id == r.type_id &&
                   back->placement == r.placement && back->created_at == r.created_at,
               "a written record reads back with other numbers: " + text);
    if (fuzz::valid_utf8(r.type) && fuzz::valid_utf8(r.owner))
      FUZZ_CHECK(back->type == r.type && back->owner == r.owner,
                 "a written record reads back with other text: " + text);
  }
  return 0;
}
