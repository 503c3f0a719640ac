/// @file
/// @brief vgpu::TypeCatalog: GPU models and their vGPU types, with validation and look-ups.
///
/// The catalog is plain in-memory data; loading JSON files and the built-in tables lives in
/// vgpu/catalog_io.hpp (compiled library). A TypeCatalog is a value: copy it freely. Const
/// member functions may be called from several threads at once; add() needs exclusive access.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/model/vgpu_type.hpp"

namespace vgpu {

/// A vGPU type together with the model that owns it (which keeps the type alive).
struct TypeRef {
  std::shared_ptr<const GpuModel> model;  ///< Owning model; never null in a valid ref.
  const VgpuType* type = nullptr;         ///< The type, inside *model.
};

/// What a VM needs, for "pick the smallest type that fits" look-ups.
struct TypeRequirement {
  Bytes min_framebuffer;         ///< At least this much framebuffer.
  std::uint32_t min_heads = 0;   ///< At least this many display heads.
  Resolution min_resolution;     ///< Each head at least this resolution (0x0: any).
  std::optional<Series> series;  ///< Only this series.
  std::string model;             ///< Only types of this GPU model (any accepted name); empty: any.
  bool include_mig_backed = true;   ///< Also consider MIG-backed types.
  bool include_deprecated = false;  ///< Also consider deprecated types.
};

/// True when type @p t meets @p need (every field except need.model, which names the model).
inline bool satisfies(const VgpuType& t, const TypeRequirement& need) {
  if (t.framebuffer < need.min_framebuffer || t.max_heads < need.min_heads) return false;
  if (need.min_resolution.pixels() != 0 && !t.max_resolution.covers(need.min_resolution))
    return false;
  if (need.series && t.series != *need.series) return false;
  if (t.is_mig_backed() && !need.include_mig_backed) return false;
  return !(t.deprecated && !need.include_deprecated);
}

/// What to do when a model added to the catalog has a name it already holds.
enum class OnDuplicate {
  refuse,   ///< Fail with Errc::conflict and keep the catalog as it was.
  replace,  ///< The new definition replaces the old one (with all its types).
};

namespace detail {

/// Canonical look-up key: lower case, without a leading "NVIDIA " or "GRID " vendor prefix.
inline std::string lookup_key(std::string_view name) {
  std::string key = to_lower(name);
  for (std::string_view prefix : {"nvidia ", "grid "}) {
    if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0)
      key.erase(0, prefix.size());
  }
  return key;
}

/// Loose key: lookup_key without spaces, hyphens and underscores ("RTX6000-Ada-1Q" and
/// "RTX 6000 Ada-1Q" meet here). Used only when it identifies exactly one entry.
inline std::string loose_key(std::string_view name) {
  std::string key = lookup_key(name);
  std::erase_if(key, [](char c) { return c == ' ' || c == '-' || c == '_'; });
  return key;
}

}  // namespace detail

