// vgpu::Manager: catalog + backend + host ledger + a placement engine mirroring the ledger.
#include "vgpu/manager.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "ledger/secure_file.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/sys/simulated_host.hpp"

namespace vgpu {

std::string_view to_string(ReconcileReport::Action::Kind kind) {
  using K = ReconcileReport::Action::Kind;
  switch (kind) {
    case K::adopted:
      return "adopted";
    case K::released_vanished:
      return "released-vanished";
    case K::rolled_back_reservation:
      return "rolled-back-reservation";
    case K::finished_release:
      return "finished-release";
    case K::updated:
      return "updated";
  }
  return "unknown";
}

namespace {

const std::filesystem::path default_ledger = "/run/vgpu/ledger";
const std::filesystem::path default_definitions = "/var/lib/vgpu/definitions.json";

bool same_place(const VgpuRecord& a, const VgpuRecord& b) {
  return a.gpu == b.gpu && a.type_name == b.type_name && a.placement == b.placement;
}

std::string describe(const VgpuRecord& r) {
  return r.type_name + " vGPU " + r.uuid.to_string() + " on GPU " + r.gpu.to_string() +
         " at slot " + std::to_string(r.placement);
}

// Writes @p text to @p path atomically (temporary file in the same private directory,
// fsync, rename), refusing symlinks and directories others control.
Result<void> write_private_file(const std::filesystem::path& path, const std::string& text,
                                std::optional<gid_t> group) {
  if (auto ok = ledger::ensure_private_directory(
          path.has_parent_path() ? path.parent_path() : std::filesystem::path("."), group,
          "definitions");
      !ok)
    return ok;
  auto tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  auto fd = ledger::open_private_file(tmp, group, true, "definitions");
  if (!fd) return fd.error();
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd->get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return Error(ledger::errc_for_errno(err),
                   "cannot write " + tmp.string() + ": " + std::strerror(err), err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd->get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error(ledger::errc_for_errno(err),
                 "cannot replace " + path.string() + ": " + std::strerror(err), err);
  }
  // The rename itself must reach the disk too.
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  ledger::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) (void)::fsync(dfd.get());
  return {};
}

}  // namespace

struct Manager::Impl {
  std::mutex mu;
  std::shared_ptr<const TypeCatalog> catalog;
  std::unique_ptr<sys::Backend> backend;
  std::optional<HostLedger> ledger;
  std::optional<PlacementEngine> engine;
  std::vector<PhysicalGpu> gpus;
  std::map<Uuid, VgpuRecord> known;  // what the engine holds, as the ledger recorded it
  std::filesystem::path ledger_path;
  std::filesystem::path definitions;
  std::optional<gid_t> group;
  LogCallback logger;
  ReconcileReport open_reconcile;

  void log(LogLevel level, const std::string& message) const {
    if (logger) logger(level, message);
  }

  // --- the mirror -------------------------------------------------------------------

  Result<Placement> placement_of(const VgpuRecord& r) const {
    auto g = engine->find_gpu(r.gpu);
    if (!g)
      return fail(Errc::not_found,
                  "the ledger records " + describe(r) + ", but the backend has no such GPU");
    const auto& model = engine->gpu(*g).gpu().model;
    const VgpuType* t = model->find_type(r.type_name);
    if (!t)
      return fail(Errc::not_found, "the ledger records " + describe(r) + ", but " + model->name +
                                       " has no such type in this catalog");
    return Placement{*g, TypeRef{model, t}, r.placement, 0};
  }

  void mirror_add(const VgpuRecord& r) {
    auto p = placement_of(r);
    if (p) {
      if (auto ok = engine->commit(*p, r.uuid, r.owner); !ok) p = ok.error();
    }
    if (!p)
      log(LogLevel::warning, "ledger record ignored by this process's placement view: " +
                                 p.error().message() + " (run `vgpuctl reconcile`)");
    known[r.uuid] = r;
  }

  void mirror_remove(const Uuid& u) {
    if (known.erase(u) && engine->gpu_of(u)) (void)engine->destroy(u);
  }

  void apply_delta(const LedgerDelta& d) {
    if (d.full) {
      for (const auto& [u, r] : known)
        if (engine->gpu_of(u)) (void)engine->destroy(u);
      known.clear();
    }
    for (const auto& u : d.removed)
      mirror_remove(u);
    for (const auto& r : d.upserted) {
      auto it = known.find(r.uuid);
      if (it != known.end() && same_place(it->second, r)) {
        it->second = r;
        continue;
      }
      if (it != known.end()) mirror_remove(r.uuid);
      mirror_add(r);
    }
  }

  Result<void> sync() {
    return ledger->transact([&](LedgerTransaction& t) -> Result<void> {
      apply_delta(t.delta());
      return {};
    });
  }

