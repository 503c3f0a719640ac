/// @file
/// @brief vgpu::PlacementEngine: decides where vGPUs go on a host or a whole fleet.
///
/// Pure computation, header-only, no backend: schedulers and capacity planners use it
/// directly; the Manager (and vgpuctl) put it in front of a backend.
///
/// How it stays fast: GPUs whose state is interchangeable for every future decision (same
/// model, mode, NUMA node and resident vGPUs, e.g. "A16, equal-size, three 4Q vGPUs") form one
/// class; the policy's score is computed once per class and type and cached. A decision walks
/// the classes of the candidate models, not the GPUs, so it costs about the same on 16 GPUs
/// as on 100,000 (see docs/benchmarks.md). Within a class the lowest GPU index wins.
///
/// Thread safety: none. An engine is a value; guard it with a lock, or give each thread its
/// own copy (a copy clones the policy when Policy::clone() can; a custom policy that cannot is
/// shared and must then be thread-safe itself). Even queries such as plan() update caches.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/model/text.hpp"
#include "vgpu/placement/occupancy.hpp"
#include "vgpu/placement/policy.hpp"

namespace vgpu {

/// Index of a GPU in an engine: the order GPUs were added (add_gpus() adds a host's GPUs in
/// PCI address order). Ties between equally good GPUs go to the lowest index.
using GpuIndex = std::uint32_t;

/// Which GPUs the vGPUs of one request must share.
enum class Affinity {
  none,       ///< Only the host (a VM's vGPUs are always on one host).
  numa_node,  ///< One NUMA node (GPUs with an unknown node never qualify).
  pci_root,   ///< One PCI root (GPUs with an unknown root never qualify).
};

/// Where the vGPUs of a request may go.
struct Constraints {
  std::vector<GpuIndex> allowed;           ///< Only these GPUs (empty: any).
  std::vector<GpuIndex> denied;            ///< Never these GPUs.
  std::optional<std::uint32_t> host;       ///< Only GPUs of this host.
  std::optional<std::uint32_t> numa_node;  ///< Only GPUs on this NUMA node.
  std::optional<std::uint32_t> placement;  ///< Only this start slot (single-vGPU requests).
  Affinity affinity = Affinity::none;      ///< What the request's vGPUs must share.
  /// Anti-affinity: each vGPU of the request on its own GPU, and none on a GPU that already
  /// holds a vGPU of the same (non-empty) owner. NVIDIA supports several vGPUs in one VM
  /// only on distinct physical GPUs, hence the default.
  bool distinct_gpus = true;
};

/// What to place: @p count vGPUs of one type, named or chosen from a requirement.
struct Request {
  /// The type, when requested by type; else the engine picks, per GPU model, the smallest
  /// type meeting @p requirement that the GPU's mode can host.
  std::optional<TypeRef> type;
  TypeRequirement requirement;  ///< Used when @p type is empty.
  /// With a requirement: also at least this fraction of the GPU's framebuffer, in thousandths
  /// (Kubernetes/FGD "gpu_milli" style; 1000 is a whole GPU). 0: no such minimum.
  std::uint32_t gpu_milli = 0;
  std::uint32_t count = 1;  ///< All or nothing, all on one host.
  std::string owner;        ///< The VM; recorded with committed vGPUs.
  Constraints constraints;  ///< Where they may go.

  /// A request for @p n vGPUs of type @p t.
  static Request of(TypeRef t, std::uint32_t n = 1) {
    Request r;
    r.type = std::move(t);
    r.count = n;
    return r;
  }
  /// A request for @p n vGPUs meeting @p need.
  static Request needing(TypeRequirement need, std::uint32_t n = 1) {
    Request r;
    r.requirement = std::move(need);
    r.count = n;
    return r;
  }
  /// The framebuffer asked for on a GPU of @p model (the type's, or the requirement's
  /// minimum, raised to gpu_milli of the model's framebuffer).
  [[nodiscard]] Bytes requested_framebuffer(const GpuModel& model) const {
    if (type) return type->type->framebuffer;
    return Shape{{}, requirement.min_framebuffer, {}, gpu_milli}.on(model);
  }
};

/// Where one vGPU goes.
struct Placement {
  GpuIndex gpu = 0;             ///< The GPU.
  TypeRef type;                 ///< The type, from the GPU's model.
  std::uint32_t placement = 0;  ///< Start slot on that GPU.
  double score = 0;             ///< The policy's score (lower won).
};

/// One GPU's verdict for a request, from explain().
struct GpuVerdict {
  GpuIndex gpu = 0;                ///< The GPU.
  bool eligible = false;           ///< Could take the request's first vGPU now.
  const VgpuType* type = nullptr;  ///< The type considered on it (null: none fits the need).
  std::uint32_t placement = 0;     ///< Best placement, when eligible.
  double score = 0;                ///< Its score, when eligible.
  std::string reason;              ///< Why not, when not eligible.
};

/// explain(): the decision and every GPU's verdict.
struct Explanation {
  Result<std::vector<Placement>> decision = fail(Errc::internal, "not decided");  ///< As plan().
  std::vector<GpuVerdict> gpus;  ///< One per GPU, in index order.
};

/// A move in a defragmentation plan or a relocation.
struct Move {
  Uuid uuid;                    ///< The vGPU.
  GpuIndex from = 0;            ///< Its GPU now.
  GpuIndex to = 0;              ///< Its GPU after the move.
  std::uint32_t placement = 0;  ///< Its start slot after the move.
};

/// The placement state of a set of GPUs and the decisions over it.
class PlacementEngine {
 public:
  /// An engine with no GPUs that places with @p policy (never null) under @p rules.
  explicit PlacementEngine(std::shared_ptr<Policy> policy, OccupancyOptions rules = {})
      : policy_(std::move(policy)), rules_(rules) {}

  // ---- building the fleet --------------------------------------------------------------

  /// Adds a host called @p name (for messages); returns its number.
  std::uint32_t add_host(std::string name) {
    host_names_.push_back(std::move(name));
    host_gpus_.emplace_back();
    host_vgpus_.push_back(0);
    return static_cast<std::uint32_t>(host_names_.size() - 1);
  }

