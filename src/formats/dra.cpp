// Kubernetes DRA (resource.k8s.io/v1 ResourceSlices, partitionable devices, KEP-4815).
//
// Each physical GPU gets counter sets: `memory` (the framebuffer its vGPUs can hold
// together), one counter per run of placement slots that published devices start or end at
// (`slot-N`, `slots-A-B`), and `max-<type>` where a type's per-GPU maximum is below its free
// placements (MIG `+me`). Each (GPU, type, free placement) is a device that consumes its
// framebuffer, the slot counters its placement covers and its type's maximum. Two devices can
// then be allocated together exactly when the GPU can hold both vGPUs: their slots do not
// overlap (and, on equal-size GPUs, their compatibility groups say one size).
//
// API limits (k8s.io/api/resource/v1/types.go): at most 32 counters per set and per
// consumption, 2 consumptions per device, 8 counter sets per slice, 64 devices per slice
// when devices consume counters, counter sets and devices in separate slices; device,
// counter and set names are DNS labels. A GPU whose slot runs do not fit one set gets a
// second; beyond 64 counters neighbouring runs are merged (conservative: such devices may
// exclude each other where the hardware would not, never the other way round).
#include <algorithm>
#include <limits>

#include "formats/common.hpp"

namespace vgpu::formats::detail {
namespace {

constexpr std::size_t max_counters_per_set = 32;
constexpr std::size_t max_sets_per_slice = 8;
constexpr std::size_t max_devices_per_slice = 64;
// Kubernetes 1.32 to 1.34 also limit all device counter consumptions of one slice to 1024.
constexpr std::size_t max_consumed_counters_per_slice = 1024;
constexpr std::size_t max_driver_name = 63;

// A run of slots [begin, end) that one counter stands for.
struct Run {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  [[nodiscard]] std::string counter() const {
    return end - begin == 1 ? "slot-" + std::to_string(begin)
                            : "slots-" + std::to_string(begin) + "-" + std::to_string(end - 1);
  }
};

struct Offer {
  const TypeOffer* type = nullptr;
  std::uint32_t start = 0;
};

std::string quantity_mib(Bytes b) {
  return std::to_string(b.in_mib()) + "Mi";
}

// The counters of one GPU and which set each lives in.
struct GpuCounters {
  std::vector<std::string> sets;     // set names (1 or 2)
  ojson counters = ojson::array();   // per set: {name: {"value": q}}
  std::vector<Run> runs;             // slot runs, in slot order
  std::vector<std::size_t> run_set;  // set index of each run
  std::vector<std::string> capped;   // type names with a max-<type> counter (set 0)
};

// The runs of slots the offers start and end at, with only slots some offer covers.
std::vector<Run> slot_runs(const std::vector<Offer>& offers) {
  std::vector<std::uint32_t> bounds;
  for (const auto& o : offers) {
    bounds.push_back(o.start);
    bounds.push_back(o.start + o.type->type->placement_size);
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  std::vector<Run> runs;
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    const Run r{bounds[i], bounds[i + 1]};
    const bool covered = std::any_of(offers.begin(), offers.end(), [&](const Offer& o) {
      return o.start <= r.begin && r.end <= o.start + o.type->type->placement_size;
    });
    if (covered) runs.push_back(r);
  }
  return runs;
}

// Merges neighbouring runs, narrowest pair first, until at most @p limit are left.
void coarsen(std::vector<Run>& runs, std::size_t limit) {
  while (runs.size() > limit && runs.size() > 1) {
    std::size_t best = 0;
    std::uint32_t width = std::numeric_limits<std::uint32_t>::max();
    for (std::size_t i = 0; i + 1 < runs.size(); ++i) {
      if (runs[i + 1].end - runs[i].begin < width) {
        width = runs[i + 1].end - runs[i].begin;
        best = i;
      }
    }
    runs[best].end = runs[best + 1].end;
    runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
}

// The most framebuffer vGPUs on @p g can hold together: the model's framebuffer, or more
// where the catalog rounds types up (H100 NVL's 1g.24gb is 24 GiB on two of eight slices).
// The slot counters decide what fits; `memory` never refuses what they allow.
Bytes framebuffer_bound(const GpuInventory& g) {
  const GpuModel& model = *g.gpu().model;
  const std::uint64_t units = g.gpu().mode == GpuMode::mig ? mig_memory_slices : model.slots();
  Bytes bound = model.framebuffer;
  for (const auto& t : g.types) {
    const Bytes full =
        Bytes::mib((t.type->framebuffer.in_mib() * units + t.type->placement_size - 1) /
                   t.type->placement_size);
    if (full > bound) bound = full;
  }
  return bound;
}

Result<GpuCounters> plan_counters(const GpuInventory& g, const std::vector<Offer>& offers,
                                  const std::string& set_name) {
  GpuCounters c;
  ojson first = {{"memory", {{"value", quantity_mib(framebuffer_bound(g))}}}};
  for (const auto& t : g.types) {
    if (t.available == 0) continue;
    if (g.occupancy.free_placements(*t.type).size() <= t.available) continue;
    first["max-" + dns_label(t.type->name)] = {{"value", std::to_string(t.available)}};
    c.capped.push_back(t.type->name);
  }
  const std::size_t extras = first.size();
  if (extras >= max_counters_per_set)
    return fail(Errc::not_supported, "GPU " + g.gpu().address.to_string() + " needs " +
                                         std::to_string(extras) +
                                         " per-type counters, more than a counter set holds");
  c.runs = slot_runs(offers);
  coarsen(c.runs, 2 * max_counters_per_set - extras);
  const std::size_t in_first = max_counters_per_set - extras;
  ojson second = ojson::object();
  for (std::size_t i = 0; i < c.runs.size(); ++i) {
    const bool overflow = c.runs.size() > in_first && i >= in_first;
    (overflow ? second : first)[c.runs[i].counter()] = {{"value", "1"}};
    c.run_set.push_back(overflow ? 1 : 0);
  }
  c.sets.push_back(set_name);
  c.counters.push_back(std::move(first));
  if (!second.empty()) {
    c.sets.push_back(set_name + "-2");
    c.counters.push_back(std::move(second));
  }
  return c;
}

// The compatibility group of @p t on an equal-size GPU: one framebuffer size per GPU, and
// one type where types may not share (C series, or OccupancyOptions::one_type_per_gpu).
std::string compatibility_group(const GpuOccupancy& occupancy, const VgpuType& t) {
  if (occupancy.options().one_type_per_gpu || t.series == Series::C)
    return "type-" + dns_label(t.name);
  return "fb-" + std::to_string(t.framebuffer.in_mib()) + "mi";
}

ojson device_json(const GpuInventory& g, const Offer& o, const GpuCounters& c,
                  const std::string& name, const ExportOptions& options) {
  const VgpuType& t = *o.type->type;
  const PhysicalGpu& gpu = g.gpu();
  ojson attributes = {{"type", {{"string", t.name}}},
                      {"model", {{"string", gpu.model->name}}},
                      {"gpu", {{"string", gpu.address.to_string()}}},
                      {"placement", {{"int", o.start}}},
                      {"series", {{"string", to_string(t.series)}}},
                      {"mode", {{"string", std::string(to_string(gpu.mode))}}},
                      {"mdevType", {{"string", o.type->kernel_id}}}};
  if (t.max_heads) attributes["heads"] = {{"int", t.max_heads}};
  if (t.max_resolution.pixels())
    attributes["maxResolution"] = {{"string", t.max_resolution.to_string()}};
  if (t.mig) attributes["migProfile"] = {{"string", t.mig->name}};
  if (gpu.numa_node) attributes["numaNode"] = {{"int", *gpu.numa_node}};

  std::vector<ojson> consumed(c.sets.size(), ojson::object());
  consumed[0]["memory"] = {{"value", quantity_mib(t.framebuffer)}};
  if (std::find(c.capped.begin(), c.capped.end(), t.name) != c.capped.end())
    consumed[0]["max-" + dns_label(t.name)] = {{"value", "1"}};
  const std::uint32_t end = o.start + t.placement_size;
  for (std::size_t i = 0; i < c.runs.size(); ++i)
    if (c.runs[i].begin < end && o.start < c.runs[i].end)
      consumed[c.run_set[i]][c.runs[i].counter()] = {{"value", "1"}};
  ojson consumes = ojson::array();
  for (std::size_t s = 0; s < c.sets.size(); ++s) {
    if (consumed[s].empty()) continue;
    ojson entry = {{"counterSet", c.sets[s]}, {"counters", consumed[s]}};
    if (options.dra_compatibility_groups && gpu.mode == GpuMode::equal_size)
      entry["compatibilityGroups"] = ojson::array({compatibility_group(g.occupancy, t)});
    consumes.push_back(std::move(entry));
  }
  return {{"name", name},
          {"attributes", std::move(attributes)},
          {"capacity", {{"memory", {{"value", quantity_mib(t.framebuffer)}}}}},
          {"consumesCounters", std::move(consumes)}};
}

ojson slice_json(const std::string& name, const std::string& node, const ExportOptions& options,
                 const char* key, ojson items) {
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"driver", options.dra_driver},
            {"nodeName", node},
            {"pool",
             {{"name", node}, {"generation", options.dra_generation}, {"resourceSliceCount", 0}}},
            {key, std::move(items)}}}};
}