  // --- create and destroy (callers hold mu) -------------------------------------------

  Result<std::vector<VgpuRecord>> create(const Request& request, const CreateOptions& options) {
    if (!options.uuids.empty() && options.uuids.size() != request.count)
      return fail(Errc::invalid_argument, "give one UUID per vGPU (" +
                                              std::to_string(request.count) + "), not " +
                                              std::to_string(options.uuids.size()));
    const ProcessIdentity self = ProcessIdentity::self();
    std::vector<VgpuRecord> records;
    std::vector<Placement> places;
    auto reserved = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
      apply_delta(t.delta());
      for (const auto& u : options.uuids) {
        if (u.is_nil()) return fail(Errc::invalid_argument, "the nil UUID cannot name a vGPU");
        if (auto r = t.find(u))
          return fail(Errc::conflict, "vGPU " + u.to_string() + " already exists (" +
                                          std::string(to_string(r->state)) + ", " + r->type_name +
                                          " on GPU " + r->gpu.to_string() + ")");
      }
      auto plan = engine->plan(request);
      if (!plan) return plan.error();
      const auto now = std::chrono::system_clock::now();
      for (std::size_t i = 0; i < plan->size(); ++i) {
        const Placement& p = (*plan)[i];
        VgpuRecord r;
        if (!options.uuids.empty()) {
          r.uuid = options.uuids[i];
        } else {
          // Random UUIDs do not collide in practice; a record must never be overwritten if
          // one does.
          do
            r.uuid = Uuid::generate();
          while (t.find(r.uuid));
        }
        r.gpu = engine->gpu(p.gpu).gpu().address;
        r.type_name = p.type.type->name;
        r.placement = p.placement;
        r.state = VgpuState::reserved;
        r.owner = request.owner;
        r.vm_uuid = options.vm_uuid;
        r.process = self;
        r.created_at = r.updated_at = now;
        if (auto ok = t.put(r); !ok) return ok;
        records.push_back(std::move(r));
        places.push_back(p);
      }
      return {};
    });
    if (!reserved) return reserved.error();
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (auto ok = engine->commit(places[i], records[i].uuid, records[i].owner); !ok)
        log(LogLevel::error, "placement view out of step: " + ok.error().message());
      known[records[i].uuid] = records[i];
    }

    // Phase 2: the backend creates the devices, without the host-wide lock held.
    std::optional<Error> failure;
    std::size_t made = 0;
    for (; made < records.size(); ++made) {
      const auto& r = records[made];
      auto v = backend->create({r.uuid, r.gpu, r.type_name, r.placement, r.owner});
      if (!v) {
        failure = v.error().with_context("creating " + describe(r));
        break;
      }
      records[made].device = v->device;
    }
    if (!failure) {
      // Phase 3: active. A reservation someone else removed meanwhile (a reconcile that
      // wrongly judged us dead) is a conflict: undo everything.
      const auto now = std::chrono::system_clock::now();
      auto activated = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
        apply_delta(t.delta());
        for (auto& r : records) {
          auto cur = t.find(r.uuid);
          if (!cur || cur->state != VgpuState::reserved || !(cur->process == self))
            return fail(Errc::conflict, "the reservation of " + describe(r) +
                                            " was taken over by another process while the "
                                            "backend created it");
          r.state = VgpuState::active;
          r.updated_at = now;
          if (auto ok = t.put(r); !ok) return ok;
        }
        return {};
      });
      if (activated) {
        for (const auto& r : records)
          known[r.uuid] = r;
        if (logger)
          for (const auto& r : records)
            log(LogLevel::info, "created " + describe(r));
        return records;
      }
      failure = activated.error();
    }
    // Roll back: destroy what the backend made, then release the reservations.
    for (std::size_t i = 0; i < made; ++i) {
      if (auto ok = backend->destroy(records[i].uuid); !ok)
        log(LogLevel::error, "rolling back: " + ok.error().message() + " (reconcile will retry)");
    }
    auto released = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
      apply_delta(t.delta());
      for (const auto& r : records) {
        auto cur = t.find(r.uuid);
        if (cur && cur->state == VgpuState::reserved && cur->process == self) (void)t.erase(r.uuid);
      }
      return {};
    });
    if (released)
      for (const auto& r : records)
        mirror_remove(r.uuid);
    else
      log(LogLevel::error, "could not release reservations after a failed create: " +
                               released.error().message() + " (reconcile will)");
    log(LogLevel::warning, failure->message());
    return *failure;
  }

  Result<void> destroy(const Uuid& uuid) {
    const ProcessIdentity self = ProcessIdentity::self();
    VgpuRecord rec;
    auto marked = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
      apply_delta(t.delta());
      auto r = t.find(uuid);
      if (!r)
        return fail(Errc::not_found, "no vGPU " + uuid.to_string() +
                                         " is recorded on this host (`vgpuctl list`; a device "
                                         "made by another tool is adopted by `vgpuctl "
                                         "reconcile`)");
      if (r->state != VgpuState::active && !(r->process == self) && r->process.alive())
        return fail(Errc::busy, "vGPU " + uuid.to_string() + " is being " +
                                    (r->state == VgpuState::reserved ? "created" : "destroyed") +
                                    " by process " + std::to_string(r->process.pid) +
                                    "; try again when it has finished");
      rec = *r;
      rec.state = VgpuState::releasing;
      rec.process = self;
      rec.updated_at = std::chrono::system_clock::now();
      return t.put(rec);
    });
    if (!marked) return marked;
    known[uuid] = rec;
    auto gone = backend->destroy(uuid);
    if (!gone && gone.error().code() != Errc::not_found) {
      // Still there (e.g. a running VM holds it): active again.
      auto back = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
        apply_delta(t.delta());
        auto cur = t.find(uuid);
        if (!cur || cur->state != VgpuState::releasing || !(cur->process == self)) return {};
        cur->state = VgpuState::active;
        cur->updated_at = std::chrono::system_clock::now();
        known[uuid] = *cur;
        return t.put(*cur);
      });
      if (!back) log(LogLevel::error, "could not mark " + describe(rec) + " active again");
      return gone.error().with_context("destroying " + describe(rec));
    }
    auto erased = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
      apply_delta(t.delta());
      auto cur = t.find(uuid);
      if (cur && cur->state == VgpuState::releasing && cur->process == self) (void)t.erase(uuid);
      return {};
    });
    if (!erased) return erased;
    mirror_remove(uuid);
    if (logger) log(LogLevel::info, "destroyed " + describe(rec));  // no formatting unheard
    return {};
  }

  // --- reconcile (callers hold mu) -----------------------------------------------------

  Result<ReconcileReport> reconcile() {
    using K = ReconcileReport::Action::Kind;
    ReconcileReport report;
    std::vector<VgpuRecord> after;
    // One commit holds at most 512 changes; a bigger repair (a host's worth of vGPUs adopted
    // into a rebuilt ledger) takes several rounds, each comparing afresh under the lock.
    constexpr std::size_t changes_per_round = 500;
    bool more = true;
    for (int round = 0; more; ++round) {
      more = false;
      auto ok = ledger->transact([&](LedgerTransaction& t) -> Result<void> {
        apply_delta(t.delta());
        report.in_progress = 0;
        // The backend is read under the ledger lock, so no commit can slip between.
        auto listed = backend->instances();
        if (!listed) return listed.error().with_context("reading the backend's vGPUs");
        std::map<Uuid, VgpuInstance> present;
        for (auto& v : *listed)
          present.emplace(v.uuid, std::move(v));
        const auto now = std::chrono::system_clock::now();
        auto act = [&](K kind, const Uuid& u, std::string text) {
          log(LogLevel::warning, "reconcile: " + text);
          report.actions.push_back({kind, u, std::move(text)});
        };
        for (auto r : t.records()) {
          if (t.staged() >= changes_per_round) {
            more = true;
            break;
          }
          auto b = present.find(r.uuid);
          const bool there = b != present.end();
          if (r.state != VgpuState::active) {
            if (r.process.alive()) {
              ++report.in_progress;
              if (there) present.erase(b);
              continue;
            }
            if (there) {
              if (auto gone = backend->destroy(r.uuid);
                  !gone && gone.error().code() != Errc::not_found)
                return gone.error().with_context("reconcile: destroying " + describe(r));
              present.erase(b);
            }
            if (auto e = t.erase(r.uuid); !e) return e;
            const bool reserving = r.state == VgpuState::reserved;
            act(reserving ? K::rolled_back_reservation : K::finished_release, r.uuid,
                (reserving ? "rolled back the reservation of " : "finished the release of ") +
                    describe(r) + ": process " + std::to_string(r.process.pid) +
                    " died before finishing" + (there ? "; its device was destroyed" : ""));
            continue;
          }
          if (!there) {
            if (auto e = t.erase(r.uuid); !e) return e;
            act(K::released_vanished, r.uuid,
                "released " + describe(r) + ": the backend no longer has it");
            continue;
          }
          const VgpuInstance& v = b->second;
          if (v.gpu != r.gpu || v.type_name != r.type_name || v.placement != r.placement) {
            const std::string was = describe(r);
            r.gpu = v.gpu;
            r.type_name = v.type_name;
            r.placement = v.placement;
            r.device = v.device;
            r.updated_at = now;
            if (auto e = t.put(r); !e) return e;
            act(K::updated, r.uuid,
                "corrected " + was + " to what the backend has: " + describe(r));
          }
          present.erase(b);
        }
        for (const auto& [u, v] : present) {
          if (more || t.staged() >= changes_per_round) {
            more = true;
            break;
          }
          VgpuRecord r;
          r.uuid = u;
          r.gpu = v.gpu;
          r.type_name = v.type_name;
          r.placement = v.placement;
          r.state = VgpuState::active;
          r.owner =
              v.owner.size() <= max_record_owner ? v.owner : v.owner.substr(0, max_record_owner);
          r.device = v.device;
          r.created_at = v.created_at;
          r.updated_at = now;
          if (auto e = t.put(r); !e) return e;
          act(K::adopted, u,
              "adopted " + describe(r) + ", which the backend has but the ledger did not");
        }
        after = t.records();
        return {};
      });
      if (!ok) return ok.error();
      if (more && round > 10000)
        return fail(Errc::internal, "reconcile does not converge; please report this");
    }
    // Rebuild the mirror from the reconciled records.
    apply_delta(LedgerDelta{true, {}, after, false});
    return report;
  }

  // --- declarative state (callers hold mu) ---------------------------------------------

  Result<ApplyReport> apply(const HostState& state, const ApplyOptions& options, bool persist) {
    if (auto ok = sync(); !ok) return ok.error();
    ApplyReport report;
    std::vector<VgpuRecord> existing;
    for (const auto& [u, r] : known)
      if (r.state != VgpuState::releasing) existing.push_back(r);
    std::set<Uuid> claimed;
    struct ToCreate {
      std::size_t entry;
      Request request;
      std::optional<Uuid> uuid;
      std::optional<Uuid> vm_uuid;
    };
    std::vector<ToCreate> plan;
    auto entry_error = [&](std::size_t i, const Error& e) {
      return Error(e.code(),
                   "vgpus[" + std::to_string(i) + "] (" + state.vgpus[i].type + "): " + e.message(),
                   e.os_errno());
    };
    auto gpu_model = [&](const PciAddress& a) -> std::string {
      auto g = engine->find_gpu(a);
      return g ? engine->gpu(*g).gpu().model->name : std::string();
    };
    // Resolve types, then match explicit UUIDs first, then counts, in entry order.
    std::vector<std::string> canonical(state.vgpus.size());
    for (std::size_t i = 0; i < state.vgpus.size(); ++i) {
      const auto& d = state.vgpus[i];
      auto t = catalog->find_type(d.type);
      if (!t) return entry_error(i, t.error());
      canonical[i] = t->type->name;
      if (d.gpu && !engine->find_gpu(*d.gpu))
        return entry_error(i, Error(Errc::not_found, "no GPU " + d.gpu->to_string() +
                                                         " on this host (`vgpuctl gpus`)"));
      if (!d.model.empty()) {
        auto m = catalog->find_model(d.model);
        if (!m) return entry_error(i, m.error());
        if ((*m)->name != t->model->name)
          return entry_error(
              i, Error(Errc::invalid_argument,
                       d.type + " is a type of " + t->model->name + ", not of " + (*m)->name));
      }
      if (d.gpu && gpu_model(*d.gpu) != t->model->name)
        return entry_error(
            i, Error(Errc::invalid_argument, "GPU " + d.gpu->to_string() + " (" +
                                                 gpu_model(*d.gpu) + ") has no type " + d.type));
    }
    auto matches = [&](const DesiredVgpus& d, const std::string& type, const VgpuRecord& r) {
      return r.type_name == type && (!d.gpu || *d.gpu == r.gpu) &&
             (d.owner.empty() || d.owner == r.owner) &&
             (!d.placement || *d.placement == r.placement);
    };
    auto request_for = [&](std::size_t i) -> Result<Request> {
      const auto& d = state.vgpus[i];
      auto t = catalog->find_type(canonical[i]);
      if (!t) return t.error();
      Request rq = Request::of(*t, 1);
      rq.owner = d.owner;
      // One VM's vGPUs each on its own GPU (NVIDIA's rule); otherwise they may share.
      rq.constraints.distinct_gpus = !d.owner.empty();
      if (d.gpu) rq.constraints.allowed = {*engine->find_gpu(*d.gpu)};
      rq.constraints.placement = d.placement;
      return rq;
    };
    for (std::size_t i = 0; i < state.vgpus.size(); ++i) {
      const auto& d = state.vgpus[i];
      if (!d.uuid) continue;
      auto it = known.find(*d.uuid);
      if (it != known.end() && it->second.state != VgpuState::releasing) {
        if (!matches(d, canonical[i], it->second))
          return entry_error(
              i, Error(Errc::conflict, "vGPU " + d.uuid->to_string() + " exists as " +
                                           describe(it->second) +
                                           ", not as asked; destroy it first or change the state"));
        claimed.insert(*d.uuid);
        report.kept.push_back(it->second);
        continue;
      }
      auto rq = request_for(i);
      if (!rq) return entry_error(i, rq.error());
      plan.push_back({i, std::move(*rq), d.uuid, d.vm_uuid});
    }
    for (std::size_t i = 0; i < state.vgpus.size(); ++i) {
      const auto& d = state.vgpus[i];
      if (d.uuid) continue;
      std::uint32_t found = 0;
      for (const auto& r : existing) {
        if (found == d.count) break;
        if (claimed.count(r.uuid) || !matches(d, canonical[i], r)) continue;
        claimed.insert(r.uuid);
        report.kept.push_back(r);
        ++found;
      }
      for (; found < d.count; ++found) {
        auto rq = request_for(i);
        if (!rq) return entry_error(i, rq.error());
        plan.push_back({i, std::move(*rq), std::nullopt, d.vm_uuid});
      }
    }
    // Create in entry order, but vGPUs pinned to a GPU or slot first: an unpinned one could
    // otherwise take the room a pinned one needs.
    std::stable_sort(plan.begin(), plan.end(), [](const ToCreate& a, const ToCreate& b) {
      auto pinned = [](const ToCreate& c) {
        return !c.request.constraints.allowed.empty() || c.request.constraints.placement;
      };
      return pinned(a) && !pinned(b);
    });
    for (const auto& r : existing)
      if (!claimed.count(r.uuid)) report.extra.push_back(r);
    std::vector<VgpuRecord> pruned;
    if (options.prune) pruned = report.extra;

    if (options.dry_run) {
      PlacementEngine what_if = *engine;
      for (const auto& r : pruned)
        (void)what_if.destroy(r.uuid);
      for (const auto& c : plan) {
        const Uuid u = c.uuid.value_or(Uuid::generate());
        auto placed = what_if.place(c.request, {u});
        if (!placed) return entry_error(c.entry, placed.error());
        const auto& p = placed->front().second;
        VgpuRecord r;
        r.uuid = u;
        r.gpu = what_if.gpu(p.gpu).gpu().address;
        r.type_name = p.type.type->name;
        r.placement = p.placement;
        r.owner = c.request.owner;
        r.vm_uuid = c.vm_uuid;
        report.created.push_back(r);
      }
      report.destroyed = pruned;
      if (options.prune) report.extra.clear();
      return report;
    }

    // Prune first (an equal-size GPU must be empty before it takes another size).
    for (const auto& r : pruned) {
      if (auto ok = destroy(r.uuid); !ok) {
        auto e = ok.error().with_context("pruning");
        return Error(e.code(), e.message() + undo(report), e.os_errno());
      }
      report.destroyed.push_back(r);
    }
    if (options.prune) report.extra.clear();
    for (const auto& c : plan) {
      CreateOptions co;
      if (c.uuid) co.uuids = {*c.uuid};
      co.vm_uuid = c.vm_uuid;
      auto made = create(c.request, co);
      if (!made) {
        auto e = entry_error(c.entry, made.error());
        return Error(e.code(), e.message() + undo(report), e.os_errno());
      }
      report.created.insert(report.created.end(), made->begin(), made->end());
    }
    if (persist && !definitions.empty()) {
      std::vector<VgpuRecord> all = report.kept;
      all.insert(all.end(), report.created.begin(), report.created.end());
      if (auto ok = save_definitions(all); !ok) return ok.error();
    }
    return report;
  }

  // Best effort: destroys what this apply created and re-creates what it pruned. Returns the
  // end of the error message: what was undone and, truthfully, what could not be.
  std::string undo(const ApplyReport& report) {
    const std::size_t changes = report.created.size() + report.destroyed.size();
    if (changes == 0) return "; nothing was changed";
    std::vector<std::string> failed;
    for (const auto& r : report.created)
      if (auto ok = destroy(r.uuid); !ok) {
        log(LogLevel::error, "undo: " + ok.error().message());
        failed.push_back("destroying " + describe(r) + ": " + ok.error().message());
      }
    for (const auto& r : report.destroyed) {
      auto p = placement_of(r);
      if (!p) {
        failed.push_back("re-creating " + describe(r) + ": " + p.error().message());
        continue;
      }
      Request rq = Request::of(p->type, 1);
      rq.owner = r.owner;
      rq.constraints.allowed = {p->gpu};
      rq.constraints.placement = r.placement;
      rq.constraints.distinct_gpus = false;
      CreateOptions co;
      co.uuids = {r.uuid};
      co.vm_uuid = r.vm_uuid;
      if (auto ok = create(rq, co); !ok) {
        log(LogLevel::error,
            "undo: could not re-create " + describe(r) + ": " + ok.error().message());
        failed.push_back("re-creating " + describe(r) + ": " + ok.error().message());
      }
    }
    const std::string counts = std::to_string(report.created.size()) + " created, " +
                               std::to_string(report.destroyed.size()) + " destroyed";
    if (failed.empty())
      return "; this run's other changes were undone (" + counts + "), the host is as it was";
    std::string text = "; could not undo " + std::to_string(failed.size()) + " of this run's " +
                       std::to_string(changes) + " other changes (" + counts + "), so the host " +
                       "is NOT as it was (`vgpuctl list` shows it):";
    for (const auto& f : failed)
      text += " " + f + ";";
    text.pop_back();
    return text;
  }

  Result<void> save_definitions(const std::vector<VgpuRecord>& records) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : records) {
      nlohmann::json e{{"uuid", r.uuid.to_string()},
                       {"type", r.type_name},
                       {"gpu", r.gpu.to_string()},
                       {"placement", r.placement}};
      if (!r.owner.empty()) e["owner"] = r.owner;
      if (r.vm_uuid) e["vm_uuid"] = r.vm_uuid->to_string();
      list.push_back(std::move(e));
    }
    return write_private_file(definitions,
                              nlohmann::json{{"vgpus", list}}.dump(
                                  2, ' ', false, nlohmann::json::error_handler_t::replace) +
                                  "\n",
                              group);
  }

  Result<HostState> load_definitions() {
    if (definitions.empty())
      return fail(Errc::not_supported,
                  "this host keeps no definitions: its ledger is private (the built-in "
                  "simulated host); use a host with a ledger file (vgpuctl --host FILE)");
    if (::access(definitions.c_str(), F_OK) != 0) return HostState{};
    // Read through the checked descriptor, never by name again.
    auto fd = ledger::open_private_file(definitions, group, false, "definitions");
    if (!fd) return fd.error();
    std::string text;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd->get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return Error(ledger::errc_for_errno(errno),
                     "cannot read " + definitions.string() + ": " + std::strerror(errno), errno);
      if (n == 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    return parse_host_state(text, definitions.string());
  }
};

