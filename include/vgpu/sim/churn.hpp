/// @file
/// @brief vgpu::sim churn: online arrivals and departures of vGPUs over a simulated day on a
/// heterogeneous fleet, per placement policy, with and without periodic defragmentation.
///
/// The model: VMs arrive as a Poisson process and live for an exponentially distributed time.
/// What they ask for drifts over the day: desktop sizes (B and Q series, small framebuffers)
/// by day, large compute (C series) sizes by night; some ask for a named type, others for a
/// requirement the engine turns into the smallest fitting type on the GPU it picks. The arrival
/// rate follows the mix so that the framebuffer asked for stays near a set share of the fleet.
///
/// What is measured over the day (after a warm-up): the time average of GPUs in use divided by
/// the time average of the LowerBound of the vGPUs alive at each moment (see vgpu/sim/bound.hpp),
/// the share of arrivals rejected, and, with defragmentation, the migrations performed.
/// Everything is deterministic by seed.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/placement/defrag.hpp"
#include "vgpu/placement/engine.hpp"
#include "vgpu/placement/policy.hpp"
#include "vgpu/sim/bound.hpp"
#include "vgpu/sim/common.hpp"

namespace vgpu::sim {

/// Hosts of one kind in a churn fleet.
struct ChurnHosts {
  std::string model;                ///< Catalog model of their GPUs, e.g. "A16".
  std::uint32_t gpus_per_host = 8;  ///< GPUs per host (an A16 board is 4 GPUs).
  std::uint32_t hosts = 1;          ///< Number of such hosts.
};

/// One kind of VM in the churn workload.
struct ChurnKind {
  std::string name;         ///< Label, e.g. "desktop 2Q".
  std::string type;         ///< Asks for this type when not empty, e.g. "A16-2B".
  TypeRequirement need;     ///< Else asks for the smallest type meeting this.
  std::uint32_t count = 1;  ///< vGPUs per VM (all on one host, distinct GPUs).
  double day_weight = 0;    ///< Relative frequency at the daily peak (default 14:00).
  double night_weight = 0;  ///< Relative frequency twelve hours later.
  double mean_hours = 2;    ///< Mean lifetime in hours.
  /// Framebuffer a VM of this kind asks for, in GiB, for sizing the arrival rate; 0: the
  /// type's framebuffer, or the requirement's minimum, times count.
  double nominal_gib = 0;
};

/// The churn workload and fleet. The defaults: 80 GPUs (32 A16, 32 L4, 16 L40S) and a mix of
/// desktops by day and compute by night asking for ~60% of the fleet's framebuffer.
struct ChurnWorkload {
  /// The fleet.
  std::vector<ChurnHosts> fleet = {{"A16", 8, 4}, {"L4", 8, 4}, {"L40S", 4, 4}};
  /// The VM kinds (default: standard_kinds()).
  std::vector<ChurnKind> kinds = standard_kinds();
  double hours = 24;        ///< Length of the measured period.
  double warmup_hours = 6;  ///< Simulated before it (not measured); the day starts at 00:00.
  double peak_hour = 14;    ///< Hour of the day when day_weight applies fully.
  /// Framebuffer asked for on average ÷ fleet framebuffer (nominal sizes, before rounding up to
  /// types). At 0.6 the A16s, which by-type desktops need, are busy by day and the better
  /// policies refuse 1-3% of VMs.
  double offered_load = 0.6;
  double defrag_period_minutes = 5;  ///< With defragmentation: a pass every this often.
  std::size_t defrag_budget = 16;    ///< Migrations one pass (or one rescue) may make.
  bool defrag_on_reject = true;      ///< With defragmentation: also try to make room on a refusal.