  /// Adds an empty GPU to @p host (adds host 0, "localhost", if there is none yet).
  /// Fails if the GPU's address is already on that host.
  Result<GpuIndex> add_gpu(PhysicalGpu gpu, std::uint32_t host = 0) {
    if (!gpu.model)
      return fail(Errc::invalid_argument, "GPU " + gpu.address.to_string() + " has no model");
    if (host_names_.empty() && host == 0) add_host("localhost");
    if (host >= host_names_.size())
      return fail(Errc::not_found, "no host " + std::to_string(host) + " (add it first)");
    for (GpuIndex g : host_gpus_[host])
      if (gpus_[g].occ.gpu().address == gpu.address)
        return fail(Errc::conflict,
                    "GPU " + gpu.address.to_string() + " is already on host " + host_names_[host]);
    const auto index = static_cast<GpuIndex>(gpus_.size());
    GpuRec rec{GpuOccupancy(std::move(gpu), rules_), host, 0, no_class};
    rec.root = intern_root(rec.occ.gpu().pci_root);
    gpus_.push_back(std::move(rec));
    host_gpus_[host].push_back(index);
    classify(index);
    return index;
  }

  /// Adds @p gpus to @p host in PCI address order; all or nothing.
  Result<void> add_gpus(std::vector<PhysicalGpu> gpus, std::uint32_t host = 0) {
    std::sort(gpus.begin(), gpus.end(),
              [](const PhysicalGpu& a, const PhysicalGpu& b) { return a.address < b.address; });
    for (std::size_t i = 0; i < gpus.size(); ++i) {
      if (!gpus[i].model)
        return fail(Errc::invalid_argument, "GPU " + gpus[i].address.to_string() + " has no model");
      if (i > 0 && gpus[i].address == gpus[i - 1].address)
        return fail(Errc::conflict, "GPU " + gpus[i].address.to_string() + " is listed twice");
      if (find_gpu(gpus[i].address, host))
        return fail(Errc::conflict, "GPU " + gpus[i].address.to_string() + " is already there");
    }
    for (auto& g : gpus)
      if (auto ok = add_gpu(std::move(g), host); !ok) return ok.error();
    return {};
  }

  /// The GPU at @p address on @p host, if there is one.
  [[nodiscard]] std::optional<GpuIndex> find_gpu(const PciAddress& address,
                                                 std::uint32_t host = 0) const {
    if (host >= host_gpus_.size()) return std::nullopt;
    for (GpuIndex g : host_gpus_[host])
      if (gpus_[g].occ.gpu().address == address) return g;
    return std::nullopt;
  }

  /// Number of GPUs.
  [[nodiscard]] std::size_t gpu_count() const noexcept { return gpus_.size(); }
  /// Number of hosts.
  [[nodiscard]] std::size_t host_count() const noexcept { return host_names_.size(); }
  /// GPU @p g's state (bounds unchecked).
  [[nodiscard]] const GpuOccupancy& gpu(GpuIndex g) const { return gpus_[g].occ; }
  /// The host of GPU @p g.
  [[nodiscard]] std::uint32_t host_of(GpuIndex g) const { return gpus_[g].host; }
  /// Host @p h's name.
  [[nodiscard]] const std::string& host_name(std::uint32_t h) const { return host_names_[h]; }
  /// Host @p h's GPUs.
  [[nodiscard]] const std::vector<GpuIndex>& host_gpus(std::uint32_t h) const {
    return host_gpus_[h];
  }
  /// "0000:41:00.0", or "host7/0000:41:00.0" when there are several hosts.
  [[nodiscard]] std::string gpu_name(GpuIndex g) const {
    const std::string a = gpus_[g].occ.gpu().address.to_string();
    return host_names_.size() > 1 ? host_names_[gpus_[g].host] + "/" + a : a;
  }
  /// The policy.
  [[nodiscard]] Policy& policy() const noexcept { return *policy_; }
  /// Replaces the policy (cached scores are dropped).
  void set_policy(std::shared_ptr<Policy> policy) {
    policy_ = PolicyHandle(std::move(policy));
    ++generation_;
    for (GpuIndex g = 0; g < gpus_.size(); ++g)
      classify(g);  // host context may now matter (or not)
  }
  /// Changes GPU @p g's mode; only an empty GPU may change (Errc::busy otherwise).
  Result<void> set_mode(GpuIndex g, GpuMode mode) {
    if (g >= gpus_.size()) return fail(Errc::not_found, "no GPU " + std::to_string(g));
    auto ok = gpus_[g].occ.set_mode(mode);
    if (ok) classify(g);
    return ok;
  }

  // ---- deciding ------------------------------------------------------------------------

  /// Where the request's vGPUs would go now, all or nothing; nothing changes. On failure the
  /// error says why; explain() gives every GPU's reason.
  Result<std::vector<Placement>> plan(const Request& request) {
    if (auto bad = check_request(request); !bad) return bad.error();
    for (std::uint32_t i = 0; i < request.count; ++i)
      policy_->observe(shape_of(request));
    return probe(request);
  }

  /// plan() without telling the policy about the request: for planners that try many
  /// what-ifs (batch, defragmentation) and must not skew a learning policy.
  Result<std::vector<Placement>> probe(const Request& request) {
    if (auto bad = check_request(request); !bad) return bad.error();
    const OwnerScope owner(*this, request);
    auto placed = decide_all(request);
    if (!placed) return failure(request);
    return std::move(*placed);
  }

  /// Plans @p request and commits it, with fresh UUIDs (or @p uuids, one per vGPU).
  Result<std::vector<std::pair<Uuid, Placement>>> place(const Request& request,
                                                        std::vector<Uuid> uuids = {}) {
    if (!uuids.empty() && uuids.size() != request.count)
      return fail(Errc::invalid_argument, "give one UUID per vGPU (" +
                                              std::to_string(request.count) + "), not " +
                                              std::to_string(uuids.size()));
    for (const auto& u : uuids)
      if (vgpus_.count(u)) return fail(Errc::conflict, "vGPU " + u.to_string() + " already exists");
    auto decided = plan(request);
    if (!decided) return decided.error();
    std::vector<std::pair<Uuid, Placement>> out;
    for (std::size_t i = 0; i < decided->size(); ++i) {
      Uuid u = uuids.empty() ? Uuid::generate() : uuids[i];
      if (auto ok = commit((*decided)[i], u, request.owner); !ok) {
        for (auto& [done, p] : out)
          (void)destroy(done);
        return ok.error();
      }
      out.emplace_back(u, (*decided)[i]);
    }
    return out;
  }

  /// Records vGPU @p uuid at @p where (after the backend created it, or to load existing
  /// state). Checks every hardware rule again; on error nothing changes.
  Result<void> commit(const Placement& where, const Uuid& uuid, std::string owner = {}) {
    if (where.gpu >= gpus_.size())
      return fail(Errc::not_found, "no GPU " + std::to_string(where.gpu) + " in this engine");
    if (!where.type.type) return fail(Errc::invalid_argument, "placement without a type");
    if (vgpus_.count(uuid))
      return fail(Errc::conflict, "vGPU " + uuid.to_string() + " already exists");
    GpuRec& rec = gpus_[where.gpu];
    auto added = rec.occ.add(uuid, *where.type.type, where.placement);
    if (!added) return added.error();
    vgpus_.emplace(uuid, VgpuRec{where.gpu, std::move(owner)});
    const auto& o = vgpus_.at(uuid).owner;
    if (!o.empty()) owners_[o].push_back(where.gpu);
    on_changed(where.gpu, +1);
    return {};
  }