// ---------------------------------------------------------------------------------------

Manager::Manager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Manager::~Manager() = default;

Result<std::unique_ptr<Manager>> Manager::open(ManagerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->logger = options.logger;
  impl->group = options.ledger_group;
  // The built-in catalog is immutable and outlives every manager (a function-local static
  // built before the first one opens), so a manager that adds nothing to it shares it: a copy
  // per open was about a sixth of what opening a manager on the simulated host costs.
  std::shared_ptr<const TypeCatalog> catalog(std::shared_ptr<const TypeCatalog>{},
                                             &builtin_catalog());
  if (!options.catalogs.empty()) {
    auto own = std::make_shared<TypeCatalog>(builtin_catalog());
    for (const auto& path : options.catalogs) {
      auto ok = load_catalog_path(
          *own, path, options.replace_catalog ? OnDuplicate::replace : OnDuplicate::refuse);
      if (!ok) return ok.error();
    }
    catalog = std::move(own);
  }
  impl->catalog = catalog;

  // The backend.
  bool builtin_sim = false;
  std::filesystem::path kernel_root;  // a kernel backend's sysfs root, when not "/"
  if (options.backend_instance) {
    impl->backend = std::move(options.backend_instance);
  } else if (options.backend == "sim") {
    if (options.sim_host.empty()) {
      auto host = default_host(*catalog);
      if (!host) return host.error();
      auto b = sys::make_simulated_backend(std::move(*host), options.rules);
      if (!b) return b.error();
      impl->backend = std::move(*b);
      builtin_sim = true;
    } else {
      auto b = sys::open_simulated_host(options.sim_host, catalog, options.rules);
      if (!b) return b.error();
      impl->backend = std::move(*b);
    }
  } else {
    sys::BackendOptions bo = options.backend_options;
    bo.catalog = catalog;
    if (auto root = sys::resolve_backend_options(bo).sysfs_root;
        !root.empty() && std::filesystem::weakly_canonical(root) != "/")
      kernel_root = root;
    auto b = sys::open_backend(options.backend, bo);
    if (!b) return b.error();
    impl->backend = std::move(*b);
  }
  if (auto ok = sys::check_interface_version(*impl->backend); !ok) return ok.error();
  auto gpus = impl->backend->gpus();
  if (!gpus) return gpus.error().with_context("backend " + std::string(impl->backend->name()));
  std::sort(gpus->begin(), gpus->end(),
            [](const PhysicalGpu& a, const PhysicalGpu& b) { return a.address < b.address; });
  impl->gpus = *gpus;
  std::shared_ptr<Policy> policy = options.custom_policy;
  if (!policy) {
    auto made = make_policy(options.policy);
    if (!made) return made.error();
    policy = std::move(*made);
  }
  impl->engine.emplace(policy, options.rules);
  if (auto ok = impl->engine->add_gpus(*gpus); !ok) return ok.error();

  // The ledger.
  LedgerOptions lo;
  lo.group = options.ledger_group;
  lo.durable = options.durable;
  const char* env = std::getenv("VGPU_LEDGER");
  if (options.private_ledger) {
  } else if (!options.ledger.empty()) {
    lo.path = options.ledger;
  } else if (env && *env && !builtin_sim) {
    // The built-in host lives for one process, so it never shares a ledger from the
    // environment (which names the host's real one).
    lo.path = env;
  } else if (!options.sim_host.empty() && !options.backend_instance) {
    lo.path = options.sim_host;
    lo.path += ".ledger";
  } else if (!kernel_root.empty()) {
    // An emulated (or chroot) kernel gets the ledger of its own /run, as its VF state does.
    lo.path = kernel_root / default_ledger.relative_path();
  } else if (!builtin_sim) {
    lo.path = default_ledger;
  }
  if (builtin_sim && !lo.path.empty())
    return fail(Errc::invalid_argument,
                "the built-in simulated host lasts as long as this process, so it cannot share "
                "the ledger " +
                    lo.path.string() +
                    "; give a simulated host file (--host FILE) to keep a simulated host, or "
                    "unset VGPU_LEDGER");
  auto ledger = HostLedger::open(lo);
  if (!ledger) return ledger.error();
  impl->ledger.emplace(std::move(*ledger));
  impl->ledger_path = lo.path;
  const auto& rep = impl->ledger->open_report();
  if (!rep.corruption.empty())
    impl->log(LogLevel::error, "ledger " + lo.path.string() + " was corrupted (" + rep.corruption +
                                   "); it was moved to " + rep.kept_aside.string() +
                                   " and is rebuilt from the backend");
  if (rep.replayed_journal)
    impl->log(LogLevel::warning,
              "ledger " + lo.path.string() + ": completed a commit interrupted by a crash");
  if (!options.definitions.empty())
    impl->definitions = options.definitions;
  else if (lo.path == default_ledger)
    impl->definitions = default_definitions;
  else if (!lo.path.empty())
    impl->definitions = std::filesystem::path(lo.path.string() + ".definitions.json");

  // Check that the ledger belongs to this host, then record its GPUs.
  std::vector<LedgerGpu> table;
  for (const auto& g : *gpus)
    table.push_back({g.address, g.model->name, g.mode});
  auto recorded = impl->ledger->transact([&](LedgerTransaction& t) -> Result<void> {
    const auto old = t.gpus();
    const auto records = t.records();
    bool overlap = old.empty() || records.empty();
    for (const auto& o : old)
      for (const auto& g : table)
        overlap = overlap || o.address == g.address;
    if (!overlap)
      return fail(Errc::conflict,
                  "ledger " + lo.path.string() + " records " + std::to_string(records.size()) +
                      " vGPUs on GPUs this backend does not have (it has none of the ledger's " +
                      std::to_string(old.size()) +
                      " GPUs): it belongs to another host or backend. Choose another ledger "
                      "(--ledger or VGPU_LEDGER)");
    impl->apply_delta(t.delta());  // only now: a foreign ledger's records mean nothing here
    if (old == table) return {};
    return t.set_gpus(table);
  });
  if (!recorded) return recorded.error();
  std::unique_ptr<Manager> manager(new Manager(std::move(impl)));
  if (options.reconcile_on_open) {
    std::lock_guard<std::mutex> guard(manager->impl_->mu);
    auto rec = manager->impl_->reconcile();
    if (!rec) return rec.error().with_context("reconciling the ledger with the backend");
    manager->impl_->open_reconcile = std::move(*rec);
  }
  return manager;
}

