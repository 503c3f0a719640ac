/// @file
/// @brief Placement policies: how the engine ranks the GPUs that can take a vGPU.
///
/// A policy scores a Candidate (one vGPU of one type at one placement on one GPU, as the GPU
/// is now); the engine places the vGPU at the candidate with the lowest score, ties going to
/// the lowest GPU index (PCI address order within a host, hosts in the order they were added),
/// then to the lowest placement. docs/policies.md gives each built-in rule with an example.
///
/// Contract for custom policies: score() must depend only on what the Candidate shows (the
/// GPU's model, mode and resident vGPUs, the type, the placement, host_busy and requested)
/// and on epoch(). The engine caches scores per group of GPUs in identical states and reuses
/// them until epoch() changes, which is what makes a decision on 100,000 GPUs cheap.
///
/// Policies are not synchronised; an engine calls its policy from the thread that calls it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/placement/occupancy.hpp"

namespace vgpu {

/// One way to place one vGPU, as a policy sees it.
struct Candidate {
  const GpuOccupancy* gpu = nullptr;  ///< The GPU, before the vGPU is added.
  const VgpuType* type = nullptr;     ///< The type, from the GPU's model.
  std::uint32_t placement = 0;        ///< Start slot the vGPU would take.
  /// True when another GPU of the same host holds vGPUs. Only filled in for policies whose
  /// uses_host_context() is true; false otherwise.
  bool host_busy = false;
  /// The framebuffer the request asked for: the type's own for a request by type, the
  /// requirement's minimum for a request by requirement (the type may be larger).
  Bytes requested;
};

/// A request shape for fragmentation accounting: what a class of requests needs.
struct Shape {
  std::optional<Series> series;    ///< Series the requests ask for (empty: any).
  Bytes framebuffer;               ///< Framebuffer they need.
  std::optional<bool> mig_backed;  ///< MIG-backed or time-sliced (empty: either).
  /// Also at least this fraction of the GPU's framebuffer, in thousandths (0: none).
  std::uint32_t gpu_milli = 0;
  /// The shape of a type.
  static Shape of(const VgpuType& t) {
    return Shape{t.series, t.framebuffer, t.is_mig_backed(), 0};
  }
  /// The framebuffer the shape needs on a GPU of @p model.
  [[nodiscard]] Bytes on(const GpuModel& model) const {
    const std::uint64_t part = (model.framebuffer.in_mib() * gpu_milli + 999) / 1000;
    return std::max(framebuffer, Bytes::mib(part));
  }
  /// Ordering, so shapes can key maps.
  friend auto operator<=>(const Shape&, const Shape&) = default;
};

/// A placement policy. See the file comment for the contract.
class Policy {
 public:
  virtual ~Policy() = default;
  /// The policy's name, e.g. "best-fit".
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// Lower is better. Called only for candidates the hardware rules allow.
  [[nodiscard]] virtual double score(const Candidate& c) = 0;
  /// True when the score depends on the start slot (mixed-size and MIG placements): the
  /// engine then scores every free start; otherwise it scores only the lowest free start.
  [[nodiscard]] virtual bool placement_sensitive() const noexcept { return false; }
  /// True when the score reads Candidate::host_busy.
  [[nodiscard]] virtual bool uses_host_context() const noexcept { return false; }
  /// True for policies that pick uniformly at random among eligible GPUs (score unused).
  [[nodiscard]] virtual bool randomized() const noexcept { return false; }
  /// For randomized policies: a uniform draw in [0, bound).
  virtual std::uint64_t draw(std::uint64_t bound) {
    (void)bound;
    return 0;
  }
  /// Told of every vGPU requested (placed or not), for policies that learn the workload.
  virtual void observe(const Shape& requested) { (void)requested; }
  /// A copy with its own state (learnt weights, random generator), for engine copies; null
  /// when the policy cannot be copied (then copies of an engine share it).
  [[nodiscard]] virtual std::shared_ptr<Policy> clone() const { return nullptr; }
  /// Changes whenever scores may change for the same candidate (e.g. learnt weights).
  [[nodiscard]] virtual std::uint64_t epoch() const noexcept { return 0; }
};

/// Options for the built-in policies.
struct PolicyOptions {
  /// fragmentation-aware: the expected workload, as shapes with weights (any scale). Empty:
  /// learn it from the requests the engine sees.
  std::vector<std::pair<Shape, double>> popularity;
  /// fragmentation-aware: keep learning from requests even when popularity is given.
  bool learn = true;
  /// fragmentation-aware: a request's weight halves after this many further requests.
  std::uint32_t half_life = 2048;
  /// random: the seed.
  std::uint64_t seed = 42;
};

/// Framebuffer not given out to resident vGPUs.
inline Bytes free_framebuffer(const GpuOccupancy& g) {
  const Bytes used = g.used_framebuffer();
  const Bytes total = g.gpu().model->framebuffer;
  return used < total ? Bytes{total.count() - used.count()} : Bytes{};
}

namespace policies {

/// @p b in MiB, as a double (scores are in MiB).
inline double mib(Bytes b) {
  return static_cast<double>(b.in_mib());
}

/// Lowest GPU index that can take the vGPU (the order of a host's PCI addresses).
class FirstFit final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<FirstFit>(*this); }
  std::string_view name() const noexcept override { return "first-fit"; }
  double score(const Candidate&) override { return 0; }
};