  /// The default VM kinds: desktops by type and by requirement, compute by requirement and by
  /// type.
  static std::vector<ChurnKind> standard_kinds() {
    // (mean, not hours: a parameter named like a field trips clang's -Wshadow in users' builds)
    auto by_type = [](std::string name, std::string type, double day, double night, double mean) {
      ChurnKind k;
      k.name = std::move(name);
      k.type = std::move(type);
      k.day_weight = day;
      k.night_weight = night;
      k.mean_hours = mean;
      return k;
    };
    auto by_need = [](std::string name, Series series, std::uint64_t gib, double day, double night,
                      double mean) {
      ChurnKind k;
      k.name = std::move(name);
      k.need.series = series;
      k.need.min_framebuffer = Bytes::gib(gib);
      k.day_weight = day;
      k.night_weight = night;
      k.mean_hours = mean;
      return k;
    };
    return {
        // Desktops (day).
        by_type("vPC A16-1B", "A16-1B", 16, 1, 2),
        by_type("vPC A16-2B", "A16-2B", 12, 1, 2),
        by_type("vWS A16-2Q", "A16-2Q", 8, 1, 2),
        by_type("vWS A16-4Q", "A16-4Q", 5, 0.5, 2),
        by_type("vWS L4-4Q", "L4-4Q", 4, 0.5, 2),
        by_type("vWS L40S-8Q", "L40S-8Q", 3, 0.3, 3),
        by_need("vPC >=1 GiB B", Series::B, 1, 10, 1, 2),
        by_need("vWS >=2 GiB Q", Series::Q, 2, 8, 1, 2),
        by_need("vWS >=4 GiB Q", Series::Q, 4, 5, 0.5, 2),
        by_need("vWS >=8 GiB Q", Series::Q, 8, 2, 0.2, 3),
        // Compute (night).
        by_need("inference >=6 GiB C", Series::C, 6, 1.5, 6, 3),
        by_need("inference >=12 GiB C", Series::C, 12, 1, 6, 3),
        by_need("training >=24 GiB C", Series::C, 24, 0.5, 5, 4),
        by_need("training >=48 GiB C", Series::C, 48, 0.2, 2, 4),
        by_type("inference L4-12C", "L4-12C", 0.5, 3, 3),
        by_type("training L40S-24C", "L40S-24C", 0.3, 3, 4),
        by_type("compute A16-16C", "A16-16C", 0.3, 2, 3),
    };
  }
};

/// Which runs to make.
struct ChurnOptions {
  std::vector<std::string> policies;  ///< Policy names; empty: every name in policy_names().
  std::vector<GpuMode> modes = {GpuMode::equal_size, GpuMode::mixed_size};  ///< Modes.
  std::vector<bool> defrag = {false, true};  ///< Without and/or with defragmentation.
  std::uint32_t seeds = 5;                   ///< Number of seeds.
  std::uint64_t first_seed = 42;             ///< Seeds first_seed .. first_seed + seeds - 1.
  unsigned threads = 0;                      ///< Worker threads (0: the hardware's count).
  /// Called after each run with (runs done, runs in all), one call at a time.
  std::function<void(std::size_t, std::size_t)> progress;
};

/// One run: one policy, one mode, with or without defragmentation, one seed.
struct ChurnRun {
  std::string policy;                  ///< Policy name.
  GpuMode mode = GpuMode::equal_size;  ///< Mode.
  bool defrag = false;                 ///< Defragmentation on.
  std::uint64_t seed = 0;              ///< Seed.
  double gpus_in_use = 0;              ///< Time average of GPUs holding a vGPU.
  double lower_bound = 0;              ///< Time average of the LowerBound.
  double ratio = 0;                    ///< gpus_in_use ÷ lower_bound.
  double vgpus = 0;                    ///< Time average of vGPUs alive.
  std::size_t arrivals = 0;            ///< VMs that arrived in the measured period.
  std::size_t rejected = 0;            ///< Of those, refused.
  double rejection_rate = 0;           ///< rejected ÷ arrivals.
  std::size_t migrations = 0;          ///< Migrations applied in the measured period.
  std::size_t rescued = 0;             ///< Refusals turned into placements by migrations.
  /// Planned moves the engine refused when applied (0 unless the planner has a bug); the
  /// rest of that plan is dropped.
  std::size_t defrag_failures = 0;
  double seconds = 0;  ///< Wall time of the run.
};

/// One row of a report: a policy in a mode, with or without defragmentation, over all seeds.
struct ChurnRow {
  std::string policy;                  ///< Policy name.
  GpuMode mode = GpuMode::equal_size;  ///< Mode.
  bool defrag = false;                 ///< Defragmentation on.
  Summary ratio;                       ///< GPUs in use ÷ lower bound.
  Summary gpus_in_use;                 ///< Time-average GPUs in use.
  Summary lower_bound;                 ///< Time-average lower bound.
  Summary rejection_rate;              ///< Share of arrivals refused.
  Summary migrations;                  ///< Migrations per day.
  Summary arrivals;                    ///< Arrivals per day.
  Summary defrag_failures;             ///< Planned moves refused when applied, per run.
  std::size_t seeds = 0;               ///< Runs averaged.
};

/// A churn report.
struct ChurnReport {
  std::vector<ChurnRow> rows;      ///< Policies in the order asked, modes, without/with defrag.
  std::vector<ChurnRun> runs;      ///< Every run.
  std::size_t gpus = 0;            ///< Fleet GPUs.
  std::vector<std::string> notes;  ///< What was simulated and how the bound is computed.
  double wall_seconds = 0;         ///< Wall time of all runs.
};

/// A validated workload: the fleet's models and one request per kind.
struct ChurnSetup {
  /// A fleet entry with its model.
  struct Hosts {
    std::shared_ptr<const GpuModel> model;  ///< The GPUs' model.
    std::uint32_t gpus_per_host = 0;        ///< GPUs per host.
    std::uint32_t hosts = 0;                ///< Hosts.
  };
  ChurnWorkload workload;             ///< The workload.
  std::vector<Hosts> fleet;           ///< The fleet.
  std::vector<Request> requests;      ///< One per kind.
  std::vector<double> nominal_gib;    ///< Framebuffer per VM of each kind.
  double fleet_gib = 0;               ///< Σ GPU framebuffer in GiB.
  std::size_t gpus = 0;               ///< GPUs.
  std::vector<double> rate_per_hour;  ///< Arrival rate for each minute of the day.
  double max_rate = 0;                ///< Largest of those.