const TypeCatalog& Manager::catalog() const {
  return *impl_->catalog;
}
std::string_view Manager::backend_name() const {
  return impl_->backend->name();
}
std::string Manager::policy_name() const {
  return std::string(impl_->engine->policy().name());
}
const std::filesystem::path& Manager::ledger_path() const {
  return impl_->ledger_path;
}
const std::filesystem::path& Manager::definitions_path() const {
  return impl_->definitions;
}
const LedgerOpenReport& Manager::ledger_report() const {
  return impl_->ledger->open_report();
}
const ReconcileReport& Manager::open_reconcile() const {
  return impl_->open_reconcile;
}
void Manager::set_logger(LogCallback logger) {
  std::lock_guard<std::mutex> guard(impl_->mu);
  impl_->logger = std::move(logger);
}

std::vector<PhysicalGpu> Manager::gpus() const {
  return impl_->gpus;
}

Result<GpuIndex> Manager::gpu_index(const PciAddress& address) const {
  std::lock_guard<std::mutex> guard(impl_->mu);
  auto g = impl_->engine->find_gpu(address);
  if (!g)
    return fail(Errc::not_found,
                "no GPU " + address.to_string() + " on this host (`vgpuctl gpus`)");
  return *g;
}

Result<std::vector<const VgpuType*>> Manager::types(const PciAddress& gpu) const {
  std::lock_guard<std::mutex> guard(impl_->mu);
  auto g = impl_->engine->find_gpu(gpu);
  if (!g) return fail(Errc::not_found, "no GPU " + gpu.to_string() + " on this host");
  return impl_->engine->supported_types(*g);
}