/// NVIDIA's breadth-first: the GPU with the fewest resident vGPUs.
class BreadthFirst final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<BreadthFirst>(*this); }
  std::string_view name() const noexcept override { return "breadth-first"; }
  double score(const Candidate& c) override {
    return static_cast<double>(c.gpu->occupants().size());
  }
};

/// NVIDIA's depth-first: the GPU with the most resident vGPUs.
class DepthFirst final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<DepthFirst>(*this); }
  std::string_view name() const noexcept override { return "depth-first"; }
  double score(const Candidate& c) override {
    return -static_cast<double>(c.gpu->occupants().size());
  }
};

/// Best fit: the least framebuffer left over after placing.
class BestFit final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<BestFit>(*this); }
  std::string_view name() const noexcept override { return "best-fit"; }
  double score(const Candidate& c) override {
    return mib(free_framebuffer(*c.gpu)) - mib(c.type->framebuffer);
  }
};

/// HAMi's GPU score ((req + used) / total) * 10: spread takes the lowest, binpack the highest.
class Hami final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<Hami>(*this); }
  /// binpack when @p binpack, else spread.
  explicit Hami(bool binpack) : binpack_(binpack) {}
  std::string_view name() const noexcept override { return binpack_ ? "binpack" : "spread"; }
  double score(const Candidate& c) override {
    const double s = (mib(c.type->framebuffer) + mib(c.gpu->used_framebuffer())) /
                     mib(c.gpu->gpu().model->framebuffer) * 10.0;
    return binpack_ ? -s : s;
  }

 private:
  bool binpack_;
};

/// FGD's GPU packing baseline: partly used GPUs first, then empty GPUs of busy hosts, then
/// empty GPUs of idle hosts.
class GpuPacking final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<GpuPacking>(*this); }
  std::string_view name() const noexcept override { return "gpu-packing"; }
  bool uses_host_context() const noexcept override { return true; }
  double score(const Candidate& c) override {
    if (!c.gpu->empty()) return 0;
    return c.host_busy ? 1 : 2;
  }
};

/// FGD's GPU clustering baseline: GPUs already holding vGPUs of the requested size first.
class GpuClustering final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<GpuClustering>(*this); }
  std::string_view name() const noexcept override { return "gpu-clustering"; }
  double score(const Candidate& c) override {
    for (const auto& o : c.gpu->occupants())
      if (o.type->framebuffer == c.type->framebuffer) return 0;
    return 1;
  }
};

/// FGD's random baseline: uniform over the eligible GPUs.
class Random final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<Random>(*this); }
  /// Draws from a generator seeded with @p seed.
  explicit Random(std::uint64_t seed) : rng_(seed) {}
  std::string_view name() const noexcept override { return "random"; }
  bool randomized() const noexcept override { return true; }
  double score(const Candidate&) override { return 0; }
  std::uint64_t draw(std::uint64_t bound) override {
    return bound == 0 ? 0 : std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(rng_);
  }

 private:
  std::mt19937_64 rng_;
};