/// Checks one model for internal consistency. On failure the message starts with the path
/// of the offending field relative to the model, e.g.
/// "types[5].placement_ids: 48 exceeds framebuffer of 48 slots".
inline Result<void> validate(const GpuModel& model) {
  auto bad = [](std::string path, std::string what) {
    return fail(Errc::invalid_argument, std::move(path) + ": " + std::move(what));
  };
  if (model.name.empty()) return bad("name", "must not be empty");
  if (model.framebuffer.count() == 0) return bad("framebuffer_mib", "must be greater than 0");
  if (model.slots() > 128)
    return bad("framebuffer_mib", "is " + std::to_string(model.framebuffer.in_mib()) +
                                      " MiB; vgpu supports at most 128 GiB slots per GPU");
  if (model.gpus_per_board == 0) return bad("gpus_per_board", "must be at least 1");
  if (model.types.empty()) return bad("types", "a GPU model needs at least one vGPU type");
  const std::uint32_t slots = model.slots();
  const std::uint64_t fb_mib = model.framebuffer.in_mib();
  for (std::size_t i = 0; i < model.types.size(); ++i) {
    const VgpuType& t = model.types[i];
    const std::string at = "types[" + std::to_string(i) + "].";
    if (t.name.empty()) return bad(at + "name", "must not be empty");
    for (std::size_t j = 0; j < i; ++j) {
      if (detail::lookup_key(model.types[j].name) == detail::lookup_key(t.name))
        return bad(at + "name", detail::quoted(t.name) + " already names types[" +
                                    std::to_string(j) + "] of this model");
    }
    const std::uint64_t mib = t.framebuffer.in_mib();
    if (mib == 0) return bad(at + "framebuffer_mib", "must be greater than 0");
    if (t.framebuffer > model.framebuffer)
      return bad(at + "framebuffer_mib",
                 std::to_string(mib) + " exceeds the GPU's " + std::to_string(fb_mib) + " MiB");
    if (t.max_instances == 0) return bad(at + "max_instances", "must be at least 1");
    if ((t.max_heads == 0) != (t.max_resolution.pixels() == 0))
      return bad(at + "max_heads",
                 "a type with display heads needs a max_resolution, and "
                 "one without heads must not give one");
    if (t.pixel_budget != 0 && t.max_resolution.pixels() > t.pixel_budget)
      return bad(at + "pixel_budget", std::to_string(t.pixel_budget) + " is smaller than one " +
                                          t.max_resolution.to_string() + " display");
    if (t.placement_size == 0) return bad(at + "placement_size", "must be at least 1");
    const bool mig = t.is_mig_backed();
    const std::uint32_t space = mig ? mig_memory_slices : slots;
    const std::string unit = mig ? " memory slices" : " slots";
    if (mig) {
      if (!model.mig_capable)
        return bad(at + "mig_profile", "the model is not MIG-capable (set \"mig\": true)");
      if (t.placement_ids.size() < t.max_instances)
        return bad(at + "placement_ids", "lists " + std::to_string(t.placement_ids.size()) +
                                             " GPU-instance placements but max_instances is " +
                                             std::to_string(t.max_instances));
      if (t.max_instances_mixed != 0)
        return bad(at + "max_instances_mixed", "MIG-backed types have no mixed-size maximum");
    } else {
      const std::uint64_t needed = t.framebuffer.gib_slots();
      if (t.placement_size < needed)
        return bad(at + "placement_size", std::to_string(t.placement_size) + " slots cannot hold " +
                                              std::to_string(mib) + " MiB (needs " +
                                              std::to_string(needed) + ")");
      if (t.max_instances * mib > fb_mib)
        return bad(at + "max_instances", std::to_string(t.max_instances) + " x " +
                                             std::to_string(mib) + " MiB exceeds the GPU's " +
                                             std::to_string(fb_mib) + " MiB");
      if (t.max_instances * t.placement_size > slots)
        return bad(at + "placement_size",
                   std::to_string(t.max_instances) + " x " + std::to_string(t.placement_size) +
                       " slots exceed the GPU's " + std::to_string(slots) + " slots");
      if (t.max_instances_mixed > t.max_instances)
        return bad(at + "max_instances_mixed", std::to_string(t.max_instances_mixed) +
                                                   " exceeds max_instances (" +
                                                   std::to_string(t.max_instances) + ")");
      if (t.max_instances_mixed != 0 && !model.mixed_size_capable)
        return bad(at + "max_instances_mixed",
                   "the model is not mixed-size capable (set \"mixed_size\": true)");
      if (t.placement_ids.size() != t.max_instances_mixed)
        return bad(at + "placement_ids", "lists " + std::to_string(t.placement_ids.size()) +
                                             " placements but max_instances_mixed is " +
                                             std::to_string(t.max_instances_mixed));
    }
    if (t.placement_size > space)
      return bad(at + "placement_size", std::to_string(t.placement_size) + " exceeds the GPU's " +
                                            std::to_string(space) + unit);
    for (std::size_t k = 0; k < t.placement_ids.size(); ++k) {
      const std::uint32_t id = t.placement_ids[k];
      if (id >= space)
        return bad(at + "placement_ids",
                   std::to_string(id) + " exceeds framebuffer of " + std::to_string(space) + unit);
      if (id + t.placement_size > space)
        return bad(at + "placement_ids",
                   std::to_string(id) + " + " + std::to_string(t.placement_size) +
                       " exceeds framebuffer of " + std::to_string(space) + unit);
      if (k > 0 && id <= t.placement_ids[k - 1])
        return bad(at + "placement_ids", "must be strictly ascending (" +
                                             std::to_string(t.placement_ids[k - 1]) +
                                             " is followed by " + std::to_string(id) + ")");
      // Time-sliced placements of one type must all coexist: max_instances_mixed of them do.
      if (!mig && k > 0 && id < t.placement_ids[k - 1] + t.placement_size)
        return bad(at + "placement_ids",
                   std::to_string(id) + " overlaps " + std::to_string(t.placement_ids[k - 1]) +
                       " (each takes " + std::to_string(t.placement_size) + unit + ")");
    }
    if (mig && t.max_instances * t.placement_size > mig_memory_slices)
      return bad(at + "max_instances",
                 std::to_string(t.max_instances) + " x " + std::to_string(t.placement_size) +
                     " memory slices exceed the GPU's " + std::to_string(mig_memory_slices));
  }
  // In equal-size mode time-sliced types of one framebuffer size share a GPU and one budget:
  // they must agree on how many fit and where (the placement engine relies on it).
  for (std::size_t i = 0; i < model.types.size(); ++i) {
    const VgpuType& t = model.types[i];
    if (t.is_mig_backed()) continue;
    for (std::size_t j = 0; j < i; ++j) {
      const VgpuType& u = model.types[j];
      if (u.is_mig_backed() || u.framebuffer != t.framebuffer) continue;
      if (u.placement_size != t.placement_size || u.max_instances != t.max_instances)
        return bad("types[" + std::to_string(i) + "]",
                   t.name + " has the framebuffer of " + u.name + " but " +
                       std::to_string(t.max_instances) + " x " + std::to_string(t.placement_size) +
                       " slots instead of " + std::to_string(u.max_instances) + " x " +
                       std::to_string(u.placement_size) +
                       "; types of one size share equal-size GPUs and must agree");
    }
  }
  return {};
}