  /// Forgets vGPU @p uuid (after the backend destroyed it).
  Result<void> destroy(const Uuid& uuid) {
    auto it = vgpus_.find(uuid);
    if (it == vgpus_.end()) return fail(Errc::not_found, "no vGPU " + uuid.to_string());
    const GpuIndex g = it->second.gpu;
    if (auto ok = gpus_[g].occ.remove(uuid); !ok) return ok;
    if (!it->second.owner.empty()) {
      auto o = owners_.find(it->second.owner);
      auto& list = o->second;
      list.erase(std::find(list.begin(), list.end(), g));
      if (list.empty()) owners_.erase(o);
    }
    vgpus_.erase(it);
    on_changed(g, -1);
    return {};
  }

  /// The GPU holding vGPU @p uuid.
  [[nodiscard]] std::optional<GpuIndex> gpu_of(const Uuid& uuid) const {
    auto it = vgpus_.find(uuid);
    if (it == vgpus_.end()) return std::nullopt;
    return it->second.gpu;
  }
  /// The owner recorded for vGPU @p uuid.
  [[nodiscard]] std::string owner_of(const Uuid& uuid) const {
    auto it = vgpus_.find(uuid);
    return it == vgpus_.end() ? std::string{} : it->second.owner;
  }
  /// Number of vGPUs.
  [[nodiscard]] std::size_t vgpu_count() const noexcept { return vgpus_.size(); }
  /// Number of GPUs holding at least one vGPU.
  [[nodiscard]] std::size_t gpus_in_use() const noexcept { return gpus_in_use_; }

  /// Every GPU's verdict for the request's first vGPU, and the decision plan() makes.
  /// Costs one evaluation per GPU: meant for people and tests, not the hot path.
  Explanation explain(const Request& request) {
    Explanation out;
    out.decision = probe(request);
    if (auto bad = check_request(request); !bad) {
      out.decision = bad.error();
      return out;
    }
    const OwnerScope owner(*this, request);
    const auto cands = candidates(request);
    for (GpuIndex g = 0; g < gpus_.size(); ++g) {
      GpuVerdict v;
      v.gpu = g;
      const GpuOccupancy& occ = gpus_[g].occ;
      const Cand* cand = nullptr;
      for (const auto& c : cands)
        if (c.model == occ.gpu().model.get() && c.mode == occ.gpu().mode) cand = &c;
      const VgpuType* t = cand ? cand->type : nullptr;
      v.type = t;
      if (auto why = filter_reason(g, request.constraints, {}); !why.empty()) {
        v.reason = "GPU " + gpu_name(g) + ": " + why;
      } else if (!t) {
        v.reason = no_type_reason(g, request);
      } else if (auto at = occ.find_placement(*t, request.constraints.placement); !at) {
        v.reason = in_context(g, at.error().message());
      } else {
        auto e = evaluate(g, *t, cand->requested, request.constraints.placement);
        v.eligible = e.feasible;
        v.placement = e.placement;
        v.score = e.score;
        if (!e.feasible) v.reason = "GPU " + gpu_name(g) + ": no placement";
      }
      out.gpus.push_back(std::move(v));
    }
    return out;
  }

  /// Checks @p request without deciding anything: Errc::invalid_argument for a bad request
  /// (count 0, an empty or foreign type, a placement with count > 1), Errc::not_found for a
  /// GPU or host that does not exist.
  [[nodiscard]] Result<void> validate(const Request& request) const {
    return check_request(request);
  }

  /// The type @p request would use on GPU @p g in its current mode (the named type if it is
  /// of g's model, else the smallest meeting the requirement), or null when none.
  [[nodiscard]] const VgpuType* type_for(const Request& request, GpuIndex g) const {
    const auto& pg = gpus_[g].occ.gpu();
    for (const auto& c : candidates(request))
      if (c.model == pg.model.get() && c.mode == pg.mode) return c.type;
    return nullptr;
  }

  /// Why @p request's constraints (and its owner's anti-affinity) rule GPU @p g out, or an
  /// empty string when they do not.
  [[nodiscard]] std::string exclusion(GpuIndex g, const Request& request) {
    const OwnerScope owner(*this, request);
    return filter_reason(g, request.constraints, {});
  }

  // ---- queries (what NVML and sysfs answer) ---------------------------------------------

  /// Types GPU @p g supports in its current mode.
  [[nodiscard]] std::vector<const VgpuType*> supported_types(GpuIndex g) const {
    std::vector<const VgpuType*> out;
    const auto& occ = gpus_[g].occ;
    for (const auto& t : occ.gpu().model->types) {
      const bool mode_ok = (occ.gpu().mode == GpuMode::mig) == t.is_mig_backed() &&
                           !(occ.gpu().mode == GpuMode::mixed_size && t.max_instances_mixed == 0);
      if (mode_ok) out.push_back(&t);
    }
    return out;
  }
  /// Types that could be created on GPU @p g now.
  [[nodiscard]] std::vector<const VgpuType*> creatable_types(GpuIndex g) const {
    std::vector<const VgpuType*> out;
    for (const auto* t : supported_types(g))
      if (gpus_[g].occ.can_create(*t)) out.push_back(t);
    return out;
  }
  /// Free placements for @p type on GPU @p g now.
  [[nodiscard]] std::vector<std::uint32_t> creatable_placements(GpuIndex g,
                                                                const VgpuType& type) const {
    return gpus_[g].occ.free_placements(type);
  }
  /// How many more vGPUs of @p type GPU @p g takes now.
  [[nodiscard]] std::uint32_t remaining(GpuIndex g, const VgpuType& type) const {
    return gpus_[g].occ.remaining(type);
  }

  /// Classes of interchangeable GPUs alive now (for benchmarks and memory accounting).
  [[nodiscard]] std::size_t class_count() const noexcept { return live_classes_; }

 private:
  static constexpr std::uint32_t no_class = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::uint32_t unknown = std::numeric_limits<std::uint32_t>::max();

