// API-sequence fuzzer for the C ABI: the input is a program of calls into vgpu.h (create,
// destroy, plan, explain, lists, reconcile, handles closed and reused, malformed arguments)
// on the built-in simulated host. After every call it checks the contract (a documented
// status, the last error agrees with it, a failed call leaves its outputs alone) and the
// host's invariants (the instance list agrees with the GPUs' counts and framebuffer, no two
// vGPUs of a GPU overlap, equal-size GPUs hold one size). Only vgpu.h is used.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "vgpu.h"

namespace {

[[noreturn]] void violated(const char* what, int line) {
  std::fprintf(stderr, "invariant violated at line %d: %s (last error %d: %s)\n", line, what,
               vgpu_last_error()->code, vgpu_last_error()->message);
  std::abort();
}
#define INVARIANT(cond)                     \
  do {                                      \
    if (!(cond)) violated(#cond, __LINE__); \
  } while (0)

// Reads the program: one byte at a time, zeros after the end.
struct Input {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos = 0;
  std::uint8_t byte() { return pos < size ? data[pos++] : 0; }
  std::uint32_t small(std::uint32_t n) { return n == 0 ? 0 : byte() % n; }
  bool done() const { return pos >= size; }
};

const char* const kTypes[] = {"A16-1Q",   "A16-2Q",   "A16-4Q",      "A16-8Q",      "A16-16Q",
                              "A16-2B",   "A16-1A",   "L40S-4Q",     "L40S-8Q",     "L40S-12Q",
                              "L40S-24Q", "L40S-48Q", "A100D-1-10C", "A100D-3-40C", "A100D-7-80C",
                              "A16-3Q",   "",         "l40s-8q"};
const char kSeries[] = {0, 'Q', 'B', 'A', 'C', 'x'};

// Every status a call may return is one of the documented codes.
void check_status(int rc) {
  INVARIANT(rc <= 0 && rc >= VGPU_E_BAD_HANDLE);
  INVARIANT(vgpu_last_error()->code == rc);
  if (rc != VGPU_OK) INVARIANT(vgpu_last_error()->message[0] != '\0');
}

// The arrays below start with room for this many elements: one call each in the common case,
// and the two-call pattern (VGPU_E_BUFFER_TOO_SMALL, then a bigger array) when a host holds
// more. One call instead of two per view matters: the views are read after every step.
constexpr std::size_t kFirstCapacity = 16;

std::vector<vgpu_gpu_info_t> gpus_of(vgpu_manager_t* m) {
  for (std::size_t capacity = kFirstCapacity;;) {
    std::vector<vgpu_gpu_info_t> out(capacity);
    vgpu_gpu_info_init(&out[0], VGPU_GPU_INFO_VERSION);
    std::size_t n = out.size();
    const int rc = vgpu_manager_gpus(out.data(), &n, m);
    if (rc == VGPU_E_BUFFER_TOO_SMALL) {
      INVARIANT(n > capacity);  // the count a too-small array gets back is the one needed
      capacity = n;
      continue;
    }
    INVARIANT(rc == VGPU_OK && n <= capacity);
    out.resize(n);
    return out;
  }
}

std::vector<vgpu_instance_info_t> instances_of(vgpu_manager_t* m, std::size_t expected) {
  for (std::size_t capacity = expected + kFirstCapacity;;) {
    std::vector<vgpu_instance_info_t> out(capacity);
    vgpu_instance_info_init(&out[0], VGPU_INSTANCE_INFO_VERSION);
    std::size_t n = out.size();
    const int rc = vgpu_manager_instances(out.data(), &n, m);
    if (rc == VGPU_E_BUFFER_TOO_SMALL) {
      INVARIANT(n > capacity);
      capacity = n;
      continue;
    }
    INVARIANT(rc == VGPU_OK && n <= capacity);
    out.resize(n);
    return out;
  }
}

// What the harness knows of the host between steps: read once after each step and used by the
// next one (to pick GPUs and vGPUs, and as the "before" of its all-or-nothing checks).
struct HostView {
  std::vector<vgpu_gpu_info_t> gpus;
  std::vector<vgpu_instance_info_t> vgpus;
};

// Types do not change while a manager is open: each is looked up once per input.
const vgpu_type_info_t& type_of(vgpu_manager_t* m, std::map<std::string, vgpu_type_info_t>& cache,
                                const char* name) {
  auto [it, added] = cache.try_emplace(name);
  if (added) {
    it->second = VGPU_TYPE_INFO_INIT;
    INVARIANT(vgpu_manager_find_type(&it->second, m, name) == VGPU_OK);
  }
  return it->second;
}

// The host's invariants, through the C ABI's own views; returns the views.
HostView check_host(vgpu_manager_t* m, std::map<std::string, vgpu_type_info_t>& types,
                    std::size_t expected_vgpus) {
  HostView view{gpus_of(m), instances_of(m, expected_vgpus)};
  std::map<std::string, std::vector<const vgpu_instance_info_t*>> on;
  for (const auto& v : view.vgpus) {
    INVARIANT(v.state == VGPU_STATE_ACTIVE);  // one process: nothing half-done after a call
    on[v.gpu].push_back(&v);
  }
  std::size_t counted = 0;
  for (const auto& g : view.gpus) {
    const auto& mine = on[g.pci_address];
    INVARIANT(g.vgpu_count == mine.size());
    counted += mine.size();
    std::uint64_t used = 0;
    std::uint64_t size = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> spans;
    for (const auto* v : mine) {
      const vgpu_type_info_t& t = type_of(m, types, v->type);
      INVARIANT(std::strcmp(t.model, g.model) == 0);
      used += t.framebuffer_bytes;
      if (g.mode == VGPU_MODE_EQUAL_SIZE) {
        INVARIANT(size == 0 || size == t.framebuffer_bytes);
        size = t.framebuffer_bytes;
      }
      spans.emplace_back(v->placement, v->placement + t.placement_size);
    }
    for (std::size_t i = 0; i < spans.size(); ++i)
      for (std::size_t j = i + 1; j < spans.size(); ++j)
        INVARIANT(spans[i].second <= spans[j].first || spans[j].second <= spans[i].first);
    INVARIANT(used == g.used_framebuffer_bytes);
    INVARIANT(used <= g.framebuffer_bytes);
  }
  INVARIANT(counted == view.vgpus.size());
  return view;
}

vgpu_request_t make_request(Input& in, const std::vector<vgpu_gpu_info_t>& gpus,
                            std::vector<const char*>& gpu_names) {
  vgpu_request_t r = VGPU_REQUEST_INIT;
  if (in.small(4) != 0) {
    r.type = kTypes[in.small(sizeof kTypes / sizeof kTypes[0])];
  } else {
    r.min_framebuffer_bytes = static_cast<std::uint64_t>(in.small(50)) << 30;
    r.series = kSeries[in.small(sizeof kSeries)];
    r.min_heads = in.small(5);
  }
  r.count = in.small(5);
  r.owner = in.small(3) == 0 ? "vm-a" : (in.small(2) == 0 ? "vm-b" : nullptr);
  r.allow_shared_gpu = in.small(2) == 0;
  if (in.small(4) == 0 && !gpus.empty()) {
    gpu_names.push_back(gpus[in.small(static_cast<std::uint32_t>(gpus.size()))].pci_address);
    if (in.small(2) == 0) {
      r.allowed_gpus = gpu_names.data();
      r.allowed_gpu_count = gpu_names.size();
    } else {
      r.denied_gpus = gpu_names.data();
      r.denied_gpu_count = gpu_names.size();
    }
  }
  if (in.small(6) == 0) {
    r.has_placement = true;
    r.placement = in.small(48);
  }
  r.affinity =
      in.small(8) == 0 ? in.small(4) : std::uint32_t{VGPU_AFFINITY_NONE};  // 3: invalid on purpose
  if (in.small(16) == 0) r.version = in.small(3);                          // 0 and 2: refused
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  vgpu_manager_t* m = nullptr;
  vgpu_manager_options_t o = VGPU_MANAGER_OPTIONS_INIT;
  static const char* const policies[] = {nullptr, "best-fit", "breadth-first", "first-fit"};
  o.policy = policies[in.small(4)];
  o.one_type_per_gpu = in.small(4) == 0;
  if (vgpu_manager_open(&m, &o) != VGPU_OK) violated("open", __LINE__);
  vgpu_manager_t* closed = nullptr;
  std::map<std::string, vgpu_type_info_t> types;
  HostView view = check_host(m, types, 0);
  INVARIANT(view.vgpus.empty());
  for (int step = 0; step < 64 && !in.done(); ++step) {
    const auto& gpus = view.gpus;
    const std::size_t before = view.vgpus.size();
    std::size_t expected = before;  // vGPUs after the step, checked against the next view
    std::vector<const char*> names;
    names.reserve(4);  // requests point into it: it must not reallocate
    int rc = VGPU_OK;
    switch (in.small(10)) {
      case 0:
      case 1:
      case 2: {  // create
        vgpu_request_t r = make_request(in, gpus, names);
        std::vector<vgpu_instance_info_t> out(8);
        vgpu_instance_info_init(&out[0], VGPU_INSTANCE_INFO_VERSION);
        rc = vgpu_manager_create(out.data(), out.size(), m, &r);
        check_status(rc);
        if (rc == VGPU_OK) expected = before + (r.count == 0 ? 1 : r.count);  // all or nothing
        break;
      }
      case 3:
      case 4: {  // destroy one, or a made-up one
        const auto& vgpus = view.vgpus;
        if (!vgpus.empty() && in.small(4) != 0) {
          rc = vgpu_manager_destroy(m,
                                    vgpus[in.small(static_cast<std::uint32_t>(vgpus.size()))].uuid);
          check_status(rc);
          INVARIANT(rc == VGPU_OK);
          expected = before - 1;
        } else {
          rc =
              vgpu_manager_destroy(m, in.small(2) ? "11111111-2222-4333-8444-555555555555" : "bad");
          check_status(rc);
          INVARIANT(rc == VGPU_E_NOT_FOUND || rc == VGPU_E_INVALID_ARGUMENT);
        }
        break;
      }
      case 5: {  // plan a batch: creates nothing
        vgpu_request_t a = make_request(in, gpus, names);
        vgpu_request_t b = make_request(in, gpus, names);
        const vgpu_request_t* batch[] = {&a, &b};
        vgpu_plan_entry_t* plan = nullptr;
        std::size_t n = 0;
        rc = vgpu_manager_plan(&plan, &n, m, batch, 2, VGPU_PLAN_ENTRY_VERSION);
        check_status(rc);
        if (rc == VGPU_OK)
          for (std::size_t i = 0; i < n; ++i)
            INVARIANT(plan[i].request < 2);
        else
          INVARIANT(plan == nullptr);
        vgpu_free(plan);
        break;
      }
      case 6: {  // explain
        vgpu_request_t r = make_request(in, gpus, names);
        vgpu_verdict_t* v = nullptr;
        std::size_t n = 0;
        rc = vgpu_manager_explain(&v, &n, m, &r, VGPU_VERDICT_VERSION);
        check_status(rc);
        if (rc == VGPU_OK) {
          INVARIANT(n == gpus.size());
          std::size_t chosen = 0;
          for (std::size_t i = 0; i < n; ++i)
            chosen += v[i].chosen;
          INVARIANT(chosen <= 1);
        }
        vgpu_free(v);
        break;
      }
      case 7: {  // creatable and types of a GPU, with a too-small array now and then
        if (gpus.empty()) break;
        const char* gpu = gpus[in.small(static_cast<std::uint32_t>(gpus.size()))].pci_address;
        std::vector<vgpu_availability_t> a(in.small(3) == 0 ? 1 : 64);
        vgpu_availability_init(&a[0], VGPU_AVAILABILITY_VERSION);
        std::size_t n = a.size();
        rc = vgpu_manager_creatable(a.data(), &n, m, gpu);
        check_status(rc);
        INVARIANT(rc == VGPU_OK || rc == VGPU_E_BUFFER_TOO_SMALL);
        for (std::size_t i = 0; rc == VGPU_OK && i < n; ++i)
          INVARIANT(a[i].remaining > 0);
        std::size_t tn = 0;
        check_status(vgpu_manager_types(nullptr, &tn, m, in.small(8) ? gpu : "00:00"));
        std::size_t vn = 0;  // the count-only form of the two-call pattern
        check_status(vgpu_manager_instances(nullptr, &vn, m));
        INVARIANT(vn == before);
        break;
      }
      case 8: {  // reconcile: one process, nothing to repair
        std::size_t n = 99;
        rc = vgpu_manager_reconcile(nullptr, &n, nullptr, m, VGPU_REPAIR_VERSION);
        check_status(rc);
        INVARIANT(rc == VGPU_OK && n == 0);
        break;
      }
      case 9: {  // a closed handle is refused; a NULL one too
        if (closed == nullptr) {
          vgpu_manager_t* extra = nullptr;
          INVARIANT(vgpu_manager_open(&extra, nullptr) == VGPU_OK);
          INVARIANT(vgpu_manager_close(extra) == VGPU_OK);
          closed = extra;
        }
        std::size_t n = 0;
        rc = vgpu_manager_gpus(nullptr, &n, in.small(2) ? closed : nullptr);
        check_status(rc);
        INVARIANT(rc == VGPU_E_BAD_HANDLE);
        break;
      }
    }
    view = check_host(m, types, expected);
    INVARIANT(view.vgpus.size() == expected);
  }
  INVARIANT(vgpu_manager_close(m) == VGPU_OK);
  return 0;
}