/// The set of known GPU models and vGPU types.
class TypeCatalog {
 public:
  /// Validates @p model and adds it. A name or alias (or one of its type names) that is
  /// already in the catalog is refused with Errc::conflict, or replaces the old model when
  /// @p on_duplicate is OnDuplicate::replace. On failure the catalog is unchanged.
  Result<void> add(GpuModel model, OnDuplicate on_duplicate = OnDuplicate::refuse) {
    if (auto ok = validate(model); !ok) return ok.error().with_context(model.name);
    std::vector<std::shared_ptr<const GpuModel>> next;
    std::vector<std::string> names = model.aliases;
    names.push_back(model.name);
    for (const auto& existing : models_) {
      std::optional<std::string> clash;
      for (const auto& n : names) {
        if (existing_names_match(*existing, n)) clash = "GPU model name " + detail::quoted(n);
      }
      for (const auto& t : model.types) {
        for (const auto& et : existing->types)
          if (detail::lookup_key(et.name) == detail::lookup_key(t.name))
            clash = "vGPU type " + detail::quoted(t.name);
        if (t.id.value != 0) {
          for (const auto& et : existing->types)
            if (et.id == t.id) clash = "vGPU type id " + std::to_string(t.id.value);
        }
      }
      if (clash && on_duplicate == OnDuplicate::refuse)
        return fail(Errc::conflict, *clash + " is already defined by " + existing->name +
                                        "; to override it, load with OnDuplicate::replace "
                                        "(vgpuctl: --replace-catalog)");
      if (!clash) next.push_back(existing);
    }
    next.push_back(std::make_shared<const GpuModel>(std::move(model)));
    models_ = std::move(next);
    reindex();
    return {};
  }

  /// All models, in the order they were added.
  [[nodiscard]] const std::vector<std::shared_ptr<const GpuModel>>& models() const noexcept {
    return models_;
  }

  /// Number of vGPU types over all models.
  [[nodiscard]] std::size_t type_count() const noexcept { return type_index_.size(); }

  /// The model called @p name: its name or an alias, case-insensitive, with or without a
  /// "NVIDIA " prefix ("A16", "nvidia a16", "RTX6000-Ada").
  [[nodiscard]] Result<std::shared_ptr<const GpuModel>> find_model(std::string_view name) const {
    if (auto i = lookup(model_index_, loose_model_index_, name)) return models_[*i];
    std::string known;
    for (const auto& m : models_)
      known += (known.empty() ? "" : ", ") + short_name(*m);
    return fail(Errc::not_found,
                "unknown GPU model " + detail::quoted(name) + "; known models: " + known);
  }

  /// Models whose PCI device id is @p device_id (several boards may share one id: A2 and A16).
  [[nodiscard]] std::vector<std::shared_ptr<const GpuModel>> find_models_by_pci_device(
      std::uint16_t device_id) const {
    std::vector<std::shared_ptr<const GpuModel>> out;
    for (const auto& m : models_) {
      if (std::find(m->pci_device_ids.begin(), m->pci_device_ids.end(), device_id) !=
          m->pci_device_ids.end())
        out.push_back(m);
    }
    return out;
  }

  /// The type called @p name: "A16-2Q", "NVIDIA A16-2Q", "a16-2q" or, when unambiguous, a
  /// spelling that differs only in spaces and hyphens ("RTX6000-Ada-1Q").
  [[nodiscard]] Result<TypeRef> find_type(std::string_view name) const {
    if (auto i = lookup(type_index_, loose_type_index_, name)) return ref(*i);
    return fail(Errc::not_found, "unknown vGPU type " + detail::quoted(name) + suggestions(name) +
                                     " (`vgpuctl types --all` lists every type)");
  }

  /// find_type() for callers that skip or keep names the catalog does not know: no error is
  /// built, so no near names are looked for, which walks the whole catalog (a sysfs scan of a
  /// newer driver's types would pay that per unknown type).
  [[nodiscard]] std::optional<TypeRef> try_find_type(std::string_view name) const {
    if (auto i = lookup(type_index_, loose_type_index_, name)) return ref(*i);
    return std::nullopt;
  }