  struct GpuRec {
    GpuOccupancy occ;
    std::uint32_t host = 0;
    std::uint32_t root = unknown;
    std::uint32_t cls = no_class;
  };
  struct VgpuRec {
    GpuIndex gpu = 0;
    std::string owner;
  };
  struct ClassKey {
    const GpuModel* model = nullptr;
    GpuMode mode = GpuMode::equal_size;
    std::uint32_t numa = unknown;
    bool host_busy = false;
    std::vector<std::uint32_t> sig;
    friend bool operator==(const ClassKey&, const ClassKey&) = default;
  };
  struct ClassKeyHash {
    std::size_t operator()(const ClassKey& k) const noexcept {
      std::size_t h = std::hash<const void*>{}(k.model);
      auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
      mix(static_cast<std::size_t>(k.mode));
      mix(k.numa);
      mix(k.host_busy);
      for (auto v : k.sig)
        mix(v);
      return h;
    }
  };
  struct UuidHash {
    std::size_t operator()(const Uuid& u) const noexcept {
      std::size_t h = 0;
      for (auto b : u.bytes())
        h = h * 131 + b;
      return h;
    }
  };
  struct CacheEntry {
    std::uint64_t stamp = 0;
    std::uint64_t requested = 0;
    bool feasible = false;
    std::uint32_t placement = 0;
    double score = 0;
  };
  struct GpuClass {
    ClassKey key;
    std::set<GpuIndex> members;
    std::vector<CacheEntry> cache;  // per type index of the model
  };
  // One (model, mode, type) the request could use.
  struct Cand {
    const GpuModel* model;
    GpuMode mode;
    const VgpuType* type;
    Bytes requested;  // what the request needs on this model
  };
  // The owner whose vGPUs anti-affinity avoids, while a request is decided or explained.
  // Also turns long allowed/denied lists into bitmaps for the duration, so filtering a GPU
  // stays O(1) (planners pass thousands of allowed GPUs).
  struct OwnerScope {
    OwnerScope(PlacementEngine& e, const Request& rq) : engine(e) {
      e.owner_ = &rq.owner;
      e.mask(rq.constraints.allowed, e.allowed_of_, e.allowed_mask_);
      e.mask(rq.constraints.denied, e.denied_of_, e.denied_mask_);
    }
    ~OwnerScope() {
      engine.owner_ = nullptr;
      engine.allowed_of_ = engine.denied_of_ = nullptr;
    }
    OwnerScope(const OwnerScope&) = delete;
    OwnerScope& operator=(const OwnerScope&) = delete;
    PlacementEngine& engine;
  };
  struct Eval {
    bool feasible = false;
    std::uint32_t placement = 0;
    double score = 0;
  };
  // Per-vGPU filter beyond the request's constraints (for the 2nd.. vGPU of a request).
  struct Scope {
    std::optional<std::uint32_t> host;
    std::optional<std::uint32_t> numa;
    std::optional<std::uint32_t> root;
    std::vector<GpuIndex> taken;  // GPUs used by this request so far (anti-affinity)
    const std::vector<char>* excluded_hosts = nullptr;  // hosts already ruled out
  };

  // ---- classes ----

  [[nodiscard]] std::uint64_t stamp() const noexcept {
    return (generation_ << 40) + policy_->epoch() + 1;
  }

  ClassKey key_of(GpuIndex g) const {
    const GpuRec& r = gpus_[g];
    const auto& occ = r.occ;
    ClassKey k;
    k.model = occ.gpu().model.get();
    k.mode = occ.gpu().mode;
    k.numa = occ.gpu().numa_node.value_or(unknown);
    k.host_busy = policy_->uses_host_context() && host_vgpus_[r.host] > occ.occupants().size();
    const auto& types = occ.gpu().model->types;
    auto type_index = [&](const VgpuType* t) {
      return static_cast<std::uint32_t>(t - types.data());
    };
    if (occ.empty()) return k;
    if (k.mode == GpuMode::equal_size) {
      // Slot positions do not matter in equal-size mode: every free slot of the size is alike.
      const VgpuType* first = occ.occupants().front().type;
      const bool types_matter = occ.options().one_type_per_gpu || first->series == Series::C;
      // A/B/Q vGPUs of one size share one budget (counted by size); only C-series and the
      // one-type-per-GPU rule make the resident type itself matter.
      k.sig = {static_cast<std::uint32_t>(first->framebuffer.in_mib()),
               types_matter ? type_index(first) : unknown,
               static_cast<std::uint32_t>(occ.occupants().size())};
      return k;
    }
    for (const auto& o : occ.occupants())
      k.sig.push_back((type_index(o.type) << 8) | o.placement);
    std::sort(k.sig.begin(), k.sig.end());
    return k;
  }

  void classify(GpuIndex g) {
    ClassKey k = key_of(g);
    GpuRec& r = gpus_[g];
    if (r.cls != no_class && classes_[r.cls].key == k) return;
    if (r.cls != no_class) {
      classes_[r.cls].members.erase(g);
      if (classes_[r.cls].members.empty()) --live_classes_;
    }
    auto it = class_index_.find(k);
    std::uint32_t c;
    if (it == class_index_.end()) {
      c = static_cast<std::uint32_t>(classes_.size());
      GpuClass cls;
      cls.cache.resize(r.occ.gpu().model->types.size());
      cls.key = k;
      classes_.push_back(std::move(cls));
      class_index_.emplace(std::move(k), c);
      group_of(r.occ.gpu().model.get()).push_back(c);
    } else {
      c = it->second;
    }
    if (classes_[c].members.empty()) ++live_classes_;
    classes_[c].members.insert(g);
    r.cls = c;
    maybe_collect();
  }

  // Classes are kept when they empty (a GPU often comes back to a state); when most are
  // empty they are rebuilt from the GPUs so memory stays proportional to what is in use.
  void maybe_collect() {
    if (classes_.size() < 4096 || classes_.size() < 4 * live_classes_) return;
    classes_.clear();
    class_index_.clear();
    groups_.clear();
    live_classes_ = 0;
    for (auto& r : gpus_)
      r.cls = no_class;
    for (GpuIndex g = 0; g < gpus_.size(); ++g)
      classify(g);
  }

  std::vector<std::uint32_t>& group_of(const GpuModel* m) {
    for (auto& [model, list] : groups_)
      if (model == m) return list;
    groups_.emplace_back(m, std::vector<std::uint32_t>{});
    return groups_.back().second;
  }
  const std::vector<std::uint32_t>* find_group(const GpuModel* m) const {
    for (const auto& [model, list] : groups_)
      if (model == m) return &list;
    return nullptr;
  }

  std::uint32_t intern_root(const std::string& root) {
    if (root.empty()) return unknown;
    for (std::uint32_t i = 0; i < roots_.size(); ++i)
      if (roots_[i] == root) return i;
    roots_.push_back(root);
    return static_cast<std::uint32_t>(roots_.size() - 1);
  }

