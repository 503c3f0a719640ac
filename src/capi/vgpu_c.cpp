// The C ABI (include/vgpu.h): a thin, exception-free firewall over vgpu::Manager.
//
// Every entry point runs its body inside entry(), which turns every C++ exception into a
// status code and the thread's last error; nothing unwinds into C. Handles are checked
// against a table of live managers before use, so a NULL, closed or foreign pointer is an
// error, not a crash. Versioned structs are written through versioned_write(), which copies
// only the prefix that the caller's version of the struct has.
#include "vgpu.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vgpu/host_state.hpp"
#include "vgpu/manager.hpp"
#include "vgpu/sys/backend.hpp"
#include "vgpu/version.hpp"

// The opaque handle. The magic catches memory that is not a manager even when the table
// lookup would have been skipped by a future fast path; it is cleared on destruction.
struct vgpu_manager {
  static constexpr std::uint64_t live_magic = 0x7667'7075'6d67'7231ULL;  // "vgpumgr1"
  std::uint64_t magic = live_magic;
  std::unique_ptr<vgpu::Manager> manager;
  // Type names as callers spell them, resolved once: a C caller names the type on every
  // create, and the catalog of a manager never changes. Bounded, so odd spellings from
  // untrusted input cannot grow it without limit.
  std::mutex types_mu;
  std::unordered_map<std::string, vgpu::TypeRef> types;
  ~vgpu_manager() { magic = 0; }

  vgpu::Result<vgpu::TypeRef> find_type(const char* name) {
    std::lock_guard<std::mutex> guard(types_mu);
    if (auto it = types.find(name); it != types.end()) return it->second;
    auto ref = manager->catalog().find_type(name);
    if (ref && types.size() < 256) types.emplace(name, *ref);
    return ref;
  }
};

namespace {

using vgpu::Errc;

// --- errors ------------------------------------------------------------------------------

// A failure inside the C layer, thrown by its helpers and caught by entry().
struct CapiError {
  int code;
  std::string message;
  int os_errno = 0;
};

[[noreturn]] void raise(int code, std::string message, int os_errno = 0) {
  throw CapiError{code, std::move(message), os_errno};
}

int to_status(Errc code) {
  return -static_cast<int>(code);
}

[[noreturn]] void raise(const vgpu::Error& e) {
  raise(to_status(e.code()), e.message(), e.os_errno());
}

template <class T>
T unwrap(vgpu::Result<T>&& r) {
  if (!r) raise(r.error());
  return std::move(*r);
}
void unwrap(vgpu::Result<void>&& r) {
  if (!r) raise(r.error());
}

struct LastError {
  vgpu_error_t pub{VGPU_OK, 0, ""};
  std::string message;
};
thread_local LastError last_error;

int succeed() noexcept {
  if (last_error.pub.code != VGPU_OK || !last_error.message.empty()) {
    last_error.message.clear();
    last_error.pub = {VGPU_OK, 0, ""};
  }
  return VGPU_OK;
}

int record(int code, std::string&& message, int os_errno) noexcept {
  last_error.pub.code = code;
  last_error.pub.os_errno = os_errno;
  try {
    last_error.message = std::move(message);
    last_error.pub.message = last_error.message.c_str();
  } catch (...) {
    last_error.pub.message = "out of memory while recording an error";
  }
  return code;
}

// Runs an entry point's body: success resets the thread's error, every exception becomes a
// status. Nothing escapes.
template <class Body>
int entry(Body&& body) noexcept {
  try {
    const int rc = body();
    return rc == VGPU_OK ? succeed() : rc;
  } catch (CapiError& e) {
    return record(e.code, std::move(e.message), e.os_errno);
  } catch (const std::bad_alloc&) {
    return record(VGPU_E_NO_MEMORY, "out of memory", ENOMEM);
  } catch (const std::exception& e) {
    return record(VGPU_E_INTERNAL,
                  std::string("internal error: ") + e.what() + "; please report this to vgpu", 0);
  } catch (...) {
    return record(VGPU_E_INTERNAL, "internal error (unknown exception); please report this", 0);
  }
}

// Fails with VGPU_E_INVALID_ARGUMENT unless @p cond holds. A macro so that the message,
// which usually concatenates strings, is only built when the check fails: these checks run
// on every call, and building their messages eagerly cost ~10% of a create+destroy.
#define VGPU_REQUIRE(cond, message)                                    \
  do {                                                                 \
    if (!(cond)) raise(VGPU_E_INVALID_ARGUMENT, std::string(message)); \
  } while (false)

// --- handles -----------------------------------------------------------------------------

class HandleTable {
 public:
  void add(std::shared_ptr<vgpu_manager> m) {
    std::lock_guard<std::mutex> guard(mu_);
    const vgpu_manager* key = m.get();
    live_.emplace(key, std::move(m));
  }
  std::shared_ptr<vgpu_manager> find(const vgpu_manager* key) {
    std::lock_guard<std::mutex> guard(mu_);
    auto it = live_.find(key);
    return it == live_.end() ? nullptr : it->second;
  }
  std::shared_ptr<vgpu_manager> remove(const vgpu_manager* key) {
    std::lock_guard<std::mutex> guard(mu_);
    auto it = live_.find(key);
    if (it == live_.end()) return nullptr;
    auto m = std::move(it->second);
    live_.erase(it);
    return m;
  }