  /// The type with driver id @p id (only ids the catalog knows; see VgpuTypeId).
  [[nodiscard]] Result<TypeRef> find_type(VgpuTypeId id) const {
    for (std::size_t m = 0; m < models_.size(); ++m) {
      for (const auto& t : models_[m]->types)
        if (t.id.value != 0 && t.id == id) return TypeRef{models_[m], &t};
    }
    return fail(Errc::not_found,
                "no vGPU type with driver id " + std::to_string(id.value) + " in the catalog");
  }

  /// Every type meeting @p need, smallest framebuffer first (then fewest heads, then name):
  /// the first element is the smallest type that fits. Empty when nothing fits, or when
  /// need.model names no known model.
  [[nodiscard]] std::vector<TypeRef> find_types(const TypeRequirement& need) const {
    std::vector<TypeRef> out;
    std::shared_ptr<const GpuModel> only;
    if (!need.model.empty()) {
      auto m = find_model(need.model);
      if (!m) return out;
      only = *m;
    }
    for (const auto& m : models_) {
      if (only && m != only) continue;
      for (const auto& t : m->types)
        if (satisfies(t, need)) out.push_back(TypeRef{m, &t});
    }
    std::stable_sort(out.begin(), out.end(), [](const TypeRef& a, const TypeRef& b) {
      if (a.type->framebuffer != b.type->framebuffer)
        return a.type->framebuffer < b.type->framebuffer;
      if (a.type->max_heads != b.type->max_heads) return a.type->max_heads < b.type->max_heads;
      return a.type->name < b.type->name;
    });
    return out;
  }

 private:
  using Index = std::unordered_map<std::string, std::size_t>;
  static constexpr std::size_t ambiguous = static_cast<std::size_t>(-1);

  static std::string short_name(const GpuModel& m) {
    return m.aliases.empty() ? m.name : m.aliases.front();
  }
  static bool existing_names_match(const GpuModel& m, std::string_view name) {
    const std::string key = detail::lookup_key(name);
    if (detail::lookup_key(m.name) == key) return true;
    for (const auto& a : m.aliases)
      if (detail::lookup_key(a) == key) return true;
    return false;
  }
  static void put(Index& index, const std::string& key, std::size_t value) {
    auto [it, inserted] = index.emplace(key, value);
    if (!inserted && it->second != value) it->second = ambiguous;
  }
  static std::optional<std::size_t> lookup(const Index& exact, const Index& loose,
                                           std::string_view name) {
    if (auto it = exact.find(detail::lookup_key(name));
        it != exact.end() && it->second != ambiguous)
      return it->second;
    if (auto it = loose.find(detail::loose_key(name)); it != loose.end() && it->second != ambiguous)
      return it->second;
    return std::nullopt;
  }
  TypeRef ref(std::size_t packed) const {
    const auto& m = models_[packed >> 16];
    return TypeRef{m, &m->types[packed & 0xffff]};
  }
  void reindex() {
    model_index_.clear();
    loose_model_index_.clear();
    type_index_.clear();
    loose_type_index_.clear();
    for (std::size_t m = 0; m < models_.size(); ++m) {
      std::vector<std::string> names = models_[m]->aliases;
      names.push_back(models_[m]->name);
      for (const auto& n : names) {
        put(model_index_, detail::lookup_key(n), m);
        put(loose_model_index_, detail::loose_key(n), m);
      }
      for (std::size_t t = 0; t < models_[m]->types.size(); ++t) {
        const std::size_t packed = (m << 16) | t;
        put(type_index_, detail::lookup_key(models_[m]->types[t].name), packed);
        put(loose_type_index_, detail::loose_key(models_[m]->types[t].name), packed);
      }
    }
  }
  std::string suggestions(std::string_view name) const {
    // Suggest the types of the model the name seems to belong to (same prefix before '-').
    const std::string key = detail::lookup_key(name);
    const std::string prefix =
        key.substr(0, key.rfind('-') == std::string::npos ? 0 : key.rfind('-'));
    if (prefix.empty()) return {};
    std::string out;
    int shown = 0;
    for (const auto& m : models_) {
      for (const auto& t : m->types) {
        const std::string tk = detail::lookup_key(t.name);
        if (tk.compare(0, prefix.size() + 1, prefix + "-") == 0 && shown < 12) {
          out += (shown++ ? ", " : "") + t.name;
        }
      }
    }
    return out.empty() ? std::string{} : "; types of that model: " + out;
  }

  std::vector<std::shared_ptr<const GpuModel>> models_;
  Index model_index_, loose_model_index_, type_index_, loose_type_index_;
};

}  // namespace vgpu