  void on_changed(GpuIndex g, int delta) {
    GpuRec& r = gpus_[g];
    const std::size_t n = r.occ.occupants().size();
    if (delta > 0 && n == 1) ++gpus_in_use_;
    if (delta < 0 && n == 0) --gpus_in_use_;
    const std::size_t before = host_vgpus_[r.host];
    host_vgpus_[r.host] = static_cast<std::size_t>(static_cast<long long>(before) + delta);
    classify(g);
    // host_busy of the other GPUs flips only when their host goes idle <-> busy, or when
    // this GPU's count crosses the others' (a GPU is "busy-hosted" if others hold vGPUs).
    // Another GPU s sees its host busy when the host holds more vGPUs than s; reclassify only
    // the GPUs for which that just flipped.
    const std::size_t after = host_vgpus_[r.host];
    if (policy_->uses_host_context())
      for (GpuIndex s : host_gpus_[r.host]) {
        const std::size_t own = gpus_[s].occ.occupants().size();
        if (s != g && (before > own) != (after > own)) classify(s);
      }
  }

  // ---- evaluating ----

  // The policy's best (score, placement) for @p t on GPU @p g, or infeasible.
  Eval evaluate(GpuIndex g, const VgpuType& t, Bytes requested,
                std::optional<std::uint32_t> fixed = std::nullopt) {
    const GpuRec& r = gpus_[g];
    const GpuOccupancy& occ = r.occ;
    Eval out;
    Candidate c{&occ, &t, 0, classes_[r.cls].key.host_busy, requested};
    if (fixed) {
      if (!occ.can_create_at(t, *fixed)) return out;
      c.placement = *fixed;
      return Eval{true, *fixed, policy_->score(c)};
    }
    if (!occ.can_create(t)) return out;
    if (!policy_->placement_sensitive() || occ.gpu().mode == GpuMode::equal_size) {
      c.placement = *occ.find_placement(t);
      return Eval{true, c.placement, policy_->score(c)};
    }
    occ.for_each_start(t, [&](std::uint32_t s) {
      if (!occ.is_free(t, s)) return true;
      c.placement = s;
      const double sc = policy_->score(c);
      if (!out.feasible || sc < out.score) out = Eval{true, s, sc};
      return true;
    });
    return out;
  }

  // Cached evaluate() for a class (through its first member).
  const CacheEntry& cached(std::uint32_t c, const VgpuType& t, Bytes requested) {
    GpuClass& cls = classes_[c];
    const auto ti = static_cast<std::size_t>(&t - cls.key.model->types.data());
    CacheEntry& e = cls.cache[ti];
    const std::uint64_t now = stamp();
    if (e.stamp != now || e.requested != requested.count()) {
      const Eval ev = evaluate(*cls.members.begin(), t, requested);
      e = CacheEntry{now, requested.count(), ev.feasible, ev.placement, ev.score};
    }
    return e;
  }

  void mask(const std::vector<GpuIndex>& list, const std::vector<GpuIndex>*& of,
            std::vector<char>& bits) {
    of = nullptr;
    if (list.size() <= 16) return;
    bits.assign(gpus_.size(), 0);
    for (GpuIndex g : list)
      if (g < bits.size()) bits[g] = 1;
    of = &list;
  }
  static bool listed(GpuIndex g, const std::vector<GpuIndex>& list, const std::vector<GpuIndex>* of,
                     const std::vector<char>& bits) {
    if (of == &list) return bits[g] != 0;
    return std::find(list.begin(), list.end(), g) != list.end();
  }

  // Why GPU @p g is excluded by the constraints and scope (empty: it is not).
  std::string filter_reason(GpuIndex g, const Constraints& c, const Scope& s) const {
    const GpuRec& r = gpus_[g];
    const auto& pg = r.occ.gpu();
    if (!c.allowed.empty() && !listed(g, c.allowed, allowed_of_, allowed_mask_))
      return "not among the allowed GPUs";
    if (listed(g, c.denied, denied_of_, denied_mask_)) return "denied";
    if (c.host && r.host != *c.host) return "on another host";
    if (s.host && r.host != *s.host) return "on another host than the request's other vGPUs";
    if (s.excluded_hosts && (*s.excluded_hosts)[r.host]) return "on a host already ruled out";
    if (c.numa_node && pg.numa_node != c.numa_node)
      return "on NUMA node " + (pg.numa_node ? std::to_string(*pg.numa_node) : "unknown") +
             ", not " + std::to_string(*c.numa_node);
    if (s.numa && pg.numa_node != s.numa) return "on another NUMA node than the request's vGPUs";
    if (s.root && r.root != *s.root) return "under another PCI root than the request's vGPUs";
    if (c.affinity == Affinity::numa_node && !pg.numa_node)
      return "NUMA node unknown (the request needs NUMA affinity)";
    if (c.affinity == Affinity::pci_root && r.root == unknown)
      return "PCI root unknown (the request needs PCI-root affinity)";
    if (c.distinct_gpus) {
      if (std::find(s.taken.begin(), s.taken.end(), g) != s.taken.end())
        return "already holds one of this request's vGPUs";
      if (owner_ && !owner_->empty()) {
        auto it = owners_.find(*owner_);
        if (it != owners_.end() &&
            std::find(it->second.begin(), it->second.end(), g) != it->second.end())
          return "already holds a vGPU of " + detail::printable(*owner_) + " (anti-affinity)";
      }
    }
    return {};
  }
  bool passes(GpuIndex g, const Constraints& c, const Scope& s) const {
    return filter_reason(g, c, s).empty();
  }

  // The (model, mode, type) combinations a request can use on this fleet.
  std::vector<Cand> candidates(const Request& rq) const {
    std::vector<Cand> out;
    if (rq.type) {
      const VgpuType* t = rq.type->type;
      for (GpuMode m : {GpuMode::equal_size, GpuMode::mixed_size, GpuMode::mig})
        out.push_back(Cand{rq.type->model.get(), m, t, t->framebuffer});
      return out;
    }
    for (const auto& [model, list] : groups_) {
      if (!rq.requirement.model.empty() && !names_model(*model, rq.requirement.model)) continue;
      TypeRequirement need = rq.requirement;
      need.min_framebuffer = rq.requested_framebuffer(*model);
      for (GpuMode m : {GpuMode::equal_size, GpuMode::mixed_size, GpuMode::mig}) {
        const VgpuType* best = nullptr;
        for (const auto& t : model->types) {
          if (!satisfies(t, need)) continue;
          if ((m == GpuMode::mig) != t.is_mig_backed()) continue;
          if (m == GpuMode::mixed_size && t.max_instances_mixed == 0) continue;
          if (!best || std::tie(t.framebuffer, t.max_heads, t.name) <
                           std::tie(best->framebuffer, best->max_heads, best->name))
            best = &t;
        }
        if (best) out.push_back(Cand{model, m, best, need.min_framebuffer});
      }
    }
    return out;
  }
  static bool names_model(const GpuModel& m, const std::string& name) {
    const std::string k = detail::lookup_key(name);
    if (detail::lookup_key(m.name) == k) return true;
    return std::any_of(m.aliases.begin(), m.aliases.end(),
                       [&](const std::string& a) { return detail::lookup_key(a) == k; });
  }

