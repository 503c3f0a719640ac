// Host descriptions (JSON) <-> HostDescription. See docs/host-description.md.
#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "common/json_reader.hpp"
#include "common/read_file.hpp"
#include "vgpu/host.hpp"

namespace vgpu {
namespace {

using json_reader::error_at;
using json_reader::json;
using json_reader::ObjectReader;

constexpr std::uint32_t max_gpus_per_entry = 256;
constexpr std::uint8_t first_auto_bus = 0x41;

std::string format_time(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  std::tm tm{};
  char z = 0;
  int n = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) != 7 ||
      z != 'Z' || static_cast<std::size_t>(n) != text.size() || tm.tm_mon < 1 || tm.tm_mon > 12 ||
      tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 ||
      // system_clock counts nanoseconds in 64 bits: years before 1678 or after 2262 overflow
      // it (fuzzing found "0550-02-31"). No vGPU was created before 1970.
      tm.tm_year < 1970 || tm.tm_year > 2200)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (format_time(t) != text) return std::nullopt;  // 2026-02-31, single digits, leap seconds
  return t;
}

struct GpuEntry {
  std::shared_ptr<const GpuModel> model;
  GpuMode mode = GpuMode::equal_size;
  std::optional<PciAddress> address;
  std::optional<std::uint32_t> numa_node;
  std::string pci_root;
  std::uint32_t count = 1;
};

Result<GpuEntry> read_gpu(const json& value, const std::string& path, std::string_view origin,
                          const TypeCatalog& catalog) {
  VGPU_TRY(r, ObjectReader::open(value, path, origin,
                                 {"model", "count", "mode", "address", "numa_node", "pci_root"}));
  GpuEntry e;
  VGPU_TRY(model_name, r.string("model"));
  auto model = catalog.find_model(model_name);
  if (!model) return r.error("model", model.error().message());
  e.model = *model;
  VGPU_TRY(count, r.optional_uint("count", max_gpus_per_entry));
  if (count && *count == 0) return r.error("count", "must be at least 1");
  e.count = static_cast<std::uint32_t>(count.value_or(1));
  VGPU_TRY(mode_text, r.optional_string("mode"));
  if (mode_text) {
    auto mode = parse_gpu_mode(*mode_text);
    if (!mode) return r.error("mode", mode.error().message());
    e.mode = *mode;
    if (e.mode == GpuMode::mixed_size && !e.model->mixed_size_capable)
      return r.error("mode", e.model->name + " does not support mixed-size mode; use equal");
    if (e.mode == GpuMode::mig && !e.model->mig_capable)
      return r.error("mode", e.model->name + " does not support MIG; use equal" +
                                 std::string(e.model->mixed_size_capable ? " or mixed" : ""));
  }
  VGPU_TRY(address_text, r.optional_string("address"));
  if (address_text) {
    if (e.count != 1)
      return r.error("address",
                     "give an address only with count 1 (leave it out and GPUs are "
                     "numbered automatically)");
    auto a = PciAddress::parse(*address_text);
    if (!a) return r.error("address", a.error().message());
    e.address = *a;
  }
  VGPU_TRY(numa, r.optional_uint("numa_node", 1023));
  if (numa) e.numa_node = static_cast<std::uint32_t>(*numa);
  VGPU_TRY(root, r.optional_string("pci_root"));
  if (root) {
    if (root->empty() || root->size() > 64)
      return r.error("pci_root", "must be 1 to 64 characters, e.g. \"pci0000:40\"");
    e.pci_root = *root;
  }
  return e;
}

}  // namespace