 private:
  std::mutex mu_;
  std::unordered_map<const vgpu_manager*, std::shared_ptr<vgpu_manager>> live_;
};

// Never destroyed: a handle closed from an atexit handler or a static destructor still
// finds the table.
HandleTable& handles() {
  static auto* table = new HandleTable;
  return *table;
}

std::string pointer_text(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// The manager behind a handle, kept alive for the duration of the call even if another
// thread closes it meanwhile.
std::shared_ptr<vgpu_manager> lookup(vgpu_manager_t* handle) {
  if (handle == nullptr)
    raise(VGPU_E_BAD_HANDLE, "the manager handle is NULL: open one with vgpu_manager_open()");
  auto m = handles().find(handle);
  if (!m || m->magic != vgpu_manager::live_magic)
    raise(VGPU_E_BAD_HANDLE, "manager handle " + pointer_text(handle) +
                                 " is not open: it was closed already, or it is not a handle "
                                 "vgpu_manager_open() returned");
  return m;
}

// --- versioned structs -------------------------------------------------------------------

// Per struct: its name for messages, its current version and the size of each version.
// When a version 2 appends fields, add `offsetof(T, first_v2_field)` as the size of 1.
template <class T>
struct Layout;

#define VGPU_LAYOUT(T, NAME, CURRENT)                          \
  template <>                                                  \
  struct Layout<T> {                                           \
    static constexpr const char* name = NAME;                  \
    static constexpr std::uint32_t current = CURRENT;          \
    static constexpr std::size_t size(std::uint32_t version) { \
      return version == CURRENT ? sizeof(T) : 0;               \
    }                                                          \
  }
VGPU_LAYOUT(vgpu_manager_options_t, "vgpu_manager_options_t", VGPU_MANAGER_OPTIONS_VERSION);
VGPU_LAYOUT(vgpu_manager_info_t, "vgpu_manager_info_t", VGPU_MANAGER_INFO_VERSION);
VGPU_LAYOUT(vgpu_gpu_info_t, "vgpu_gpu_info_t", VGPU_GPU_INFO_VERSION);
VGPU_LAYOUT(vgpu_type_info_t, "vgpu_type_info_t", VGPU_TYPE_INFO_VERSION);
VGPU_LAYOUT(vgpu_availability_t, "vgpu_availability_t", VGPU_AVAILABILITY_VERSION);
VGPU_LAYOUT(vgpu_instance_info_t, "vgpu_instance_info_t", VGPU_INSTANCE_INFO_VERSION);
VGPU_LAYOUT(vgpu_request_t, "vgpu_request_t", VGPU_REQUEST_VERSION);
VGPU_LAYOUT(vgpu_plan_entry_t, "vgpu_plan_entry_t", VGPU_PLAN_ENTRY_VERSION);
VGPU_LAYOUT(vgpu_verdict_t, "vgpu_verdict_t", VGPU_VERDICT_VERSION);
VGPU_LAYOUT(vgpu_repair_t, "vgpu_repair_t", VGPU_REPAIR_VERSION);
VGPU_LAYOUT(vgpu_apply_summary_t, "vgpu_apply_summary_t", VGPU_APPLY_SUMMARY_VERSION);
#undef VGPU_LAYOUT

// Checks a struct version the caller gave; returns the size of that version's layout.
template <class T>
std::size_t checked_size(std::uint32_t version) {
  using L = Layout<T>;
  if (version == 0)
    raise(VGPU_E_VERSION_MISMATCH,
          std::string(L::name) +
              " has version 0: initialise it with its _INIT macro or its _init() function "
              "before passing it to vgpu");
  const std::size_t size = L::size(version);
  if (version > L::current || size == 0)
    raise(VGPU_E_VERSION_MISMATCH,
          std::string(L::name) + " has version " + std::to_string(version) +
              ", but this libvgpu (" + VGPU_VERSION_STRING + ") knows versions 1 to " +
              std::to_string(L::current) +
              ": the program was built against a newer vgpu.h than the library it runs "
              "with; install a libvgpu at least as new as that header");
  return size;
}

// Reads a caller's input struct into a full current-version value (missing fields zeroed).
template <class T>
T read_versioned(const T* in, std::string_view param) {
  VGPU_REQUIRE(in != nullptr, std::string(param) + " is NULL");
  const std::size_t size = checked_size<T>(in->version);
  T out{};
  std::memcpy(static_cast<void*>(&out), in, size);
  return out;
}

// Writes @p value into the caller's struct in the layout of @p version (already checked).
template <class T>
void versioned_write(void* dst, T value, std::uint32_t version) {
  value.version = version;
  std::memcpy(dst, &value, Layout<T>::size(version));
}

// Fills a fixed-size string field; a value that does not fit is an error, never truncated.
template <std::size_t N>
void put(char (&dst)[N], std::string_view src, std::string_view what) {
  if (src.size() >= N)
    raise(VGPU_E_NOT_SUPPORTED,
          std::string(what) + " \"" + std::string(src) + "\" is " + std::to_string(src.size()) +
              " bytes, longer than the C ABI's field holds (" + std::to_string(N - 1) + " bytes)");
  std::memcpy(dst, src.data(), src.size());
  dst[src.size()] = '\0';
}

// The name of an argument for messages, e.g. "request" + "->uuids"; joined only on error.
struct ArgName {
  ArgName(std::string_view b, std::string_view f = {}) : base(b), field(f) {}  // NOLINT
  ArgName(const char* b) : base(b) {}                                          // NOLINT
  std::string_view base;
  std::string_view field;
  [[nodiscard]] std::string str() const { return std::string(base) + std::string(field); }
};

std::string_view text_arg(const char* s, ArgName param) {
  VGPU_REQUIRE(s != nullptr, param.str() + " is NULL");
  return s;
}

// The two-call pattern: @p make builds the items (called once), @p fill converts one.
template <class T, class Items, class Fill>
int write_list(T* out, std::size_t* count, const Items& items, Fill fill) {
  VGPU_REQUIRE(count != nullptr, "count is NULL: pass the address of the array's capacity");
  const std::size_t n = items.size();
  if (out == nullptr) {
    *count = n;
    return VGPU_OK;
  }
  if (*count < n) {
    const std::size_t had = *count;
    *count = n;
    raise(VGPU_E_BUFFER_TOO_SMALL, std::string("the array holds ") + std::to_string(had) +
                                       " elements but " + std::to_string(n) +
                                       " are needed; allocate *count elements and call again");
  }
  if (n == 0) {
    *count = 0;
    return VGPU_OK;
  }
  const std::uint32_t version = out[0].version;
  const std::size_t stride = checked_size<T>(version);
  // Convert everything first: a failure must leave the caller's array untouched.
  std::vector<T> staged(n);
  for (std::size_t i = 0; i < n; ++i)
    staged[i] = fill(items[i]);
  auto* bytes = reinterpret_cast<unsigned char*>(out);
  for (std::size_t i = 0; i < n; ++i)
    versioned_write(bytes + i * stride, staged[i], version);
  *count = n;
  return VGPU_OK;
}

// One allocation holding an array of versioned entries followed by their strings; freed
// with vgpu_free(). @p text_of gives each entry's string, @p set_text points it.
template <class T, class SetText>
T* allocate_block(const std::vector<T>& entries, const std::vector<std::string>& texts,
                  std::uint32_t version, SetText set_text) {
  const std::size_t stride = Layout<T>::size(version);
  std::size_t bytes = stride * entries.size();
  for (const auto& t : texts)
    bytes += t.size() + 1;
  if (bytes == 0) return nullptr;
  auto* block = static_cast<unsigned char*>(std::malloc(bytes));
  if (block == nullptr) throw std::bad_alloc();
  char* strings = reinterpret_cast<char*>(block + stride * entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    T entry = entries[i];
    std::memcpy(strings, texts[i].c_str(), texts[i].size() + 1);
    set_text(entry, strings);
    strings += texts[i].size() + 1;
    versioned_write(block + i * stride, entry, version);
  }
  return reinterpret_cast<T*>(block);
}

// --- conversions -------------------------------------------------------------------------

vgpu::PciAddress parse_gpu(const char* text, ArgName param) {
  return unwrap(vgpu::PciAddress::parse(text_arg(text, param)));
}
vgpu::Uuid parse_uuid(const char* text, ArgName param) {
  return unwrap(vgpu::Uuid::parse(text_arg(text, param)));
}

std::int64_t micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

vgpu_type_info_t type_info(const vgpu::VgpuType& t, std::string_view model) {
  vgpu_type_info_t out{};
  out.driver_id = t.id.value;
  put(out.name, t.name, "type name");
  put(out.model, model, "GPU model name");
  out.series = static_cast<char>(t.series);
  out.mig_backed = t.is_mig_backed();
  out.deprecated = t.deprecated;
  out.framebuffer_bytes = t.framebuffer.count();
  out.max_heads = t.max_heads;
  out.max_resolution_width = t.max_resolution.width();
  out.max_resolution_height = t.max_resolution.height();
  out.max_instances = t.max_instances;
  out.max_instances_mixed = t.max_instances_mixed;
  out.placement_size = t.placement_size;
  if (t.placement_ids.size() > VGPU_MAX_PLACEMENTS)
    raise(VGPU_E_NOT_SUPPORTED,
          "type " + t.name + " has " + std::to_string(t.placement_ids.size()) +
              " placements, more than the C ABI's " + std::to_string(VGPU_MAX_PLACEMENTS));
  out.placement_count = static_cast<std::uint32_t>(t.placement_ids.size());
  std::copy(t.placement_ids.begin(), t.placement_ids.end(), out.placements);
  if (t.mig) put(out.mig_profile, t.mig->name, "MIG profile");
  return out;
}

vgpu_instance_info_t instance_info(const vgpu::VgpuRecord& r) {
  vgpu_instance_info_t out{};
  out.state = static_cast<std::uint32_t>(r.state);
  put(out.uuid, r.uuid.to_string(), "UUID");
  put(out.gpu, r.gpu.to_string(), "PCI address");
  put(out.type, r.type_name, "type name");
  out.placement = r.placement;
  put(out.owner, r.owner, "owner");
  if (r.vm_uuid) put(out.vm_uuid, r.vm_uuid->to_string(), "VM UUID");
  put(out.device, r.device, "device");
  out.pid = r.process.pid;
  out.created_at_us = micros(r.created_at);
  out.updated_at_us = micros(r.updated_at);
  return out;
}

int status_of_level(vgpu::LogLevel level) {
  return static_cast<int>(level);
}

vgpu::LogCallback make_logger(vgpu_log_fn fn, int min_level, void* payload) {
  if (fn == nullptr) return {};
  return [fn, min_level, payload](vgpu::LogLevel level, std::string_view message) {
    const int l = status_of_level(level);
    if (l < min_level) return;
    const std::string text(message);  // NUL-terminated for C
    fn(l, text.c_str(), payload);
  };
}

std::shared_ptr<vgpu::Policy> make_c_policy(vgpu_policy_fn fn, void* payload, std::string name,
                                            bool placement_sensitive) {
  auto score = [fn, payload](const vgpu::Candidate& c) -> double {
    const auto& gpu = c.gpu->gpu();
    vgpu_candidate_t cand{};
    cand.version = VGPU_CANDIDATE_VERSION;
    cand.model = gpu.model->name.c_str();
    cand.mode = static_cast<std::uint32_t>(gpu.mode);
    cand.numa_node = gpu.numa_node ? static_cast<std::int32_t>(*gpu.numa_node) : -1;
    cand.gpu_framebuffer_bytes = gpu.model->framebuffer.count();
    cand.used_framebuffer_bytes = c.gpu->used_framebuffer().count();
    cand.vgpu_count = static_cast<std::uint32_t>(c.gpu->occupants().size());
    cand.type = c.type->name.c_str();
    cand.type_framebuffer_bytes = c.type->framebuffer.count();
    cand.placement = c.placement;
    cand.placement_size = c.type->placement_size;
    cand.requested_bytes = c.requested.count();
    const double s = fn(&cand, payload);
    return std::isnan(s) ? std::numeric_limits<double>::infinity() : s;
  };
  return vgpu::make_scoring_policy(std::move(name), std::move(score), placement_sensitive);
}

std::vector<std::string> string_array(const char* const* items, std::size_t n, ArgName param) {
  std::vector<std::string> out;
  if (n == 0) return out;
  VGPU_REQUIRE(items != nullptr, param.str() + " is NULL but its count is " + std::to_string(n));
  for (std::size_t i = 0; i < n; ++i) {
    VGPU_REQUIRE(items[i] != nullptr, param.str() + "[" + std::to_string(i) + "] is NULL");
    out.emplace_back(items[i]);
  }
  return out;
}

vgpu::ManagerOptions manager_options(const vgpu_manager_options_t* in) {
  vgpu::ManagerOptions o;
  if (in == nullptr) return o;
  const auto opt = read_versioned(in, "options");
  if (opt.backend != nullptr) o.backend = opt.backend;
  if (opt.sim_host != nullptr) o.sim_host = opt.sim_host;
  if (opt.sysfs_root != nullptr) {
    o.backend_options.sysfs_root = opt.sysfs_root;
    o.backend_options.dev_root = opt.sysfs_root;
  }
  if (opt.state_dir != nullptr) o.backend_options.state_dir = opt.state_dir;
  if (opt.ledger != nullptr) o.ledger = opt.ledger;
  o.private_ledger = opt.private_ledger;
  o.durable = opt.durable;
  if (opt.share_ledger_with_group) o.ledger_group = static_cast<gid_t>(opt.ledger_group);
  o.reconcile_on_open = !opt.skip_reconcile_on_open;
  if (opt.definitions != nullptr) o.definitions = opt.definitions;
  for (auto& c : string_array(opt.catalogs, opt.catalog_count, {"options->catalogs"}))
    o.catalogs.emplace_back(std::move(c));
  if (opt.policy_fn != nullptr) {
    o.custom_policy = make_c_policy(opt.policy_fn, opt.policy_payload,
                                    opt.policy != nullptr ? opt.policy : "custom",
                                    opt.policy_placement_sensitive);
  } else if (opt.policy != nullptr) {
    o.policy = opt.policy;
  }
  o.rules.one_type_per_gpu = opt.one_type_per_gpu;
  VGPU_REQUIRE(opt.log_level >= VGPU_LOG_DEBUG && opt.log_level <= VGPU_LOG_ERROR,
               "options->log_level is " + std::to_string(opt.log_level) +
                   ": use VGPU_LOG_DEBUG (0) to VGPU_LOG_ERROR (3)");
  o.logger = make_logger(opt.log_fn, opt.log_level, opt.log_payload);
  return o;
}

vgpu::GpuIndex gpu_index(const vgpu::Manager& m, const char* text, ArgName param) {
  return unwrap(m.gpu_index(parse_gpu(text, param)));
}

struct CRequest {
  vgpu::Request request;
  vgpu::CreateOptions options;
};

CRequest to_request(vgpu_manager& h, const vgpu_request_t* in, std::string_view param) {
  const vgpu::Manager& m = *h.manager;
  const auto r = read_versioned(in, param);
  CRequest out;
  auto& rq = out.request;
  const bool by_requirement = r.min_framebuffer_bytes != 0 || r.min_heads != 0 ||
                              r.min_resolution_width != 0 || r.min_resolution_height != 0 ||
                              r.series != 0 || r.exclude_mig_backed || r.include_deprecated ||
                              r.model != nullptr || r.gpu_milli != 0;
  if (r.type != nullptr) {
    VGPU_REQUIRE(!by_requirement, std::string(param) + " names type \"" + r.type +
                                      "\" and also sets requirement fields (min_framebuffer_bytes, "
                                      "min_heads, series, model, gpu_milli, ...): set one or the "
                                      "other");
    rq.type = unwrap(h.find_type(r.type));
  } else {
    auto& need = rq.requirement;
    need.min_framebuffer = vgpu::Bytes(r.min_framebuffer_bytes);
    need.min_heads = r.min_heads;
    VGPU_REQUIRE((r.min_resolution_width == 0) == (r.min_resolution_height == 0),
                 std::string(param) +
                     " sets only one of min_resolution_width and min_resolution_height: set both "
                     "or neither");
    need.min_resolution = vgpu::Resolution(r.min_resolution_width, r.min_resolution_height);
    if (r.series != 0) need.series = unwrap(vgpu::parse_series(std::string(1, r.series)));
    if (r.model != nullptr) need.model = r.model;
    need.include_mig_backed = !r.exclude_mig_backed;
    need.include_deprecated = r.include_deprecated;
    rq.gpu_milli = r.gpu_milli;
  }
  rq.count = r.count == 0 ? 1 : r.count;
  if (r.owner != nullptr) rq.owner = r.owner;
  auto& c = rq.constraints;
  for (const auto& a : string_array(r.allowed_gpus, r.allowed_gpu_count, {param, "->allowed_gpus"}))
    c.allowed.push_back(gpu_index(m, a.c_str(), {param, "->allowed_gpus"}));
  for (const auto& a : string_array(r.denied_gpus, r.denied_gpu_count, {param, "->denied_gpus"}))
    c.denied.push_back(gpu_index(m, a.c_str(), {param, "->denied_gpus"}));
  if (r.has_numa_node) c.numa_node = r.numa_node;
  if (r.has_placement) c.placement = r.placement;
  VGPU_REQUIRE(r.affinity <= VGPU_AFFINITY_PCI_ROOT,
               std::string(param) + "->affinity is " + std::to_string(r.affinity) +
                   ": use VGPU_AFFINITY_NONE, VGPU_AFFINITY_NUMA_NODE or VGPU_AFFINITY_PCI_ROOT");
  c.affinity = static_cast<vgpu::Affinity>(r.affinity);
  c.distinct_gpus = !r.allow_shared_gpu;
  const auto uuids = string_array(r.uuids, r.uuid_count, {param, "->uuids"});
  VGPU_REQUIRE(uuids.empty() || uuids.size() == rq.count,
               std::string(param) + " gives " + std::to_string(uuids.size()) + " UUIDs for " +
                   std::to_string(rq.count) + " vGPUs: give one per vGPU, or none");
  for (const auto& u : uuids)
    out.options.uuids.push_back(unwrap(vgpu::Uuid::parse(u)));
  if (r.vm_uuid != nullptr) out.options.vm_uuid = parse_uuid(r.vm_uuid, {param, "->vm_uuid"});
  return out;
}

// Interned backend names: static strings for vgpu_backend_names(), which may see names
// registered later.
const char* intern(const std::string& name) {
  static std::mutex mu;
  static auto* names = new std::deque<std::string>;
  std::lock_guard<std::mutex> guard(mu);
  for (const auto& n : *names)
    if (n == name) return n.c_str();
  return names->emplace_back(name).c_str();
}

int write_names(const char** out, std::size_t* count, const std::vector<const char*>& names) {
  VGPU_REQUIRE(count != nullptr, "count is NULL: pass the address of the array's capacity");
  if (out == nullptr) {
    *count = names.size();
    return VGPU_OK;
  }
  if (*count < names.size()) {
    const std::size_t had = *count;
    *count = names.size();
    raise(VGPU_E_BUFFER_TOO_SMALL, "the array holds " + std::to_string(had) + " names but " +
                                       std::to_string(names.size()) +
                                       " are needed; allocate *count elements and call again");
  }
  std::copy(names.begin(), names.end(), out);
  *count = names.size();
  return VGPU_OK;
}

template <class T>
void init_struct(T* out, std::uint32_t version) {
  if (out == nullptr) return;
  // Zero what the caller's version has (at most our layout), then stamp the version.
  const std::size_t size = version >= 1 && version <= Layout<T>::current ? Layout<T>::size(version)
                                                                         : sizeof(std::uint32_t);
  std::memset(static_cast<void*>(out), 0, size);
  out->version = version;
}

void write_summary(vgpu_apply_summary_t* out, std::uint32_t version,
                   const vgpu::ApplyReport& report) {
  if (out == nullptr) return;
  vgpu_apply_summary_t s{};
  s.kept = static_cast<std::uint32_t>(report.kept.size());
  s.created = static_cast<std::uint32_t>(report.created.size());
  s.destroyed = static_cast<std::uint32_t>(report.destroyed.size());
  s.extra = static_cast<std::uint32_t>(report.extra.size());
  versioned_write(out, s, version);
}
std::uint32_t summary_version(const vgpu_apply_summary_t* out) {
  if (out == nullptr) return 0;
  checked_size<vgpu_apply_summary_t>(out->version);
  return out->version;
}
}  // namespace

// --- the C functions -----------------------------------------------------------------------

extern "C" {

const char* vgpu_version(void) {
  return VGPU_VERSION_STRING;
}

uint32_t vgpu_abi_version(void) {
  return (static_cast<uint32_t>(VGPU_ABI_VERSION_MAJOR) << 16) | VGPU_ABI_VERSION_MINOR;
}

uint32_t vgpu_features(void) {
  return VGPU_FEATURE_SIM | VGPU_FEATURE_NVIDIA_VFIO | VGPU_FEATURE_MDEV | VGPU_FEATURE_NOUVEAU |
         VGPU_FEATURE_SHARED_LEDGER | VGPU_FEATURE_CUSTOM_POLICY;
}

const char* vgpu_status_name(int status) {
  switch (status) {
    case VGPU_E_BUFFER_TOO_SMALL:
      return "buffer_too_small";
    case VGPU_E_NO_MEMORY:
      return "no_memory";
    case VGPU_E_BAD_HANDLE:
      return "bad_handle";
    default:
      break;
  }
  if (status > 0 || status < VGPU_E_INTERNAL) return "unknown";
  // The codes down to VGPU_E_INTERNAL are vgpu::Errc negated; their names are static.
  return vgpu::to_string(static_cast<Errc>(-status)).data();
}

const vgpu_error_t* vgpu_last_error(void) {
  return &last_error.pub;
}

void vgpu_free(void* ptr) {
  std::free(ptr);
}

int vgpu_backend_names(const char** out, size_t* count) {
  return entry([&]() -> int {
    std::vector<const char*> names;
    for (const auto& n : vgpu::sys::backend_names())
      names.push_back(intern(n));
    return write_names(out, count, names);
  });
}

int vgpu_policy_names(const char** out, size_t* count) {
  return entry([&]() -> int {
    std::vector<const char*> names;
    for (auto n : vgpu::policy_names())
      names.push_back(n.data());  // string literals: NUL-terminated and static
    return write_names(out, count, names);
  });
}

void vgpu_manager_options_init(vgpu_manager_options_t* options, uint32_t version) {
  init_struct(options, version);
}
void vgpu_gpu_info_init(vgpu_gpu_info_t* out, uint32_t version) {
  init_struct(out, version);
}
void vgpu_type_info_init(vgpu_type_info_t* out, uint32_t version) {
  init_struct(out, version);
}
void vgpu_availability_init(vgpu_availability_t* out, uint32_t version) {
  init_struct(out, version);
}
void vgpu_instance_info_init(vgpu_instance_info_t* out, uint32_t version) {
  init_struct(out, version);
}
void vgpu_request_init(vgpu_request_t* out, uint32_t version) {
  init_struct(out, version);
}

int vgpu_manager_open(vgpu_manager_t** out, const vgpu_manager_options_t* options) {
  return entry([&]() -> int {
    VGPU_REQUIRE(out != nullptr, "out is NULL: pass the address of a vgpu_manager_t pointer");
    auto opened = unwrap(vgpu::Manager::open(manager_options(options)));
    auto handle = std::make_shared<vgpu_manager>();
    handle->manager = std::move(opened);
    vgpu_manager* raw = handle.get();
    handles().add(std::move(handle));
    *out = raw;
    return VGPU_OK;
  });
}

int vgpu_manager_close(vgpu_manager_t* manager) {
  return entry([&]() -> int {
    if (manager == nullptr) return VGPU_OK;
    auto m = handles().remove(manager);
    if (!m)
      raise(VGPU_E_BAD_HANDLE, "manager handle " + pointer_text(manager) +
                                   " is not open: it was closed already, or it is not a "
                                   "handle vgpu_manager_open() returned");
    return VGPU_OK;  // the manager goes when the last call using it returns
  });
}

int vgpu_manager_describe(vgpu_manager_info_t* out, vgpu_manager_t* manager) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(out != nullptr, "out is NULL");
    const std::uint32_t version = out->version;
    checked_size<vgpu_manager_info_t>(version);
    const auto& m = *h->manager;
    vgpu_manager_info_t info{};
    info.gpu_count = static_cast<std::uint32_t>(m.gpus().size());
    put(info.backend, m.backend_name(), "backend name");
    put(info.policy, m.policy_name(), "policy name");
    put(info.ledger, m.ledger_path().string(), "ledger path");
    put(info.definitions, m.definitions_path().string(), "definitions path");
    const auto& rep = m.ledger_report();
    info.ledger_rebuilt = !rep.corruption.empty();
    info.ledger_replayed = rep.replayed_journal;
    put(info.ledger_kept_aside, rep.kept_aside.string(), "ledger path");
    info.reconciled_at_open = static_cast<std::uint32_t>(m.open_reconcile().actions.size());
    versioned_write(out, info, version);
    return VGPU_OK;
  });
}