  struct Best {
    bool found = false;
    double score = 0;
    GpuIndex gpu = 0;
    const VgpuType* type = nullptr;
    std::uint32_t placement = 0;
    bool better(double s, GpuIndex g) const {
      return !found || s < score || (s == score && g < gpu);
    }
  };

  // The best single placement for the request's next vGPU under @p scope.
  std::optional<Placement> decide_one(const Request& rq, const std::vector<Cand>& cands,
                                      const Scope& scope) {
    const Constraints& c = rq.constraints;
    Best best;
    auto consider_gpu = [&](GpuIndex g, const Cand& cand) {
      const GpuRec& r = gpus_[g];
      if (r.occ.gpu().model.get() != cand.model || r.occ.gpu().mode != cand.mode) return;
      if (!passes(g, c, scope)) return;
      Eval e;
      if (c.placement) {
        e = evaluate(g, *cand.type, cand.requested, c.placement);
      } else {
        const CacheEntry& ce = cached(r.cls, *cand.type, cand.requested);
        e = Eval{ce.feasible, ce.placement, ce.score};
      }
      if (e.feasible && best.better(e.score, g))
        best = Best{true, e.score, g, cand.type, e.placement};
    };
    // Small explicit sets: look at their GPUs directly.
    const std::vector<GpuIndex>* direct = nullptr;
    if (!c.allowed.empty()) direct = &c.allowed;
    if (scope.host)
      direct = &host_gpus_[*scope.host];
    else if (c.host && c.host < host_gpus_.size())
      direct = &host_gpus_[*c.host];
    if (direct || c.placement) {
      if (policy_->randomized()) return pick_random(rq, cands, scope, direct);
      const auto& list = direct ? *direct : all_indices();
      for (GpuIndex g : list)
        for (const auto& cand : cands)
          consider_gpu(g, cand);
    } else {
      if (policy_->randomized()) return pick_random(rq, cands, scope, nullptr);
      for_each_feasible_class(rq, cands,
                              [&](std::uint32_t cid, const Cand& cand, const CacheEntry& ce) {
                                if (best.found && ce.score > best.score) return;
                                for (GpuIndex g : classes_[cid].members) {
                                  if (!best.better(ce.score, g)) break;
                                  if (!passes(g, c, scope)) continue;
                                  best = Best{true, ce.score, g, cand.type, ce.placement};
                                  break;
                                }
                              });
    }
    if (!best.found) return std::nullopt;
    return finish(best, c.placement.has_value());
  }

  // Calls fn(class, candidate, cached entry) for every non-empty class of a candidate's model
  // and mode (and NUMA node, if the request names one) that can take the candidate's type.
  template <typename Fn>
  void for_each_feasible_class(const Request& rq, const std::vector<Cand>& cands, Fn&& fn) {
    for (const auto& cand : cands) {
      const auto* group = find_group(cand.model);
      if (!group) continue;
      for (std::uint32_t cid : *group) {
        const GpuClass& cls = classes_[cid];
        if (cls.members.empty() || cls.key.mode != cand.mode) continue;
        if (rq.constraints.numa_node && cls.key.numa != *rq.constraints.numa_node) continue;
        const CacheEntry& ce = cached(cid, *cand.type, cand.requested);
        if (ce.feasible) fn(cid, cand, ce);
      }
    }
  }

  // The placement for @p best. Equal-size classes ignore slot positions, so unless the
  // request fixed the start (@p fixed), take the chosen GPU's own first free slot.
  Placement finish(const Best& best, bool fixed = false) const {
    const GpuOccupancy& occ = gpus_[best.gpu].occ;
    std::uint32_t at = best.placement;
    if (occ.gpu().mode == GpuMode::equal_size && !fixed) at = *occ.find_placement(*best.type);
    return Placement{best.gpu, TypeRef{occ.gpu().model, best.type}, at, best.score};
  }

  // random: uniform over the eligible GPUs.
  std::optional<Placement> pick_random(const Request& rq, const std::vector<Cand>& cands,
                                       const Scope& scope, const std::vector<GpuIndex>* direct) {
    const Constraints& c = rq.constraints;
    std::vector<std::pair<GpuIndex, Eval>> pool;                     // direct lists
    std::vector<std::pair<std::uint32_t, const VgpuType*>> classes;  // class walk
    std::uint64_t total = 0;
    if (direct || c.placement) {
      const auto& list = direct ? *direct : all_indices();
      for (GpuIndex g : list)
        for (const auto& cand : cands) {
          const auto& pg = gpus_[g].occ.gpu();
          if (pg.model.get() != cand.model || pg.mode != cand.mode || !passes(g, c, scope))
            continue;
          Eval e = evaluate(g, *cand.type, cand.requested, c.placement);
          if (e.feasible) pool.emplace_back(g, e);
        }
      if (pool.empty()) return std::nullopt;
      const auto& [g, e] = pool[policy_->draw(pool.size())];
      const VgpuType* t = nullptr;
      for (const auto& cand : cands)
        if (cand.model == gpus_[g].occ.gpu().model.get() && cand.mode == gpus_[g].occ.gpu().mode)
          t = cand.type;
      return finish(Best{true, 0, g, t, e.placement}, c.placement.has_value());
    }
    for_each_feasible_class(rq, cands, [&](std::uint32_t cid, const Cand& cand, const CacheEntry&) {
      classes.emplace_back(cid, cand.type);
      total += classes_[cid].members.size();
    });
    if (total == 0) return std::nullopt;
    // Rejection sampling over all GPUs is exactly uniform over the eligible ones and cheap
    // unless few are eligible; after 64 misses, draw a position in the eligible classes
    // instead (uniform unless the constraints exclude the GPU drawn: then the next one).
    std::vector<const VgpuType*> type_of(classes_.size(), nullptr);
    for (const auto& [cid, t] : classes)
      type_of[cid] = t;
    auto placement_of = [&](std::uint32_t cid, const VgpuType* t) {
      return classes_[cid]
          .cache[static_cast<std::size_t>(t - cls_model(cid)->types.data())]
          .placement;
    };
    for (int tries = 0; tries < 64; ++tries) {
      const auto g = static_cast<GpuIndex>(policy_->draw(gpus_.size()));
      const std::uint32_t cid = gpus_[g].cls;
      if (type_of[cid] && passes(g, c, scope))
        return finish(Best{true, 0, g, type_of[cid], placement_of(cid, type_of[cid])});
    }
    std::uint64_t k = policy_->draw(total);
    for (std::size_t pass = 0; pass < 2; ++pass) {
      for (const auto& [cid, t] : classes) {
        const auto& members = classes_[cid].members;
        if (k >= members.size()) {
          k -= members.size();
          continue;
        }
        auto it = members.begin();
        std::advance(it, static_cast<long>(k));
        for (; it != members.end(); ++it)
          if (passes(*it, c, scope)) return finish(Best{true, 0, *it, t, placement_of(cid, t)});
        k = 0;
      }
      k = 0;
    }
    return std::nullopt;
  }
  const GpuModel* cls_model(std::uint32_t c) const { return classes_[c].key.model; }