Result<HostDescription> parse_host_description(std::string_view text, std::string_view origin,
                                               const TypeCatalog& catalog, OccupancyOptions rules) {
  VGPU_TRY(doc, json_reader::parse(text, origin));
  VGPU_TRY(r, ObjectReader::open(doc, "", origin, {"gpus", "vgpus"}));
  VGPU_TRY(gpu_list, r.array("gpus", true));
  if (gpu_list->empty()) return r.error("gpus", "must list at least one GPU");

  std::vector<GpuEntry> entries;
  std::map<PciAddress, std::size_t> taken;  // explicit address -> entry index
  for (std::size_t i = 0; i < gpu_list->size(); ++i) {
    const std::string at = "gpus[" + std::to_string(i) + "]";
    VGPU_TRY(e, read_gpu((*gpu_list)[i], at, origin, catalog));
    if (e.address) {
      auto [it, fresh] = taken.emplace(*e.address, i);
      if (!fresh)
        return error_at(
            origin, at + ".address",
            e.address->to_string() + " is already used by gpus[" + std::to_string(it->second) + "]",
            Errc::conflict);
    }
    entries.push_back(std::move(e));
  }

  HostDescription host;
  std::uint32_t next_bus = first_auto_bus;
  for (const auto& e : entries) {
    for (std::uint32_t k = 0; k < e.count; ++k) {
      PhysicalGpu gpu{PciAddress{}, e.model, e.mode, e.numa_node, e.pci_root};
      if (e.address) {
        gpu.address = *e.address;
      } else {
        // Number automatic GPUs 0000:41:00.0, 0000:42:00.0, ... skipping explicit addresses.
        for (;; ++next_bus) {
          if (next_bus > 0xff)
            return r.error("gpus", "too many GPUs to number automatically; give addresses");
          gpu.address = *PciAddress::from_parts(0, static_cast<std::uint8_t>(next_bus), 0, 0);
          if (!taken.count(gpu.address)) break;
        }
        taken.emplace(gpu.address, 0);
        ++next_bus;
      }
      host.gpus.push_back(std::move(gpu));
    }
  }
  std::sort(host.gpus.begin(), host.gpus.end(),
            [](const PhysicalGpu& a, const PhysicalGpu& b) { return a.address < b.address; });

  // Existing vGPUs must obey the same rules a real GPU enforces.
  std::map<PciAddress, GpuOccupancy> occupancy;
  for (const auto& g : host.gpus)
    occupancy.emplace(g.address, GpuOccupancy(g, rules));
  VGPU_TRY(vgpu_list, r.array("vgpus", false));
  for (std::size_t i = 0; i < vgpu_list->size(); ++i) {
    const std::string at = "vgpus[" + std::to_string(i) + "]";
    VGPU_TRY(v, ObjectReader::open((*vgpu_list)[i], at, origin,
                                   {"uuid", "type", "gpu", "placement", "owner", "created_at"}));
    VgpuInstance inst;
    VGPU_TRY(uuid_text, v.string("uuid"));
    auto uuid = Uuid::parse(uuid_text);
    if (!uuid) return v.error("uuid", uuid.error().message());
    inst.uuid = *uuid;
    for (std::size_t j = 0; j < host.vgpus.size(); ++j) {
      if (host.vgpus[j].uuid == inst.uuid)
        return error_at(origin, at + ".uuid",
                        "is also the uuid of vgpus[" + std::to_string(j) + "]", Errc::conflict);
    }
    VGPU_TRY(gpu_text, v.string("gpu"));
    auto address = PciAddress::parse(gpu_text);
    if (!address) return v.error("gpu", address.error().message());
    auto occ = occupancy.find(*address);
    if (occ == occupancy.end())
      return v.error("gpu", address->to_string() + " is not one of the GPUs listed under \"gpus\"");
    inst.gpu = *address;
    VGPU_TRY(type_name, v.string("type"));
    auto type = catalog.find_type(type_name);
    if (!type) return v.error("type", type.error().message());
    inst.type_name = type->type->name;
    VGPU_TRY(placement, v.optional_uint("placement", 4096));
    std::optional<std::uint32_t> wanted;
    if (placement) wanted = static_cast<std::uint32_t>(*placement);
    auto placed = occ->second.add(inst.uuid, *type->type, wanted);
    if (!placed) return error_at(origin, at, placed.error().message(), placed.error().code());
    inst.placement = *placed;
    VGPU_TRY(owner, v.optional_string("owner"));
    inst.owner = owner.value_or("");
    VGPU_TRY(created, v.optional_string("created_at"));
    if (created) {
      auto t = parse_time(*created);
      if (!t)
        return v.error("created_at",
                       "must be a UTC time from 1970 to 2200 such as "
                       "\"2026-11-25T17:21:00Z\"");
      inst.created_at = *t;
    }
    host.vgpus.push_back(std::move(inst));
  }
  return host;
}

Result<HostDescription> load_host_description(const std::filesystem::path& path,
                                              const TypeCatalog& catalog, OccupancyOptions rules) {
  auto text = files::read_text(path, "host description");
  if (!text) return text.error();
  return parse_host_description(*text, path.string(), catalog, rules);
}

Result<HostDescription> default_host(const TypeCatalog& catalog) {
  static constexpr std::string_view text = R"({"gpus": [
    {"model": "A16", "count": 4},
    {"model": "L40S", "count": 2, "mode": "mixed", "numa_node": 1},
    {"model": "A100 PCIe 80GB", "mode": "mig", "address": "0000:c1:00.0", "numa_node": 1}]})";
  return parse_host_description(text, "built-in host", catalog);
}

std::string to_json(const HostDescription& host) {
  json gpus = json::array();
  for (const auto& g : host.gpus) {
    json j = {{"model", g.model->aliases.empty() ? g.model->name : g.model->aliases.front()},
              {"address", g.address.to_string()},
              {"mode", std::string(to_string(g.mode))}};
    if (g.numa_node) j["numa_node"] = *g.numa_node;
    if (!g.pci_root.empty()) j["pci_root"] = g.pci_root;
    gpus.push_back(std::move(j));
  }
  json vgpus = json::array();
  for (const auto& v : host.vgpus) {
    json j = {{"uuid", v.uuid.to_string()},
              {"type", v.type_name},
              {"gpu", v.gpu.to_string()},
              {"placement", v.placement}};
    if (!v.owner.empty()) j["owner"] = v.owner;
    if (v.created_at.time_since_epoch().count() != 0) j["created_at"] = format_time(v.created_at);
    vgpus.push_back(std::move(j));
  }
  json doc = {{"gpus", gpus}};
  if (!vgpus.empty()) doc["vgpus"] = vgpus;
  // Owners are free text: bytes that are not UTF-8 are written as U+FFFD, never thrown on.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<void> save_host_description(const HostDescription& host,
                                   const std::filesystem::path& requested) {
  // Replace the file a symlink points to, not the link itself.
  std::error_code ec;
  const bool link = std::filesystem::is_symlink(std::filesystem::symlink_status(requested, ec));
  const std::filesystem::path path = link ? std::filesystem::canonical(requested, ec) : requested;
  if (link && ec)
    return fail(Errc::not_found, "cannot resolve " + requested.string() + ": " + ec.message());
  const std::string text = to_json(host);
  const std::string tmp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return fail(Errc::io_error, "cannot write " + tmp + ": " + std::strerror(errno), errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(Errc::io_error, "cannot write " + tmp + ": " + std::strerror(err), err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(Errc::io_error, "cannot flush " + tmp + ": " + std::strerror(err), err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(Errc::io_error, "cannot replace " + path.string() + ": " + std::strerror(err), err);
  }
  // Make the rename itself durable.
  const std::string dir = path.has_parent_path() ? path.parent_path().string() : ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace vgpu