int vgpu_manager_set_log(vgpu_manager_t* manager, vgpu_log_fn fn, int level, void* payload) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(
        level >= VGPU_LOG_DEBUG && level <= VGPU_LOG_ERROR,
        "level is " + std::to_string(level) + ": use VGPU_LOG_DEBUG (0) to VGPU_LOG_ERROR (3)");
    h->manager->set_logger(make_logger(fn, level, payload));
    return VGPU_OK;
  });
}

int vgpu_manager_gpus(vgpu_gpu_info_t* out, size_t* count, vgpu_manager_t* manager) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(count != nullptr, "count is NULL: pass the address of the array's capacity");
    const auto gpus = unwrap(h->manager->usage());
    return write_list(out, count, gpus, [&](const vgpu::GpuUsage& u) {
      const auto& gpu = u.gpu;
      vgpu_gpu_info_t info{};
      info.index = u.index;
      put(info.pci_address, gpu.address.to_string(), "PCI address");
      put(info.model, gpu.model->name, "GPU model name");
      info.mode = static_cast<std::uint32_t>(gpu.mode);
      info.numa_node = gpu.numa_node ? static_cast<std::int32_t>(*gpu.numa_node) : -1;
      put(info.pci_root, gpu.pci_root, "PCI root");
      info.framebuffer_bytes = gpu.model->framebuffer.count();
      info.used_framebuffer_bytes = u.used_framebuffer.count();
      info.vgpu_count = static_cast<std::uint32_t>(u.vgpu_count);
      return info;
    });
  });
}