std::size_t consumed_count(const ojson& device) {
  std::size_t n = 0;
  for (const auto& c : device["consumesCounters"])
    n += c["counters"].size();
  return n;
}

}  // namespace

Result<std::vector<ojson>> dra_slices(const Inventory& inventory, const ExportOptions& options) {
  auto gpus = selected_gpus(inventory, options);
  if (!gpus) return gpus.error();
  const std::string node = vgpu::detail::to_lower(inventory.node);
  if (!is_dns_subdomain(node) || node.size() > 200)
    return fail(Errc::invalid_argument,
                "the node name " + vgpu::detail::quoted(inventory.node) +
                    " is not a Kubernetes node name (a lower-case DNS subdomain of at most 200 "
                    "characters here); give the node's name with --node NAME");
  if (!is_dns_subdomain(options.dra_driver) || options.dra_driver.size() > max_driver_name)
    return fail(Errc::invalid_argument,
                "the DRA driver name " + vgpu::detail::quoted(options.dra_driver) +
                    " is not a lower-case DNS subdomain of at most 63 characters; give one your "
                    "organisation owns, e.g. --dra-driver vgpu.example.com");
  if (options.dra_generation == 0 ||
      options.dra_generation > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return fail(Errc::invalid_argument,
                "the pool generation " + std::to_string(options.dra_generation) +
                    " is outside 1 to 9223372036854775807 (an int64 above 0); give a number "
                    "higher than the last publication's, e.g. --dra-generation $(date +%s)");

  ojson counter_sets = ojson::array();
  std::vector<ojson> devices;
  for (const auto* g : *gpus) {
    const std::string gpu_label = "gpu-" + dns_label(g->gpu().address.to_string());
    std::vector<Offer> offers;
    for (const auto& t : g->types) {
      if (t.available == 0) continue;
      for (auto start : g->occupancy.free_placements(*t.type))
        offers.push_back({&t, start});
    }
    auto counters = plan_counters(*g, offers, gpu_label);
    if (!counters) return counters.error();
    for (std::size_t s = 0; s < counters->sets.size(); ++s)
      counter_sets.push_back({{"name", counters->sets[s]}, {"counters", counters->counters[s]}});
    for (const auto& o : offers) {
      const std::string name =
          gpu_label + "-" + dns_label(o.type->type->name) + "-p" + std::to_string(o.start);
      if (!is_dns_label(name))
        return fail(Errc::not_supported,
                    "the DRA device name " + vgpu::detail::quoted(name) + " for " +
                        o.type->type->name +
                        " is not a DNS label of at most 63 characters; shorten the type's name "
                        "in the catalog");
      devices.push_back(device_json(*g, o, *counters, name, options));
    }
  }

  std::vector<ojson> slices;
  for (std::size_t i = 0; i < counter_sets.size(); i += max_sets_per_slice) {
    ojson sets = ojson::array();
    for (std::size_t k = i; k < std::min(counter_sets.size(), i + max_sets_per_slice); ++k)
      sets.push_back(counter_sets[k]);
    slices.push_back(slice_json(node + "-vgpu-counters-" + std::to_string(slices.size()), node,
                                options, "sharedCounters", std::move(sets)));
  }
  const std::size_t counter_slices = slices.size();
  ojson batch = ojson::array();
  std::size_t consumed = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    slices.push_back(
        slice_json(node + "-vgpu-devices-" + std::to_string(slices.size() - counter_slices), node,
                   options, "devices", std::move(batch)));
    batch = ojson::array();
    consumed = 0;
  };
  for (auto& d : devices) {
    const std::size_t n = consumed_count(d);
    if (batch.size() == max_devices_per_slice || consumed + n > max_consumed_counters_per_slice)
      flush();
    consumed += n;
    batch.push_back(std::move(d));
  }
  flush();
  for (auto& s : slices)
    s["spec"]["pool"]["resourceSliceCount"] = slices.size();
  return slices;
}

Result<std::vector<Document>> dra(const Inventory& inventory, const ExportOptions& options) {
  auto slices = dra_slices(inventory, options);
  if (!slices) return slices.error();
  std::vector<Document> out;
  for (const auto& s : *slices)
    out.push_back(
        {s["metadata"]["name"].get<std::string>(), "", options.dra_json ? dump(s) : to_yaml(s)});
  return out;
}

}  // namespace vgpu::formats::detail