/// Fragmentation-aware placement after FGD (Weng et al., ATC '23), adapted to vGPU types.
///
/// The fragmentation of a GPU for a shape is the free framebuffer that shape cannot use: all
/// of it when the GPU cannot take the shape's type now, else what is left after as many
/// vGPUs of that type as still fit. The GPU's fragmentation is the popularity-weighted sum
/// over shapes. The score of a candidate is the growth of that sum when the vGPU is added,
/// plus the framebuffer lost to rounding a requirement up to the type.
class FragmentationAware final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override {
    return std::make_shared<FragmentationAware>(*this);
  }
  /// Weights from @p o.popularity (learnt when empty or when @p o.learn).
  explicit FragmentationAware(const PolicyOptions& o)
      : learn_(o.learn || o.popularity.empty()),
        half_life_(std::max<std::uint32_t>(1, o.half_life)) {
    for (const auto& [shape, w] : o.popularity)
      if (w > 0) counts_[shape] += w;
    configured_ = counts_;
    rebuild();
  }
  std::string_view name() const noexcept override { return "fragmentation-aware"; }
  bool placement_sensitive() const noexcept override { return true; }
  std::uint64_t epoch() const noexcept override { return epoch_; }

  void observe(const Shape& s) override {
    if (!learn_) return;
    counts_[s] += 1;
    ++seen_;
    // Re-weigh at 1, 2, 4, ... 256 requests, then every 256: scores stay cached in between.
    if (seen_ < 256 ? (seen_ & (seen_ - 1)) == 0 : seen_ % 256 == 0) {
      if (seen_ >= 256) {
        const double keep = std::pow(0.5, 256.0 / half_life_);
        for (auto& [shape, c] : counts_)
          c = c * keep + (configured_.count(shape) ? configured_.at(shape) * (1 - keep) : 0);
      }
      rebuild();
    }
  }

  double score(const Candidate& c) override {
    const double before = fragmentation(*c.gpu);
    GpuOccupancy after = *c.gpu;
    static const Uuid probe{std::array<std::uint8_t, 16>{0xfe, 0xed, 0xfa, 0xce}};
    if (!after.add(probe, *c.type, c.placement)) return before;  // not reached: rules checked
    const double rounding =
        c.requested < c.type->framebuffer ? mib(c.type->framebuffer) - mib(c.requested) : 0.0;
    // Between candidates that fragment equally, prefer the tighter fit (best-fit), with a
    // weight far below one MiB of fragmentation so it never outweighs it.
    const double tighter = 1e-6 * mib(free_framebuffer(after));
    if (weights_.empty()) {
      // Nothing configured or learnt yet: the request's own type is the whole workload.
      auto own = [&](const GpuOccupancy& g) {
        const double free = mib(free_framebuffer(g));
        return free - std::min(free, g.remaining(*c.type) * mib(c.type->framebuffer));
      };
      return own(after) - own(*c.gpu) + rounding + tighter;
    }
    return fragmentation(after) - before + rounding + tighter;
  }

  /// The popularity-weighted fragmentation of @p g in MiB.
  double fragmentation(const GpuOccupancy& g) {
    const double free = mib(free_framebuffer(g));
    if (free <= 0) return 0;
    const auto& types = projection(g);
    double sum = 0;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      const VgpuType* t = types[i];
      const double usable = t ? std::min(free, g.remaining(*t) * mib(t->framebuffer)) : 0.0;
      sum += weights_[i].second * (free - usable);
    }
    return sum;
  }

  /// The shapes in use and their normalised weights.
  const std::vector<std::pair<Shape, double>>& weights() const noexcept { return weights_; }

 private:
  // Each shape's type on a GPU of this model and mode: the smallest of the same series and
  // backing that holds the shape's framebuffer and that the mode can host.
  const std::vector<const VgpuType*>& projection(const GpuOccupancy& g) {
    const auto key = std::make_pair(g.gpu().model.get(), g.gpu().mode);
    auto it = projections_.find(key);
    if (it != projections_.end()) return it->second;
    std::vector<const VgpuType*> out;
    for (const auto& [shape, w] : weights_) {
      const VgpuType* best = nullptr;
      for (const auto& t : g.gpu().model->types) {
        if ((shape.series && t.series != *shape.series) ||
            (shape.mig_backed && t.is_mig_backed() != *shape.mig_backed) ||
            t.is_mig_backed() != (g.gpu().mode == GpuMode::mig) ||
            t.framebuffer < shape.on(*g.gpu().model) || t.deprecated)
          continue;
        if (g.gpu().mode == GpuMode::mixed_size && t.max_instances_mixed == 0) continue;
        if (!best || t.framebuffer < best->framebuffer) best = &t;
      }
      out.push_back(best);
    }
    return projections_.emplace(key, std::move(out)).first->second;
  }

  void rebuild() {
    // Forget shapes whose weight has decayed to nothing, so odd sizes do not pile up.
    double most = 0;
    for (const auto& [s, c] : counts_)
      most = std::max(most, c);
    std::erase_if(counts_, [&](const auto& kv) { return kv.second < most * 1e-4; });
    std::vector<std::pair<Shape, double>> all(counts_.begin(), counts_.end());
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    double total = 0;
    for (const auto& [s, w] : all)
      total += w;
    // FGD's target workload: the most popular shapes covering 95% of requests.
    weights_.clear();
    double covered = 0;
    for (const auto& [s, w] : all) {
      if (covered >= 0.95 * total) break;
      weights_.emplace_back(s, w / total);
      covered += w;
    }
    projections_.clear();
    ++epoch_;
  }

  bool learn_;
  std::uint32_t half_life_;
  std::uint64_t seen_ = 0;
  std::uint64_t epoch_ = 0;
  std::map<Shape, double> counts_, configured_;
  std::vector<std::pair<Shape, double>> weights_;
  std::map<std::pair<const GpuModel*, GpuMode>, std::vector<const VgpuType*>> projections_;
};