int vgpu_manager_types(vgpu_type_info_t* out, size_t* count, vgpu_manager_t* manager,
                       const char* gpu) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(count != nullptr, "count is NULL: pass the address of the array's capacity");
    const auto address = parse_gpu(gpu, "gpu");
    const auto types = unwrap(h->manager->types(address));
    std::string model;
    for (const auto& g : h->manager->gpus())
      if (g.address == address) model = g.model->name;
    return write_list(out, count, types,
                      [&](const vgpu::VgpuType* t) { return type_info(*t, model); });
  });
}

int vgpu_manager_creatable(vgpu_availability_t* out, size_t* count, vgpu_manager_t* manager,
                           const char* gpu) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(count != nullptr, "count is NULL: pass the address of the array's capacity");
    const auto avail = unwrap(h->manager->creatable(parse_gpu(gpu, "gpu")));
    return write_list(out, count, avail, [&](const vgpu::TypeAvailability& a) {
      vgpu_availability_t info{};
      put(info.type, a.type->name, "type name");
      info.remaining = a.remaining;
      const std::size_t n = std::min<std::size_t>(a.placements.size(), VGPU_MAX_PLACEMENTS);
      info.free_placement_count = static_cast<std::uint32_t>(n);
      std::copy_n(a.placements.begin(), n, info.free_placements);
      return info;
    });
  });
}