  const std::vector<GpuIndex>& all_indices() {
    if (all_.size() != gpus_.size()) {
      all_.resize(gpus_.size());
      for (GpuIndex g = 0; g < gpus_.size(); ++g)
        all_[g] = g;
    }
    return all_;
  }

  // All vGPUs of the request, or nothing, on one host. Fast path: the policy picks the first
  // vGPU anywhere and the rest are completed on its host; after a few hosts fail that way,
  // every remaining host is tried and the lowest total score wins (so a fitting host is never
  // missed, at O(GPUs) for such requests).
  std::optional<std::vector<Placement>> decide_all(const Request& rq) {
    const auto cands = candidates(rq);
    if (rq.count == 1) {
      auto p = decide_one(rq, cands, Scope{});
      if (!p) return std::nullopt;
      return std::vector<Placement>{*p};
    }
    std::vector<char> excluded(host_names_.size(), 0);
    for (int attempt = 0; attempt < 8; ++attempt) {
      Scope anywhere;
      anywhere.excluded_hosts = &excluded;
      auto first = decide_one(rq, cands, anywhere);
      if (!first && attempt == 0) return std::nullopt;  // not even one vGPU fits anywhere
      if (!first) break;
      if (auto all = complete(rq, *first)) return all;
      excluded[gpus_[first->gpu].host] = 1;
    }
    // Every host, and on it every GPU as the first vGPU's (the first fixes the NUMA node,
    // PCI root and model the others must share).
    std::optional<std::vector<Placement>> best;
    double best_total = 0;
    for (std::uint32_t h = 0; h < host_names_.size(); ++h) {
      if (rq.constraints.host && *rq.constraints.host != h) continue;
      for (GpuIndex g : host_gpus_[h]) {
        Request on_gpu = rq;
        on_gpu.constraints.allowed = {g};
        if (!rq.constraints.allowed.empty() &&
            std::find(rq.constraints.allowed.begin(), rq.constraints.allowed.end(), g) ==
                rq.constraints.allowed.end())
          continue;
        auto first = decide_one(on_gpu, cands, Scope{});
        if (!first) continue;
        auto all = complete(rq, *first);
        if (!all) continue;
        double total = 0;
        for (const auto& p : *all)
          total += p.score;
        if (!best || total < best_total) {
          best = std::move(all);
          best_total = total;
        }
      }
    }
    return best;
  }

  // The rest of a multi-vGPU request on the host of its first vGPU @p first (of the same
  // type: one VM's vGPUs are of one type), or nothing. Leaves the state as it was.
  std::optional<std::vector<Placement>> complete(const Request& rq, const Placement& first) {
    std::vector<Placement> out{first};
    std::vector<Uuid> tentative;
    Scope scope;
    scope.host = gpus_[first.gpu].host;
    if (rq.constraints.affinity == Affinity::numa_node)
      scope.numa = gpus_[first.gpu].occ.gpu().numa_node;
    if (rq.constraints.affinity == Affinity::pci_root) scope.root = gpus_[first.gpu].root;
    // The same type as the first (one VM's vGPUs are of one type), on GPUs of any mode.
    std::vector<Cand> same;
    for (GpuMode m : {GpuMode::equal_size, GpuMode::mixed_size, GpuMode::mig})
      same.push_back(Cand{first.type.model.get(), m, first.type.type,
                          rq.requested_framebuffer(*first.type.model)});
    auto hold = [&](const Placement& p) {
      const Uuid u = probe_uuid(tentative.size());
      scope.taken.push_back(p.gpu);
      if (!commit(p, u)) return false;
      tentative.push_back(u);  // only what was committed is rolled back
      return true;
    };
    bool ok = hold(first);
    while (ok && out.size() < rq.count) {
      auto next = decide_one(rq, same, scope);
      ok = next && hold(*next);
      if (ok) out.push_back(*next);
    }
    for (auto it = tentative.rbegin(); it != tentative.rend(); ++it)
      (void)destroy(*it);
    if (!ok) return std::nullopt;
    return out;
  }

  static Uuid probe_uuid(std::size_t i) {
    std::array<std::uint8_t, 16> b{0xff, 0xff, 0x76, 0x67, 0x70, 0x75,
                                   0x70, 0x72, 0x6f, 0x62, 0x65};
    b[12] = static_cast<std::uint8_t>(i >> 24);
    b[13] = static_cast<std::uint8_t>(i >> 16);
    b[14] = static_cast<std::uint8_t>(i >> 8);
    b[15] = static_cast<std::uint8_t>(i);
    return Uuid{b};
  }

  Result<void> check_request(const Request& rq) const {
    if (rq.count == 0) return fail(Errc::invalid_argument, "count must be at least 1");
    if (rq.type && (!rq.type->model || !rq.type->type))
      return fail(Errc::invalid_argument, "the request's type reference is empty");
    if (rq.type) {
      const auto& types = rq.type->model->types;
      if (types.empty() || rq.type->type < types.data() ||
          rq.type->type >= types.data() + types.size())
        return fail(Errc::invalid_argument, "the request's type " + rq.type->type->name +
                                                " is not one of its model's types (use the "
                                                "catalog's TypeRef)");
    }
    if (rq.count > 1 && rq.constraints.placement)
      return fail(Errc::invalid_argument, "a placement can be given only for a single vGPU");
    for (GpuIndex g : rq.constraints.allowed)
      if (g >= gpus_.size()) return fail(Errc::not_found, "no GPU " + std::to_string(g));
    if (rq.constraints.host && *rq.constraints.host >= host_names_.size())
      return fail(Errc::not_found, "no host " + std::to_string(*rq.constraints.host));
    return {};
  }