Result<std::vector<TypeAvailability>> Manager::creatable(const PciAddress& gpu) {
  std::lock_guard<std::mutex> guard(impl_->mu);
  if (auto ok = impl_->sync(); !ok) return ok.error();
  auto g = impl_->engine->find_gpu(gpu);
  if (!g) return fail(Errc::not_found, "no GPU " + gpu.to_string() + " on this host");
  std::vector<TypeAvailability> out;
  for (const auto* t : impl_->engine->creatable_types(*g))
    out.push_back(
        {t, impl_->engine->remaining(*g, *t), impl_->engine->creatable_placements(*g, *t)});
  return out;
}

Result<std::vector<VgpuRecord>> Manager::create(const Request& request,
                                                const CreateOptions& options) {
  std::lock_guard<std::mutex> guard(impl_->mu);
  return impl_->create(request, options);
}

Result<void> Manager::destroy(const Uuid& uuid) {
  std::lock_guard<std::mutex> guard(impl_->mu);
  return impl_->destroy(uuid);
}

Result<std::vector<VgpuRecord>> Manager::instances() {
  std::lock_guard<std::mutex> guard(impl_->mu);
  std::vector<VgpuRecord> out;
  auto ok = impl_->ledger->transact([&](LedgerTransaction& t) -> Result<void> {
    impl_->apply_delta(t.delta());
    out = t.records();
    return {};
  });
  if (!ok) return ok.error();
  return out;
}