int vgpu_manager_find_type(vgpu_type_info_t* out, vgpu_manager_t* manager, const char* name) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(out != nullptr, "out is NULL");
    const std::uint32_t version = out->version;
    checked_size<vgpu_type_info_t>(version);
    const auto ref = unwrap(h->manager->catalog().find_type(text_arg(name, "name")));
    versioned_write(out, type_info(*ref.type, ref.model->name), version);
    return VGPU_OK;
  });
}

int vgpu_manager_instances(vgpu_instance_info_t* out, size_t* count, vgpu_manager_t* manager) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(count != nullptr, "count is NULL: pass the address of the array's capacity");
    const auto records = unwrap(h->manager->instances());
    return write_list(out, count, records, instance_info);
  });
}

int vgpu_manager_instance(vgpu_instance_info_t* out, vgpu_manager_t* manager, const char* uuid) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(out != nullptr, "out is NULL");
    const std::uint32_t version = out->version;
    checked_size<vgpu_instance_info_t>(version);
    const auto id = parse_uuid(uuid, "uuid");
    for (const auto& r : unwrap(h->manager->instances()))
      if (r.uuid == id) {
        versioned_write(out, instance_info(r), version);
        return VGPU_OK;
      }
    raise(VGPU_E_NOT_FOUND, "no vGPU " + id.to_string() + " is recorded on this host");
  });
}