  // What the request asks for, in fragmentation terms.
  static Shape shape_of(const Request& rq) {
    if (rq.type) return Shape::of(*rq.type->type);
    Shape s{rq.requirement.series, rq.requirement.min_framebuffer, {}, rq.gpu_milli};
    if (!rq.requirement.include_mig_backed) s.mig_backed = false;
    return s;
  }

  // A GpuOccupancy message about GPU @p g, naming the GPU as the engine does (with its host
  // on fleets of several hosts).
  std::string in_context(GpuIndex g, const std::string& message) const {
    const std::string bare = "GPU " + gpus_[g].occ.gpu().address.to_string();
    if (message.rfind(bare, 0) == 0) return "GPU " + gpu_name(g) + message.substr(bare.size());
    return "GPU " + gpu_name(g) + ": " + message;
  }

  std::string no_type_reason(GpuIndex g, const Request& rq) const {
    const auto& pg = gpus_[g].occ.gpu();
    const std::string gpu = "GPU " + gpu_name(g) + " (" + pg.model->name + ")";
    if (rq.type && rq.type->model.get() != pg.model.get())
      return gpu + ": " + rq.type->type->name + " is a type of " + rq.type->model->name;
    return gpu + ": none of its types for " + std::string(describe(pg.mode)) +
           " mode meets the requirement";
  }

  // The message for a failed plan: the first reasons, grouped by text.
  // The error for a failed plan, with up to 8 reasons: one per GPU when the request lists
  // its GPUs or the fleet has at most 64, else one per class of alike GPUs (hardware reasons
  // only: GPU-level constraints are summed up in one line), so a refusal costs about what a
  // decision costs. Errc::invalid_argument when the only obstacle is a placement the type
  // never allows.
  Error failure(const Request& rq) {
    const std::string what = rq.type ? rq.type->type->name : "a type meeting the requirement";
    std::string head = "no room for " + std::to_string(rq.count) + " x " + what;
    if (gpus_.empty()) return Error(Errc::no_capacity, head + ": there are no GPUs");
    if (rq.count > 1) head += " on one host";
    std::string out;
    std::size_t shown = 0, eligible = 0, bad_placement = 0, full = 0;
    const auto cands = candidates(rq);
    auto judge = [&](GpuIndex g, std::size_t alike, bool filters) {
      const auto& occ = gpus_[g].occ;
      const VgpuType* t = nullptr;
      for (const auto& c : cands)
        if (c.model == occ.gpu().model.get() && c.mode == occ.gpu().mode) t = c.type;
      std::string why = filters ? filter_reason(g, rq.constraints, {}) : std::string{};
      if (!why.empty()) {
        why = "GPU " + gpu_name(g) + ": " + why;
      } else if (!t) {
        why = no_type_reason(g, rq);
      } else if (auto at = occ.find_placement(*t, rq.constraints.placement); !at) {
        why = in_context(g, at.error().message());
        ++(at.error().code() == Errc::invalid_argument ? bad_placement : full);
      } else {
        eligible += alike;
        return;
      }
      if (alike > 1)
        why += " (and " + std::to_string(alike - 1) + " more GPU" + (alike > 2 ? "s" : "") +
               " like it)";
      if (shown++ < 8) out += "\n  - " + why;
    };
    const auto& c = rq.constraints;
    if (!c.allowed.empty()) {
      for (GpuIndex g : c.allowed)
        judge(g, 1, true);
    } else if (gpus_.size() <= 64) {
      for (GpuIndex g = 0; g < gpus_.size(); ++g)
        judge(g, 1, true);
    } else {
      for (const auto& cls : classes_)
        if (!cls.members.empty()) judge(*cls.members.begin(), cls.members.size(), false);
      if (!c.denied.empty() || c.host || c.numa_node || c.affinity != Affinity::none ||
          (c.distinct_gpus && !rq.owner.empty()))
        out +=
            "\n  - (the request's constraints rule out further GPUs: denied GPUs, host, "
            "NUMA node, affinity or the owner's other vGPUs)";
    }
    if (shown > 8) out += "\n  - ... and " + std::to_string(shown - 8) + " more";
    if (eligible > 0)
      out += "\n  - " + std::to_string(eligible) + " GPU(s) could take one " +
             (rq.type ? rq.type->type->name : std::string("such vGPU")) + ", but no host has " +
             std::to_string(rq.count) + " of them under the constraints" +
             (c.distinct_gpus ? " (each vGPU of a VM needs its own GPU)" : "");
    const Errc code = bad_placement > 0 && full == 0 && eligible == 0 ? Errc::invalid_argument
                                                                      : Errc::no_capacity;
    return Error(code, head + ":" + out);
  }

  // The policy; a copy of the engine gets its own clone where the policy can clone itself
  // (all built-in ones), so copies do not share learnt weights or random generators.
  struct PolicyHandle {
    std::shared_ptr<Policy> p;
    PolicyHandle(std::shared_ptr<Policy> policy) : p(std::move(policy)) {}  // NOLINT
    PolicyHandle(const PolicyHandle& o) : p(o.p ? o.p->clone() : nullptr) {
      if (!p) p = o.p;
    }
    PolicyHandle& operator=(const PolicyHandle& o) {
      if (this != &o) *this = PolicyHandle(o);
      return *this;
    }
    PolicyHandle(PolicyHandle&&) noexcept = default;
    PolicyHandle& operator=(PolicyHandle&&) noexcept = default;
    Policy* operator->() const noexcept { return p.get(); }
    Policy& operator*() const noexcept { return *p; }
  };
  PolicyHandle policy_;
  OccupancyOptions rules_;
  std::vector<GpuRec> gpus_;
  std::vector<std::string> host_names_;
  std::vector<std::vector<GpuIndex>> host_gpus_;
  std::vector<std::size_t> host_vgpus_;
  std::vector<std::string> roots_;
  std::unordered_map<Uuid, VgpuRec, UuidHash> vgpus_;
  std::unordered_map<std::string, std::vector<GpuIndex>> owners_;
  std::vector<GpuClass> classes_;
  std::unordered_map<ClassKey, std::uint32_t, ClassKeyHash> class_index_;
  std::vector<std::pair<const GpuModel*, std::vector<std::uint32_t>>> groups_;
  std::vector<GpuIndex> all_;
  std::size_t live_classes_ = 0;
  std::size_t gpus_in_use_ = 0;
  std::uint64_t generation_ = 0;
  const std::string* owner_ = nullptr;                 // owner of the request being decided
  const std::vector<GpuIndex>* allowed_of_ = nullptr;  // the list allowed_mask_ stands for
  const std::vector<GpuIndex>* denied_of_ = nullptr;
  std::vector<char> allowed_mask_, denied_mask_;
};

}  // namespace vgpu