  /// Weight of kind @p k at hour of the day @p hour.
  [[nodiscard]] double weight(std::size_t k, double hour) const {
    const auto& kind = workload.kinds[k];
    const double pi = 3.14159265358979323846;
    const double day = 0.5 + 0.5 * std::cos(2 * pi * (hour - workload.peak_hour) / 24);
    return kind.night_weight + (kind.day_weight - kind.night_weight) * day;
  }
  /// Arrivals per hour at hour of the day @p hour.
  [[nodiscard]] double rate(double hour) const {
    const auto minute = static_cast<std::size_t>(std::fmod(hour, 24.0) * 60) % (24 * 60);
    return rate_per_hour[minute];
  }
};

/// Checks @p workload against @p catalog: every model and type must exist, every kind must fit
/// some GPU of the fleet, weights and times must be sensible.
inline Result<ChurnSetup> prepare_churn(const ChurnWorkload& workload, const TypeCatalog& catalog) {
  ChurnSetup s;
  s.workload = workload;
  if (workload.fleet.empty()) return fail(Errc::invalid_argument, "the churn fleet has no hosts");
  if (workload.kinds.empty())
    return fail(Errc::invalid_argument, "the churn workload has no kinds");
  if (!(workload.hours > 0) || !(workload.warmup_hours >= 0))
    return fail(Errc::invalid_argument, "hours must be > 0 and warmup_hours >= 0");
  if (!(workload.offered_load > 0 && workload.offered_load <= 4))
    return fail(Errc::invalid_argument, "offered_load must be in (0, 4]");
  if (!(workload.defrag_period_minutes > 0))
    return fail(Errc::invalid_argument, "defrag_period_minutes must be > 0");
  for (const auto& h : workload.fleet) {
    auto m = catalog.find_model(h.model);
    if (!m) return m.error().with_context("churn fleet");
    if (h.gpus_per_host == 0 || h.gpus_per_host > 64 || h.hosts == 0)
      return fail(
          Errc::invalid_argument,
          "churn fleet: " + h.model + " hosts need 1 to 64 GPUs each and at least one host");
    s.fleet.push_back(ChurnSetup::Hosts{*m, h.gpus_per_host, h.hosts});
    s.gpus += std::size_t{h.gpus_per_host} * h.hosts;
    s.fleet_gib +=
        static_cast<double>((*m)->framebuffer.in_mib()) / 1024.0 * h.gpus_per_host * h.hosts;
  }
  for (const auto& k : workload.kinds) {
    if (k.count == 0)
      return fail(Errc::invalid_argument, "kind " + k.name + ": count must be >= 1");
    if (k.day_weight < 0 || k.night_weight < 0 || !(k.mean_hours > 0))
      return fail(Errc::invalid_argument,
                  "kind " + k.name + ": weights must be >= 0 and mean_hours > 0");
    Request r;
    double gib = 0;
    if (!k.type.empty()) {
      auto t = catalog.find_type(k.type);
      if (!t) return t.error().with_context("kind " + k.name);
      const bool in_fleet = std::any_of(s.fleet.begin(), s.fleet.end(),
                                        [&](const auto& h) { return h.model == t->model; });
      if (!in_fleet)
        return fail(Errc::invalid_argument, "kind " + k.name + ": " + k.type + " is a type of " +
                                                t->model->name + ", which the fleet does not have");
      gib = static_cast<double>(t->type->framebuffer.in_mib()) / 1024.0;
      r = Request::of(*t, k.count);
    } else {
      bool fits = false;
      for (const auto& h : s.fleet)
        for (const auto& t : h.model->types)
          fits = fits || satisfies(t, k.need);
      if (!fits)
        return fail(Errc::invalid_argument,
                    "kind " + k.name + ": no type of the fleet's models meets its requirement");
      gib = static_cast<double>(k.need.min_framebuffer.in_mib()) / 1024.0;
      r = Request::needing(k.need, k.count);
    }
    s.requests.push_back(std::move(r));
    s.nominal_gib.push_back(k.nominal_gib > 0 ? k.nominal_gib : gib * k.count);
  }
  // Rate per minute of the day: offered_load × fleet framebuffer ÷ E[GiB × hours] of the mix.
  s.rate_per_hour.resize(24 * 60);
  for (std::size_t minute = 0; minute < s.rate_per_hour.size(); ++minute) {
    const double hour = static_cast<double>(minute) / 60.0;
    double w = 0, gib_hours = 0;
    for (std::size_t k = 0; k < workload.kinds.size(); ++k) {
      const double wk = s.weight(k, hour);
      w += wk;
      gib_hours += wk * s.nominal_gib[k] * workload.kinds[k].mean_hours;
    }
    if (w <= 0 || gib_hours <= 0)
      return fail(Errc::invalid_argument,
                  "the kinds' weights are all 0 at hour " + std::to_string(static_cast<int>(hour)));
    s.rate_per_hour[minute] = workload.offered_load * s.fleet_gib / (gib_hours / w);
    s.max_rate = std::max(s.max_rate, s.rate_per_hour[minute]);
  }
  return s;
}

/// One churn run. Thread-safe for distinct calls on one setup.
inline Result<ChurnRun> run_churn_once(const ChurnSetup& setup, std::string_view policy,
                                       GpuMode mode, bool defrag, std::uint64_t seed) {
  const auto started = std::chrono::steady_clock::now();
  const ChurnWorkload& w = setup.workload;
  PolicyOptions po;
  po.seed = seed;
  auto made = make_policy(policy, po);
  if (!made) return made.error();
  PlacementEngine engine(*made);
  for (const auto& h : setup.fleet) {
    const GpuMode m =
        mode == GpuMode::mixed_size && h.model->mixed_size_capable ? mode : GpuMode::equal_size;
    for (std::uint32_t i = 0; i < h.hosts; ++i) {
      const auto host = engine.add_host(h.model->name + "-" + std::to_string(i));
      for (std::uint32_t g = 0; g < h.gpus_per_host; ++g) {
        auto address = PciAddress::from_parts(0, static_cast<std::uint8_t>(0x10 + g), 0, 0);
        if (!address) return address.error();
        if (auto ok = engine.add_gpu(PhysicalGpu{*address, h.model, m, {}, {}}, host); !ok)
          return ok.error();
      }
    }
  }

  struct Vm {
    std::vector<Uuid> uuids;
  };
  struct Departure {
    double at;
    std::uint64_t vm;
    bool operator>(const Departure& o) const { return at > o.at || (at == o.at && vm > o.vm); }
  };
  std::priority_queue<Departure, std::vector<Departure>, std::greater<>> departures;
  std::unordered_map<std::uint64_t, Vm> vms;
  LowerBound bound;
  auto track = [&](const Uuid& u, int delta) {
    const auto g = engine.gpu_of(u);
    const auto& occ = engine.gpu(*g);
    for (const auto& o : occ.occupants())
      if (o.uuid == u) {
        if (delta > 0)
          bound.add(*occ.gpu().model, *o.type, occ.gpu().mode);
        else
          bound.remove(*occ.gpu().model, *o.type, occ.gpu().mode);
      }
  };

  ChurnRun run;
  run.policy = std::string(policy);
  run.mode = mode;
  run.defrag = defrag;
  run.seed = seed;
  Random rng(seed);
  const double start = w.warmup_hours, end = w.warmup_hours + w.hours;
  const double clock0 = 24 - std::fmod(w.warmup_hours, 24.0);  // hour of the day at t = 0
  const double period = w.defrag_period_minutes / 60.0;
  double t = 0, next_arrival = 0, next_defrag = period;
  double in_use_integral = 0, bound_integral = 0, vgpu_integral = 0;
  std::uint64_t next_vm = 0, next_uuid = 0;
  auto advance = [&](double to) {
    const double a = std::max(t, start), b = std::min(to, end);
    if (b > a) {
      in_use_integral += static_cast<double>(engine.gpus_in_use()) * (b - a);
      bound_integral += static_cast<double>(bound.value()) * (b - a);
      vgpu_integral += static_cast<double>(bound.vgpus()) * (b - a);
    }
    t = to;
  };
  auto measured = [&] { return t >= start && t < end; };
  auto draw_arrival = [&] {
    // Thinning: candidates at the peak rate, kept with probability rate(t) / peak.
    for (;;) {
      next_arrival += rng.exponential(1.0 / setup.max_rate);
      if (rng.uniform() * setup.max_rate < setup.rate(clock0 + next_arrival)) return;
    }
  };
  // Moves one at a time, so a move the rules refuse (a planner bug: plans are valid by
  // contract) ends the plan there and is counted rather than ending the run.
  auto apply = [&](const std::vector<Move>& moves) {
    for (const auto& m : moves) {
      if (!apply_moves(engine, {m})) {
        ++run.defrag_failures;
        return false;
      }
      if (measured()) ++run.migrations;
    }
    return true;
  };
  draw_arrival();
  while (true) {
    const double next_departure = departures.empty() ? end : departures.top().at;
    const double next_event =
        std::min({next_arrival, next_departure, defrag ? next_defrag : end, end});
    advance(next_event);
    if (t >= end) break;
    if (!departures.empty() && departures.top().at == t) {
      const auto vm = departures.top().vm;
      departures.pop();
      for (const auto& u : vms[vm].uuids) {
        track(u, -1);
        if (auto ok = engine.destroy(u); !ok) return ok.error();
      }
      vms.erase(vm);
      continue;
    }
    if (defrag && next_defrag == t) {
      next_defrag += period;
      DefragOptions o;
      o.budget = w.defrag_budget;
      auto plan = plan_defrag(engine, o);
      if (!plan) return plan.error().with_context("defrag");
      apply(plan->moves);
      continue;
    }
    // An arrival.
    const double hour = std::fmod(clock0 + t, 24.0);
    double total = 0;
    for (std::size_t k = 0; k < w.kinds.size(); ++k)
      total += setup.weight(k, hour);
    double pick = rng.uniform() * total;
    std::size_t kind = 0;
    for (; kind + 1 < w.kinds.size(); ++kind) {
      pick -= setup.weight(kind, hour);
      if (pick < 0) break;
    }
    const double life = rng.exponential(w.kinds[kind].mean_hours);
    draw_arrival();
    const Request& rq = setup.requests[kind];
    std::vector<Uuid> uuids;
    for (std::uint32_t i = 0; i < rq.count; ++i)
      uuids.push_back(simulation_uuid(next_uuid++));
    auto placed = engine.place(rq, uuids);
    if (!placed && defrag && w.defrag_on_reject && placed.error().code() == Errc::no_capacity) {
      DefragOptions o;
      o.budget = w.defrag_budget;
      o.make_room_for = rq;
      if (auto plan = plan_defrag(engine, o); plan && plan->makes_room && apply(plan->moves)) {
        placed = engine.place(rq, uuids);
        if (placed && measured()) ++run.rescued;
      }
    }
    if (measured()) ++run.arrivals;
    if (!placed) {
      if (placed.error().code() != Errc::no_capacity) return placed.error();
      if (measured()) ++run.rejected;
      continue;
    }
    const auto vm = next_vm++;
    for (const auto& u : uuids)
      track(u, +1);
    vms[vm] = Vm{std::move(uuids)};
    departures.push(Departure{t + life, vm});
  }
  run.gpus_in_use = in_use_integral / w.hours;
  run.lower_bound = bound_integral / w.hours;
  run.vgpus = vgpu_integral / w.hours;
  run.ratio = bound_integral > 0 ? in_use_integral / bound_integral : 1.0;
  run.rejection_rate =
      run.arrivals ? static_cast<double>(run.rejected) / static_cast<double>(run.arrivals) : 0.0;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (in_use_integral + 1e-9 < bound_integral)
    return fail(Errc::internal,
                "churn: GPUs in use fell below the lower bound (a bug in the bound)");
  return run;
}

/// Notes describing a churn report of @p setup.
inline std::vector<std::string> churn_notes(const ChurnSetup& setup) {
  auto number = [](double v) {
    std::string text = std::to_string(v);
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
  };
  const auto& w = setup.workload;
  std::string fleet;
  for (const auto& h : setup.fleet)
    fleet += (fleet.empty() ? "" : ", ") + std::to_string(h.hosts) + " hosts x " +
             std::to_string(h.gpus_per_host) + " " + h.model->name;
  std::vector<std::string> notes = {
      "fleet: " + fleet + " (" + std::to_string(setup.gpus) + " GPUs)",
      "Poisson arrivals, exponential lifetimes; " + std::to_string(w.kinds.size()) +
          " VM kinds, desktops (B/Q) by day and compute (C) by night, by type and by "
          "requirement; the rate keeps the framebuffer asked for near " +
          std::to_string(static_cast<int>(w.offered_load * 100 + 0.5)) + "% of the fleet's",
      "measured over " + number(w.hours) + " h after a " + number(w.warmup_hours) +
          " h warm-up; ratio = time-average GPUs in use / time-average lower bound",
      "lower bound per GPU model for the vGPUs alive at each moment: equal-size "
      "sum over sizes of ceil(n/k) (exact); mixed-size max(ceil(slots used / slots per GPU), "
      "ceil(n_t / mixed max_t)) (a valid bound, not always reachable)",
      "defrag: a pass every " + number(w.defrag_period_minutes) +
          " min frees GPUs with "
          "at most " +
          std::to_string(w.defrag_budget) + " migrations" +
          (w.defrag_on_reject ? "; a refused VM also triggers a make-room plan within that budget"
                              : ""),
      "fragmentation-aware learns its target workload from the arrivals (half-life 2048 "
      "requests), so it follows the day's drift",
  };
  return notes;
}

/// Runs every policy in every mode, without and/or with defragmentation, for every seed, and
/// summarises per policy, mode and defragmentation.
inline Result<ChurnReport> run_churn(const ChurnWorkload& workload, const TypeCatalog& catalog,
                                     const ChurnOptions& options) {
  if (options.seeds == 0) return fail(Errc::invalid_argument, "seeds must be at least 1");
  if (options.modes.empty() || options.defrag.empty())
    return fail(Errc::invalid_argument, "give at least one mode and one defrag setting");
  auto chosen = policies_to_run(options.policies);
  if (!chosen) return chosen.error();
  const std::vector<std::string>& policies = *chosen;
  auto setup = prepare_churn(workload, catalog);
  if (!setup) return setup.error();
  ChurnReport report;
  report.gpus = setup->gpus;
  report.notes = churn_notes(*setup);
  const std::size_t per_mode = options.defrag.size() * options.seeds;
  const std::size_t per_policy = options.modes.size() * per_mode;
  const std::size_t count = policies.size() * per_policy;
  auto runs = run_all<ChurnRun>(
      count, options.threads,
      [&](std::size_t i) {
        const auto& policy = policies[i / per_policy];
        const GpuMode mode = options.modes[(i % per_policy) / per_mode];
        const bool defrag = options.defrag[(i % per_mode) / options.seeds];
        const std::uint64_t seed = options.first_seed + i % options.seeds;
        return run_churn_once(*setup, policy, mode, defrag, seed);
      },
      options.progress, report.wall_seconds);
  if (!runs) return runs.error();
  report.runs = std::move(*runs);
  const double per_day = 24 / workload.hours;
  for (std::size_t i = 0; i < count; i += options.seeds) {
    ChurnRow row;
    const auto& first = report.runs[i];
    row.policy = first.policy;
    row.mode = first.mode;
    row.defrag = first.defrag;
    auto over_seeds = [&](auto value) {
      return summarize_by(report.runs, i, options.seeds, value);
    };
    row.ratio = over_seeds([](const ChurnRun& r) { return r.ratio; });
    row.gpus_in_use = over_seeds([](const ChurnRun& r) { return r.gpus_in_use; });
    row.lower_bound = over_seeds([](const ChurnRun& r) { return r.lower_bound; });
    row.rejection_rate = over_seeds([](const ChurnRun& r) { return r.rejection_rate; });
    row.migrations =
        over_seeds([&](const ChurnRun& r) { return static_cast<double>(r.migrations) * per_day; });
    row.arrivals =
        over_seeds([&](const ChurnRun& r) { return static_cast<double>(r.arrivals) * per_day; });
    row.defrag_failures = over_seeds([](const ChurnRun& r) { return r.defrag_failures; });
    row.seeds = options.seeds;
    report.rows.push_back(std::move(row));
  }
  return report;
}

}  // namespace vgpu::sim