int vgpu_manager_create(vgpu_instance_info_t* out, size_t capacity, vgpu_manager_t* manager,
                        const vgpu_request_t* request) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    const auto rq = to_request(*h, request, "request");
    std::uint32_t version = 0;
    if (out != nullptr) {
      VGPU_REQUIRE(capacity >= rq.request.count,
                   "out holds " + std::to_string(capacity) + " elements but the request creates " +
                       std::to_string(rq.request.count) +
                       " vGPUs: pass an array of request->count elements, or NULL");
      version = out[0].version;
      checked_size<vgpu_instance_info_t>(version);
    }
    const auto made = unwrap(h->manager->create(rq.request, rq.options));
    if (out != nullptr) {
      std::vector<vgpu_instance_info_t> staged;
      for (const auto& r : made)
        staged.push_back(instance_info(r));
      auto* bytes = reinterpret_cast<unsigned char*>(out);
      for (std::size_t i = 0; i < staged.size(); ++i)
        versioned_write(bytes + i * Layout<vgpu_instance_info_t>::size(version), staged[i],
                        version);
    }
    return VGPU_OK;
  });
}

int vgpu_manager_destroy(vgpu_manager_t* manager, const char* uuid) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    unwrap(h->manager->destroy(parse_uuid(uuid, "uuid")));
    return VGPU_OK;
  });
}