/// A policy made from a scoring function (what the C ABI's callback policy wraps).
class Scoring final : public Policy {
 public:
  std::shared_ptr<Policy> clone() const override { return std::make_shared<Scoring>(*this); }
  /// Policy @p name scoring with @p fn.
  Scoring(std::string name, std::function<double(const Candidate&)> fn, bool placement_sensitive)
      : name_(std::move(name)), fn_(std::move(fn)), placement_sensitive_(placement_sensitive) {}
  std::string_view name() const noexcept override { return name_; }
  bool placement_sensitive() const noexcept override { return placement_sensitive_; }
  double score(const Candidate& c) override { return fn_(c); }

 private:
  std::string name_;
  std::function<double(const Candidate&)> fn_;
  bool placement_sensitive_;
};

}  // namespace policies

/// Names make_policy() accepts, in documentation order.
inline const std::vector<std::string_view>& policy_names() {
  static const std::vector<std::string_view> names = {
      "fragmentation-aware", "best-fit",       "depth-first", "breadth-first", "binpack", "spread",
      "gpu-packing",         "gpu-clustering", "first-fit",   "random"};
  return names;
}

/// A built-in policy by name. An unknown name is Errc::invalid_argument, never a fallback.
inline Result<std::shared_ptr<Policy>> make_policy(std::string_view name,
                                                   const PolicyOptions& options = {}) {
  using namespace policies;
  if (name == "fragmentation-aware")
    return std::shared_ptr<Policy>(std::make_shared<FragmentationAware>(options));
  if (name == "best-fit") return std::shared_ptr<Policy>(std::make_shared<BestFit>());
  if (name == "depth-first") return std::shared_ptr<Policy>(std::make_shared<DepthFirst>());
  if (name == "breadth-first") return std::shared_ptr<Policy>(std::make_shared<BreadthFirst>());
  if (name == "binpack") return std::shared_ptr<Policy>(std::make_shared<Hami>(true));
  if (name == "spread") return std::shared_ptr<Policy>(std::make_shared<Hami>(false));
  if (name == "gpu-packing") return std::shared_ptr<Policy>(std::make_shared<GpuPacking>());
  if (name == "gpu-clustering") return std::shared_ptr<Policy>(std::make_shared<GpuClustering>());
  if (name == "first-fit") return std::shared_ptr<Policy>(std::make_shared<FirstFit>());
  if (name == "random") return std::shared_ptr<Policy>(std::make_shared<Random>(options.seed));
  std::string known;
  for (auto n : policy_names())
    known += (known.empty() ? "" : ", ") + std::string(n);
  return fail(Errc::invalid_argument,
              "unknown placement policy " + detail::quoted(name) + "; choose one of: " + known);
}

/// A policy from a scoring function: lower scores win, ties go to the lowest GPU index.
inline std::shared_ptr<Policy> make_scoring_policy(std::string name,
                                                   std::function<double(const Candidate&)> score,
                                                   bool placement_sensitive = false) {
  return std::make_shared<policies::Scoring>(std::move(name), std::move(score),
                                             placement_sensitive);
}

}  // namespace vgpu