Result<BatchPlan> Manager::plan(const std::vector<Request>& requests, const BatchOptions& options) {
  std::lock_guard<std::mutex> guard(impl_->mu);
  if (auto ok = impl_->sync(); !ok) return ok.error();
  return plan_batch(*impl_->engine, requests, options);
}

Result<Explanation> Manager::explain(const Request& request) {
  std::lock_guard<std::mutex> guard(impl_->mu);
  if (auto ok = impl_->sync(); !ok) return ok.error();
  return impl_->engine->explain(request);
}

Result<std::vector<GpuUsage>> Manager::usage() {
  std::lock_guard<std::mutex> guard(impl_->mu);
  if (auto ok = impl_->sync(); !ok) return ok.error();
  const auto& engine = *impl_->engine;
  std::vector<GpuUsage> out;
  out.reserve(engine.gpu_count());
  for (GpuIndex g = 0; g < engine.gpu_count(); ++g) {
    const auto& occupancy = engine.gpu(g);
    out.push_back({g, occupancy.gpu(), occupancy.used_framebuffer(), occupancy.occupants().size()});
  }
  return out;
}

Result<PlacementEngine> Manager::snapshot() {
  std::lock_guard<std::mutex> guard(impl_->mu);
  if (auto ok = impl_->sync(); !ok) return ok.error();
  return *impl_->engine;
}

Result<ReconcileReport> Manager::reconcile() {
  std::lock_guard<std::mutex> guard(impl_->mu);
  return impl_->reconcile();
}

Result<ApplyReport> Manager::apply(const HostState& state, const ApplyOptions& options) {
  std::lock_guard<std::mutex> guard(impl_->mu);
  return impl_->apply(state, options, true);
}

Result<ApplyReport> Manager::restore() {
  std::lock_guard<std::mutex> guard(impl_->mu);
  auto state = impl_->load_definitions();
  if (!state) return state.error();
  return impl_->apply(*state, {}, false);
}

Result<std::vector<VgpuRecord>> Manager::definitions() {
  std::lock_guard<std::mutex> guard(impl_->mu);
  auto state = impl_->load_definitions();
  if (!state) return state.error();
  std::vector<VgpuRecord> out;
  for (const auto& d : state->vgpus) {
    VgpuRecord r;
    if (d.uuid) r.uuid = *d.uuid;
    r.type_name = d.type;
    if (d.gpu) r.gpu = *d.gpu;
    r.placement = d.placement.value_or(0);
    r.owner = d.owner;
    r.vm_uuid = d.vm_uuid;
    r.state = VgpuState::active;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace vgpu