int vgpu_manager_plan(vgpu_plan_entry_t** out, size_t* out_count, vgpu_manager_t* manager,
                      const vgpu_request_t* const* requests, size_t request_count,
                      uint32_t entry_version) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(out != nullptr && out_count != nullptr, "out or out_count is NULL");
    checked_size<vgpu_plan_entry_t>(entry_version);
    VGPU_REQUIRE(request_count == 0 || requests != nullptr,
                 "requests is NULL but request_count is " + std::to_string(request_count));
    std::vector<vgpu::Request> batch;
    for (std::size_t i = 0; i < request_count; ++i) {
      const std::string name = "requests[" + std::to_string(i) + "]";
      auto rq = to_request(*h, requests[i], name);
      VGPU_REQUIRE(rq.options.uuids.empty() && !rq.options.vm_uuid,
                   name + " sets uuids or vm_uuid, which only vgpu_manager_create() uses");
      batch.push_back(std::move(rq.request));
    }
    const auto plan = unwrap(h->manager->plan(batch));
    const auto gpus = h->manager->gpus();
    std::vector<vgpu_plan_entry_t> entries;
    std::vector<std::string> reasons;
    for (std::size_t i = 0; i < plan.items.size(); ++i) {
      const auto& item = plan.items[i].result;
      if (!item) {
        vgpu_plan_entry_t e{};
        e.request = static_cast<std::uint32_t>(i);
        e.status = to_status(item.error().code());
        entries.push_back(e);
        reasons.push_back(item.error().message());
        continue;
      }
      for (const auto& [uuid, where] : *item) {
        vgpu_plan_entry_t e{};
        e.request = static_cast<std::uint32_t>(i);
        put(e.uuid, uuid.to_string(), "UUID");
        put(e.gpu, gpus.at(where.gpu).address.to_string(), "PCI address");
        put(e.type, where.type.type->name, "type name");
        e.placement = where.placement;
        e.score = where.score;
        entries.push_back(e);
        reasons.emplace_back();
      }
    }
    *out = allocate_block(entries, reasons, entry_version,
                          [](vgpu_plan_entry_t& e, const char* s) { e.reason = s; });
    *out_count = entries.size();
    return VGPU_OK;
  });
}

int vgpu_manager_explain(vgpu_verdict_t** out, size_t* out_count, vgpu_manager_t* manager,
                         const vgpu_request_t* request, uint32_t verdict_version) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(out != nullptr && out_count != nullptr, "out or out_count is NULL");
    checked_size<vgpu_verdict_t>(verdict_version);
    const auto rq = to_request(*h, request, "request");
    const auto x = unwrap(h->manager->explain(rq.request));
    // A request the engine rejects outright (a placement for several vGPUs, say) has no
    // verdicts, only the reason: that is the caller's error, not an empty explanation.
    if (x.gpus.empty() && !x.decision) raise(x.decision.error());
    const auto gpus = h->manager->gpus();
    std::vector<vgpu_verdict_t> entries;
    std::vector<std::string> reasons;
    for (const auto& v : x.gpus) {
      vgpu_verdict_t e{};
      e.eligible = v.eligible;
      e.chosen = x.decision && !x.decision->empty() && x.decision->front().gpu == v.gpu;
      put(e.gpu, gpus.at(v.gpu).address.to_string(), "PCI address");
      if (v.type != nullptr) put(e.type, v.type->name, "type name");
      e.placement = v.placement;
      e.score = v.score;
      entries.push_back(e);
      reasons.push_back(v.reason);
    }
    *out = allocate_block(entries, reasons, verdict_version,
                          [](vgpu_verdict_t& e, const char* s) { e.reason = s; });
    *out_count = entries.size();
    return VGPU_OK;
  });
}

int vgpu_manager_reconcile(vgpu_repair_t** out, size_t* out_count, size_t* in_progress,
                           vgpu_manager_t* manager, uint32_t repair_version) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    VGPU_REQUIRE(out_count != nullptr, "out_count is NULL");
    checked_size<vgpu_repair_t>(repair_version);
    const auto report = unwrap(h->manager->reconcile());
    std::vector<vgpu_repair_t> entries;
    std::vector<std::string> texts;
    for (const auto& a : report.actions) {
      vgpu_repair_t e{};
      e.kind = static_cast<std::uint32_t>(a.kind);
      put(e.uuid, a.uuid.to_string(), "UUID");
      entries.push_back(e);
      texts.push_back(a.text);
    }
    if (out != nullptr)
      *out = allocate_block(entries, texts, repair_version,
                            [](vgpu_repair_t& e, const char* s) { e.text = s; });
    *out_count = entries.size();
    if (in_progress != nullptr) *in_progress = report.in_progress;
    return VGPU_OK;
  });
}

int vgpu_manager_apply(vgpu_apply_summary_t* out, vgpu_manager_t* manager, const char* host_state,
                       uint32_t flags) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    const std::uint32_t version = summary_version(out);
    VGPU_REQUIRE((flags & ~static_cast<std::uint32_t>(VGPU_APPLY_DRY_RUN | VGPU_APPLY_PRUNE)) == 0,
                 "flags has unknown bits " + std::to_string(flags) +
                     ": use VGPU_APPLY_DRY_RUN and VGPU_APPLY_PRUNE");
    const auto state =
        unwrap(vgpu::parse_host_state(text_arg(host_state, "host_state"), "host state"));
    vgpu::ApplyOptions options;
    options.dry_run = (flags & VGPU_APPLY_DRY_RUN) != 0;
    options.prune = (flags & VGPU_APPLY_PRUNE) != 0;
    write_summary(out, version, unwrap(h->manager->apply(state, options)));
    return VGPU_OK;
  });
}

int vgpu_manager_restore(vgpu_apply_summary_t* out, vgpu_manager_t* manager) {
  return entry([&]() -> int {
    auto h = lookup(manager);
    const std::uint32_t version = summary_version(out);
    write_summary(out, version, unwrap(h->manager->restore()));
    return VGPU_OK;
  });
}

}  // extern "C"
