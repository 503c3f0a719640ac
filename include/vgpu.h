/**
 * @file vgpu.h
 * @brief The vgpu C ABI: partition physical GPUs into vGPUs from C, Rust, Go or Python.
 *
 * @mainpage vgpu API reference
 *
 * vgpu partitions physical NVIDIA GPUs into virtual GPUs (vGPUs) and hands them to virtual
 * machines. It has two public interfaces:
 *
 * - **The C ABI, this header** (`#include <vgpu.h>`, link `-lvgpu`, `pkg-config vgpu`): a
 *   C99 interface that stays binary-compatible across releases of one ABI major version
 *   (`libvgpu.so.1`). Hypervisors in C (QEMU, libvirt), Rust, Go and Python use it, directly
 *   or through the bindings in `bindings/`.
 * - **The C++ API** (`#include <vgpu/manager.hpp>`, CMake target `vgpu::vgpu`,
 *   `pkg-config vgpu++`): vgpu::Manager and the header-first model, catalog and placement
 *   engine. See @ref cpp_api.
 *
 * ## Using the C ABI
 *
 * @code{.c}
 * #include <vgpu.h>
 * #include <stdio.h>
 *
 * vgpu_manager_t *m = NULL;
 * if (vgpu_manager_open(&m, NULL) != VGPU_OK) {             // the built-in simulated host
 *   fprintf(stderr, "vgpu: %s\n", vgpu_last_error()->message);
 *   return 1;
 * }
 * vgpu_request_t request = VGPU_REQUEST_INIT;
 * request.type = "A16-2Q";
 * request.owner = "vm-1";
 * vgpu_instance_info_t vgpu = VGPU_INSTANCE_INFO_INIT;
 * if (vgpu_manager_create(&vgpu, 1, m, &request) == VGPU_OK)
 *   printf("%s on %s at slot %u\n", vgpu.uuid, vgpu.gpu, vgpu.placement);
 * vgpu_manager_destroy(m, vgpu.uuid);
 * vgpu_manager_close(m);
 * @endcode
 *
 * ## Conventions (every function follows them)
 *
 * - **Names** are `vgpu_<object>_<verb>`; output parameters come first, then the object, then
 *   inputs; a callback's `payload` pointer comes last.
 * - **Status codes.** Functions return `int`: #VGPU_OK (0) on success, a negative
 *   ::vgpu_status code otherwise. vgpu_last_error() then says what went wrong and what to do
 *   (message, code and OS errno); it is per thread. Every call that returns a status resets
 *   it, so read it right after the call that failed. Nothing ever throws or aborts across
 *   this boundary.
 * - **On failure output parameters are left untouched**, except the in/out `count` of the
 *   list functions, which then tells how many elements are needed.
 * - **Handles** (::vgpu_manager_t) are opaque. A NULL, closed or foreign handle is reported
 *   as #VGPU_E_BAD_HANDLE, never a crash: the library keeps a table of live handles and checks
 *   every handle against it before using it.
 * - **Versioned structs.** Every struct passed across the ABI starts with `uint32_t version`.
 *   Initialise a struct with its `VGPU_<X>_INIT` macro, or from a language without C macros
 *   with `vgpu_<x>_init(&x, VGPU_<X>_VERSION)`. The library accepts every version from 1 to
 *   the one it was built with, and refuses 0 (an uninitialised struct) and newer versions
 *   (a program built against a newer header than the library) with
 *   #VGPU_E_VERSION_MISMATCH. New fields are only ever appended, with a new version number,
 *   so a program built against an older header keeps working with a newer library. A zeroed
 *   field always means "the default".
 * - **Lists** use the two-call pattern: call with `out` NULL to learn the count, allocate,
 *   set `version` in `out[0]` (the library reads that element's version and writes every
 *   element in its layout), call again with `*count` set to the capacity. The state may change
 *   between the calls (another process creates a vGPU); the second call then fails with
 *   #VGPU_E_BUFFER_TOO_SMALL and sets `*count` to the new need: loop. Results of operations
 *   that cannot be repeated (plan, explain, reconcile) come back in one block the library
 *   allocates; free it with vgpu_free().
 * - **Strings** in output structs are NUL-terminated fixed-size arrays (no ownership to
 *   track). Strings the library allocates are freed with vgpu_free(), never with free():
 *   the library and the program may use different allocators.
 * - **Threads.** Every function may be called from any thread. Calls on one manager are
 *   serialised inside the library; managers in other threads or processes coordinate through
 *   the host's ledger. Closing a manager while another thread is inside a call on it is safe:
 *   the call finishes, later calls get #VGPU_E_BAD_HANDLE.
 *
 * The guides in the repository's `docs/` folder explain the concepts (architecture.md,
 * policies.md, ledger.md, backends.md, error-handling.md, api-stability.md).
 */
#ifndef VGPU_H
#define VGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @cond INTERNAL */
#if defined(__GNUC__) || defined(__clang__)
#define VGPU_PUBLIC __attribute__((visibility("default")))
#else
#define VGPU_PUBLIC
#endif
/* A versioned struct with only its version set: a designated initialiser in C (no
   -Wmissing-field-initializers warning), a value-initialised copy in C++. */
#ifdef __cplusplus
#define VGPU_STRUCT_INIT_(type, v) \
  ([] {                            \
    type x_ = {};                  \
    x_.version = (v);              \
    return x_;                     \
  }())
#else
#define VGPU_STRUCT_INIT_(type, v) \
  { .version = (v) }
#endif
/** @endcond */

/** @defgroup version Version, features and status codes
 *  @{ */

/** Major version of the C ABI this header declares. It is the library's SONAME version
 *  (`libvgpu.so.1`): it changes only when the ABI changes incompatibly. */
#define VGPU_ABI_VERSION_MAJOR 1
/** Minor version of the C ABI: grows when functions, struct fields or codes are added. */
#define VGPU_ABI_VERSION_MINOR 0

/** Status codes. 0 is success; every failure is negative. The values never change meaning;
 *  new codes get new numbers. */
typedef enum vgpu_status {
  VGPU_OK = 0,                  /**< Success. */
  VGPU_E_INVALID_ARGUMENT = -1, /**< An argument, file or text is malformed or out of range. */
  VGPU_E_NOT_FOUND = -2,        /**< A named GPU, type, vGPU or file does not exist. */
  VGPU_E_NO_CAPACITY = -3,      /**< Valid, but no GPU can host the request now. */
  VGPU_E_BUSY = -4,          /**< In use: a VM holds the device, or another process works on it. */
  VGPU_E_NOT_SUPPORTED = -5, /**< The GPU, its mode or the backend cannot do this at all. */
  VGPU_E_PERMISSION = -6,    /**< The OS refused access (root or the vfio group is needed). */
  VGPU_E_VERSION_MISMATCH =
      -7,                /**< A struct, file or plug-in has a version this build cannot use. */
  VGPU_E_CONFLICT = -8,  /**< Conflicts with existing state (a UUID already in use). */
  VGPU_E_IO = -9,        /**< Reading or writing a file or device failed (see os_errno). */
  VGPU_E_INTERNAL = -10, /**< A bug in vgpu: please report it with the message. */
  VGPU_E_BUFFER_TOO_SMALL = -11, /**< The output array is too small; `*count` holds the need. */
  VGPU_E_NO_MEMORY = -12,        /**< Memory ran out. */
  VGPU_E_BAD_HANDLE = -13        /**< NULL, closed or foreign handle. */
} vgpu_status;

/** The library's product version, e.g. "0.1.0" (a static string; never free it). */
VGPU_PUBLIC const char* vgpu_version(void);

/** The C ABI version the library implements: `(major << 16) | minor`. A program built
 *  against this header can check `vgpu_abi_version() >> 16 == VGPU_ABI_VERSION_MAJOR` and
 *  `(vgpu_abi_version() & 0xffff) >= VGPU_ABI_VERSION_MINOR` before using newer functions. */
VGPU_PUBLIC uint32_t vgpu_abi_version(void);

/** Feature bits of vgpu_features(). */
typedef enum vgpu_feature {
  VGPU_FEATURE_SIM = 1u << 0,         /**< The simulated host backend ("sim"). */
  VGPU_FEATURE_NVIDIA_VFIO = 1u << 1, /**< The nvidia-vgpu VF sysfs backend ("nvidia-vfio"). */
  VGPU_FEATURE_MDEV = 1u << 2,        /**< The mediated-device backend ("mdev"). */
  VGPU_FEATURE_NOUVEAU = 1u << 3,     /**< The nouveau ioctl backend through libdrm ("nouveau"). */
  VGPU_FEATURE_SHARED_LEDGER = 1u << 4, /**< The host-wide ledger shared by processes. */
  VGPU_FEATURE_CUSTOM_POLICY = 1u << 5  /**< Placement policies from a callback. */
} vgpu_feature;

/** What this build of the library can do: an OR of ::vgpu_feature bits. */
VGPU_PUBLIC uint32_t vgpu_features(void);

/** A short stable name for a status code, e.g. "no_capacity" for #VGPU_E_NO_CAPACITY, or
 *  "unknown" (a static string; never free it). */
VGPU_PUBLIC const char* vgpu_status_name(int status);

/** @} */

/** @defgroup errors Errors and memory
 *  @{ */

/** What the last call on this thread did. */
typedef struct vgpu_error {
  int code;            /**< Its status: #VGPU_OK after a successful call. */
  int os_errno;        /**< The OS errno behind the failure, or 0. */
  const char* message; /**< What went wrong and what to do; "" after a successful call. */
} vgpu_error_t;

/** The outcome of the last call on this thread that returned a status.
 *
 *  Never NULL. The struct and its message belong to the library and stay valid until the
 *  next vgpu call on the same thread; copy the message to keep it. Thread-local: a call in
 *  another thread does not change what this thread sees. */
VGPU_PUBLIC const vgpu_error_t* vgpu_last_error(void);

/** Frees memory the library allocated for the caller (the results of vgpu_manager_plan(),
 *  vgpu_manager_explain(), vgpu_manager_reconcile()). NULL is allowed. */
VGPU_PUBLIC void vgpu_free(void* ptr);

/** Names of the backends this library can open ("sim", "nvidia-vfio", ...), two-call pattern.
 *
 *  @param[out] out    Array of `*count` pointers to static strings (never free them), or NULL
 *                     to learn the count.
 *  @param[in,out] count  In: capacity of @p out. Out: the number of names.
 *  @return #VGPU_OK; #VGPU_E_INVALID_ARGUMENT if @p count is NULL;
 *          #VGPU_E_BUFFER_TOO_SMALL if the capacity is too small (`*count` is the need). */
VGPU_PUBLIC int vgpu_backend_names(const char** out, size_t* count);

/** Names of the built-in placement policies ("fragmentation-aware", "best-fit", ...), in
 *  documentation order. Same contract as vgpu_backend_names(). */
VGPU_PUBLIC int vgpu_policy_names(const char** out, size_t* count);

/** @} */

/** @defgroup types Value types
 *  @{ */

/** Size of a PCI address field: "0000:41:00.0" and its NUL. */
#define VGPU_PCI_ADDRESS_SIZE 16
/** Size of a UUID field: "8-4-4-4-12" hex digits and its NUL. */
#define VGPU_UUID_SIZE 37
/** Size of a name field (GPU model, vGPU type, backend, policy). */
#define VGPU_NAME_SIZE 64
/** Size of an owner (VM name) field: the ledger keeps at most 71 bytes. */
#define VGPU_OWNER_SIZE 72
/** Size of a device field (a VF's PCI address or an mdev's sysfs path). */
#define VGPU_DEVICE_SIZE 64
/** Size of a path field. */
#define VGPU_PATH_SIZE 4096
/** Most placements (start slots) a type or GPU can have: every catalog model has at most 128
 *  1-GiB slots. */
#define VGPU_MAX_PLACEMENTS 128

/** How a physical GPU shares itself out. */
typedef enum vgpu_gpu_mode {
  VGPU_MODE_EQUAL_SIZE = 0, /**< All time-sliced vGPUs have one framebuffer size (default). */
  VGPU_MODE_MIXED_SIZE = 1, /**< vGPUs of different sizes at fixed placements. */
  VGPU_MODE_MIG = 2         /**< MIG-backed vGPUs on GPU instances. */
} vgpu_gpu_mode;

/** Where a vGPU is in its life (see docs/ledger.md). */
typedef enum vgpu_state {
  VGPU_STATE_RESERVED = 1, /**< Its place is taken; the backend is creating it. */
  VGPU_STATE_ACTIVE = 2,   /**< It exists; a VM may use it. */
  VGPU_STATE_RELEASING = 3 /**< The backend is destroying it; its place is still taken. */
} vgpu_state;

/** Current version of ::vgpu_gpu_info_t. */
#define VGPU_GPU_INFO_VERSION 1u
/** One physical GPU of the host. */
typedef struct vgpu_gpu_info {
  uint32_t version;                        /**< Set by the caller (#VGPU_GPU_INFO_VERSION). */
  uint32_t index;                          /**< Position in vgpu_manager_gpus() (PCI order). */
  char pci_address[VGPU_PCI_ADDRESS_SIZE]; /**< The GPU (SR-IOV PF), e.g. "0000:41:00.0". */
  char model[VGPU_NAME_SIZE];              /**< Catalog model name, e.g. "NVIDIA A16". */
  uint32_t mode;                           /**< A ::vgpu_gpu_mode. */
  int32_t numa_node;                       /**< NUMA node, or -1 when unknown. */
  char pci_root[VGPU_NAME_SIZE];           /**< PCI root ("pci0000:40"), or "" when unknown. */
  uint64_t framebuffer_bytes;              /**< The GPU's framebuffer. */
  uint64_t used_framebuffer_bytes;         /**< Framebuffer its vGPUs take. */
  uint32_t vgpu_count;                     /**< vGPUs on it (reserved, active or releasing). */
} vgpu_gpu_info_t;
/** Initialiser for ::vgpu_gpu_info_t. */
#define VGPU_GPU_INFO_INIT VGPU_STRUCT_INIT_(vgpu_gpu_info_t, VGPU_GPU_INFO_VERSION)

/** Current version of ::vgpu_type_info_t. */
#define VGPU_TYPE_INFO_VERSION 1u
/** A vGPU type of one GPU model (from the catalog). */
typedef struct vgpu_type_info {
  uint32_t version;               /**< Set by the caller (#VGPU_TYPE_INFO_VERSION). */
  uint32_t driver_id;             /**< The driver's numeric type id, or 0 when unknown. */
  char name[VGPU_NAME_SIZE];      /**< Canonical name, e.g. "A16-2Q". */
  char model[VGPU_NAME_SIZE];     /**< The GPU model it belongs to, e.g. "NVIDIA A16". */
  char series;                    /**< 'Q', 'B', 'A' or 'C'. */
  bool mig_backed;                /**< Sits on a MIG GPU instance. */
  bool deprecated;                /**< The vendor marks the type deprecated. */
  uint64_t framebuffer_bytes;     /**< Framebuffer given to the VM. */
  uint32_t max_heads;             /**< Maximum virtual display heads (0: no display). */
  uint32_t max_resolution_width;  /**< Maximum width per head (0: no display). */
  uint32_t max_resolution_height; /**< Maximum height per head (0: no display). */
  uint32_t max_instances;         /**< Most per GPU in equal-size (or MIG) mode. */
  uint32_t max_instances_mixed;   /**< Most per GPU in mixed-size mode; 0: not allowed there. */
  uint32_t placement_size;        /**< Slots one instance occupies. */
  uint32_t placement_count;       /**< Number of entries in @p placements. */
  uint32_t placements[VGPU_MAX_PLACEMENTS]; /**< Allowed start slots (mixed-size or MIG). */
  char mig_profile[VGPU_NAME_SIZE];         /**< MIG profile ("3g.40gb"), or "". */
} vgpu_type_info_t;
/** Initialiser for ::vgpu_type_info_t. */
#define VGPU_TYPE_INFO_INIT VGPU_STRUCT_INIT_(vgpu_type_info_t, VGPU_TYPE_INFO_VERSION)

/** Current version of ::vgpu_availability_t. */
#define VGPU_AVAILABILITY_VERSION 1u
/** A type that can be created on a GPU now. */
typedef struct vgpu_availability {
  uint32_t version;              /**< Set by the caller (#VGPU_AVAILABILITY_VERSION). */
  char type[VGPU_NAME_SIZE];     /**< The type's name (vgpu_manager_find_type() has the rest). */
  uint32_t remaining;            /**< How many more fit on the GPU now. */
  uint32_t free_placement_count; /**< Number of entries in @p free_placements. */
  uint32_t free_placements[VGPU_MAX_PLACEMENTS]; /**< Start slots free for it now. */
} vgpu_availability_t;
/** Initialiser for ::vgpu_availability_t. */
#define VGPU_AVAILABILITY_INIT VGPU_STRUCT_INIT_(vgpu_availability_t, VGPU_AVAILABILITY_VERSION)

/** Current version of ::vgpu_instance_info_t. */
#define VGPU_INSTANCE_INFO_VERSION 1u
/** A vGPU as the host's ledger records it. */
typedef struct vgpu_instance_info {
  uint32_t version;                /**< Set by the caller (#VGPU_INSTANCE_INFO_VERSION). */
  uint32_t state;                  /**< A ::vgpu_state. */
  char uuid[VGPU_UUID_SIZE];       /**< The vGPU's UUID. */
  char gpu[VGPU_PCI_ADDRESS_SIZE]; /**< The physical GPU it sits on. */
  char type[VGPU_NAME_SIZE];       /**< Its type, e.g. "A16-2Q". */
  uint32_t placement;              /**< Start slot. */
  char owner[VGPU_OWNER_SIZE];     /**< The VM's name, or "". */
  char vm_uuid[VGPU_UUID_SIZE];    /**< The VM's UUID, or "". */
  char device[VGPU_DEVICE_SIZE];   /**< What the VMM is given: VF address or mdev path. */
  uint32_t pid;                    /**< Process that reserved or is releasing it (0: none). */
  int64_t created_at_us;           /**< When it was reserved or adopted (µs since 1970). */
  int64_t updated_at_us;           /**< Its last change (µs since 1970). */
} vgpu_instance_info_t;
/** Initialiser for ::vgpu_instance_info_t. */
#define VGPU_INSTANCE_INFO_INIT VGPU_STRUCT_INIT_(vgpu_instance_info_t, VGPU_INSTANCE_INFO_VERSION)

/** @} */

/** @defgroup manager The manager
 *  @{ */

/** A manager: the one object a hypervisor holds (catalog, backend, the host's ledger and a
 *  placement engine). Opaque; thread-safe. */
typedef struct vgpu_manager vgpu_manager_t;

/** Log levels. */
typedef enum vgpu_log_level {
  VGPU_LOG_DEBUG = 0,   /**< Detail for developers. */
  VGPU_LOG_INFO = 1,    /**< Something changed (a vGPU created, a ledger repaired). */
  VGPU_LOG_WARNING = 2, /**< Something was wrong and was handled. */
  VGPU_LOG_ERROR = 3    /**< An operation failed (the error is also returned). */
} vgpu_log_level;

/** Receives log messages.
 *
 *  Called on the thread making a call into the manager, while the manager is locked: it must
 *  return quickly and must not call back into the same manager (that would deadlock). The
 *  message is valid during the call only.
 *  @param level    A ::vgpu_log_level.
 *  @param message  The message (NUL-terminated, no trailing newline).
 *  @param payload  The pointer given with the callback. */
typedef void (*vgpu_log_fn)(int level, const char* message, void* payload);

/** Current version of ::vgpu_candidate_t. */
#define VGPU_CANDIDATE_VERSION 1u
/** What a custom policy scores: one vGPU of one type at one placement on one GPU.
 *
 *  The library fills it; its @p version says which fields exist (fields are only appended, so
 *  a policy written for version 1 reads the same fields from every later version). The score
 *  may depend only on these fields: the engine caches it for GPUs in the same state
 *  (docs/policies.md), which is why the GPU's address is not shown. */
typedef struct vgpu_candidate {
  uint32_t version;                /**< Set by the library. */
  const char* model;               /**< The GPU's model name. */
  uint32_t mode;                   /**< The GPU's ::vgpu_gpu_mode. */
  int32_t numa_node;               /**< The GPU's NUMA node, or -1. */
  uint64_t gpu_framebuffer_bytes;  /**< The GPU's framebuffer. */
  uint64_t used_framebuffer_bytes; /**< Framebuffer the GPU's vGPUs take now. */
  uint32_t vgpu_count;             /**< vGPUs on the GPU now. */
  const char* type;                /**< The type's name. */
  uint64_t type_framebuffer_bytes; /**< The type's framebuffer. */
  uint32_t placement;              /**< Start slot the vGPU would take. */
  uint32_t placement_size;         /**< Slots it would occupy. */
  uint64_t requested_bytes;        /**< Framebuffer the request asked for. */
} vgpu_candidate_t;

/** A custom placement policy: scores one candidate; lower wins, ties go to the lowest GPU
 *  index. Called while the manager is locked (same rules as ::vgpu_log_fn); must not fail,
 *  and must return the same score for the same candidate fields. A NaN counts as +infinity.
 *  @param candidate  The candidate (valid during the call only).
 *  @param payload    The pointer given with the callback. */
typedef double (*vgpu_policy_fn)(const vgpu_candidate_t* candidate, void* payload);

/** Current version of ::vgpu_manager_options_t. */
#define VGPU_MANAGER_OPTIONS_VERSION 1u
/** How to open a manager. Zeroed fields mean the defaults; strings are copied. */
typedef struct vgpu_manager_options {
  uint32_t version; /**< Set by the caller (#VGPU_MANAGER_OPTIONS_VERSION). */
  /** Backend: "sim" (default), "nvidia-vfio", "mdev", "nouveau" or "auto" (the kernel
   *  interface this host has). See vgpu_backend_names(). */
  const char* backend;
  /** For "sim": a host description file holding a simulated host that processes share.
   *  NULL: the built-in host (4x A16, 2x L40S mixed-size, 1x A100 MIG), private to the
   *  manager. */
  const char* sim_host;
  /** For kernel backends: the root sysfs and /dev are found under (NULL: "/" or
   *  $VGPU_SYSFS_ROOT). Tests point it at an emulated tree. */
  const char* sysfs_root;
  /** For kernel backends: where backend state is kept (NULL: `<sysfs_root>/run/vgpu`). */
  const char* state_dir;
  /** The ledger file. NULL: $VGPU_LEDGER if set, else `SIM_HOST.ledger` for a simulated host
   *  file, else `<sysfs_root>/run/vgpu/ledger` (`/run/vgpu/ledger`). The built-in simulated
   *  host always uses a private ledger, and naming one for it is an error. */
  const char* ledger;
  /** Use a private in-memory ledger whatever else is set (tests, one-shot tools). */
  bool private_ledger;
  /** Flush every ledger commit to stable storage (slow; see docs/ledger.md). */
  bool durable;
  /** Share the ledger with group @p ledger_group (mode 0660) instead of 0600. */
  bool share_ledger_with_group;
  /** Do not reconcile ledger and backend when opening (benchmarks only). */
  bool skip_reconcile_on_open;
  /** The group for @p share_ledger_with_group. */
  uint32_t ledger_group;
  /** Where apply/restore keep definitions (NULL: next to the ledger). */
  const char* definitions;
  /** Extra catalog files or directories loaded over the built-in catalog. */
  const char* const* catalogs;
  /** Number of entries in @p catalogs. */
  size_t catalog_count;
  /** Placement policy by name (NULL: "fragmentation-aware"); see vgpu_policy_names(). */
  const char* policy;
  /** A custom policy; when set, @p policy names it in messages (NULL: "custom"). */
  vgpu_policy_fn policy_fn;
  /** Passed to @p policy_fn. */
  void* policy_payload;
  /** @p policy_fn's score depends on the placement (slot), not only on the GPU and type. */
  bool policy_placement_sensitive;
  /** Allow one vGPU type per GPU in equal-size mode (older drivers, mdev, the RFC). */
  bool one_type_per_gpu;
  /** Log messages go here (NULL: nowhere). vgpu_manager_set_log() changes it later. */
  vgpu_log_fn log_fn;
  /** Passed to @p log_fn. */
  void* log_payload;
  /** Lowest ::vgpu_log_level passed to @p log_fn (0: everything). */
  int log_level;
} vgpu_manager_options_t;
/** Initialiser for ::vgpu_manager_options_t. */
#define VGPU_MANAGER_OPTIONS_INIT \
  VGPU_STRUCT_INIT_(vgpu_manager_options_t, VGPU_MANAGER_OPTIONS_VERSION)

/** Current version of ::vgpu_manager_info_t. */
#define VGPU_MANAGER_INFO_VERSION 1u
/** What a manager is connected to. */
typedef struct vgpu_manager_info {
  uint32_t version;                 /**< Set by the caller (#VGPU_MANAGER_INFO_VERSION). */
  uint32_t gpu_count;               /**< The host's GPUs. */
  char backend[VGPU_NAME_SIZE];     /**< The backend's name. */
  char policy[VGPU_NAME_SIZE];      /**< The placement policy's name. */
  char ledger[VGPU_PATH_SIZE];      /**< The ledger file, or "" for a private ledger. */
  char definitions[VGPU_PATH_SIZE]; /**< Where apply/restore keep definitions, or "". */
  /** Opening found a corrupted ledger, kept it aside and rebuilt it (see @p ledger_kept_aside). */
  bool ledger_rebuilt;
  /** Opening completed a ledger commit that a crashed process had begun. */
  bool ledger_replayed;
  char ledger_kept_aside[VGPU_PATH_SIZE]; /**< Where the corrupted ledger was moved, or "". */
  uint32_t reconciled_at_open;            /**< Repairs made by the reconcile at open. */
} vgpu_manager_info_t;
/** Initialiser for ::vgpu_manager_info_t. */
#define VGPU_MANAGER_INFO_INIT VGPU_STRUCT_INIT_(vgpu_manager_info_t, VGPU_MANAGER_INFO_VERSION)

/** Fills @p options with defaults for struct version @p version (for languages without C
 *  macros). Does nothing if @p options is NULL.
 *  @param[out] options  The struct to initialise.
 *  @param version       #VGPU_MANAGER_OPTIONS_VERSION of the caller's header. */
VGPU_PUBLIC void vgpu_manager_options_init(vgpu_manager_options_t* options, uint32_t version);

/** Opens a manager: loads the catalog, opens the backend and the host's ledger and (unless
 *  told not to) reconciles them.
 *
 *  @param[out] out   The new manager; close it with vgpu_manager_close().
 *  @param options    Options, or NULL for the defaults (the built-in simulated host).
 *  @return #VGPU_OK; #VGPU_E_INVALID_ARGUMENT (@p out NULL, an unknown backend or policy, a
 *          bad catalog), #VGPU_E_VERSION_MISMATCH (options version, or a ledger written by a
 *          newer vgpu), #VGPU_E_PERMISSION (ledger or sysfs not accessible),
 *          #VGPU_E_NOT_FOUND (a file named in the options is missing, or "auto" found no
 *          vGPU-capable kernel interface), #VGPU_E_IO.
 *  Thread safety: any thread. */
VGPU_PUBLIC int vgpu_manager_open(vgpu_manager_t** out, const vgpu_manager_options_t* options);

/** Closes a manager. Its vGPUs stay; only this process's handle goes.
 *
 *  Safe while other threads are inside calls on it (they finish; later calls fail with
 *  #VGPU_E_BAD_HANDLE).
 *  @param manager  The manager, or NULL (nothing happens).
 *  @return #VGPU_OK; #VGPU_E_BAD_HANDLE for a handle that is not open. */
VGPU_PUBLIC int vgpu_manager_close(vgpu_manager_t* manager);

/** Says what @p manager is connected to.
 *  @param[out] out  Filled on success (set `out->version` first).
 *  @param manager   The manager.
 *  @return #VGPU_OK; #VGPU_E_BAD_HANDLE; #VGPU_E_INVALID_ARGUMENT (@p out NULL);
 *          #VGPU_E_VERSION_MISMATCH. */
VGPU_PUBLIC int vgpu_manager_describe(vgpu_manager_info_t* out, vgpu_manager_t* manager);

/** Replaces the log callback (NULL: no logging).
 *  @param manager  The manager.
 *  @param fn       The callback, or NULL.
 *  @param level    Lowest ::vgpu_log_level passed on.
 *  @param payload  Passed to @p fn.
 *  @return #VGPU_OK; #VGPU_E_BAD_HANDLE; #VGPU_E_INVALID_ARGUMENT for a level outside 0-3. */
VGPU_PUBLIC int vgpu_manager_set_log(vgpu_manager_t* manager, vgpu_log_fn fn, int level,
                                     void* payload);

/** @} */

/** @defgroup queries GPUs, types and vGPUs
 *  @{ */

/** Fills @p out with defaults for struct version @p version. Does nothing if @p out is NULL.
 *  @param[out] out  The struct. @param version #VGPU_GPU_INFO_VERSION. */
VGPU_PUBLIC void vgpu_gpu_info_init(vgpu_gpu_info_t* out, uint32_t version);
/** Fills @p out with defaults for struct version @p version. Does nothing if @p out is NULL.
 *  @param[out] out  The struct. @param version #VGPU_TYPE_INFO_VERSION. */
VGPU_PUBLIC void vgpu_type_info_init(vgpu_type_info_t* out, uint32_t version);
/** Fills @p out with defaults for struct version @p version. Does nothing if @p out is NULL.
 *  @param[out] out  The struct. @param version #VGPU_AVAILABILITY_VERSION. */
VGPU_PUBLIC void vgpu_availability_init(vgpu_availability_t* out, uint32_t version);
/** Fills @p out with defaults for struct version @p version. Does nothing if @p out is NULL.
 *  @param[out] out  The struct. @param version #VGPU_INSTANCE_INFO_VERSION. */
VGPU_PUBLIC void vgpu_instance_info_init(vgpu_instance_info_t* out, uint32_t version);

/** The host's GPUs in PCI address order (two-call pattern).
 *  @param[out] out       Array of `*count` elements (`out[0].version` set), or NULL.
 *  @param[in,out] count  In: capacity of @p out. Out: the number of GPUs.
 *  @param manager        The manager.
 *  @return #VGPU_OK; #VGPU_E_BAD_HANDLE; #VGPU_E_INVALID_ARGUMENT (@p count NULL);
 *          #VGPU_E_VERSION_MISMATCH; #VGPU_E_BUFFER_TOO_SMALL (`*count` is the need);
 *          a backend or ledger error. */
VGPU_PUBLIC int vgpu_manager_gpus(vgpu_gpu_info_t* out, size_t* count, vgpu_manager_t* manager);

/** The vGPU types GPU @p gpu supports in its current mode (two-call pattern).
 *  @param[out] out       Array of `*count` elements (`out[0].version` set), or NULL.
 *  @param[in,out] count  In: capacity of @p out. Out: the number of types.
 *  @param manager        The manager.
 *  @param gpu            The GPU's PCI address ("0000:41:00.0"; "41:00.0" also works).
 *  @return #VGPU_OK; #VGPU_E_NOT_FOUND (no such GPU); #VGPU_E_INVALID_ARGUMENT (a malformed
 *          address, @p count NULL); #VGPU_E_BAD_HANDLE; #VGPU_E_VERSION_MISMATCH;
 *          #VGPU_E_BUFFER_TOO_SMALL. */
VGPU_PUBLIC int vgpu_manager_types(vgpu_type_info_t* out, size_t* count, vgpu_manager_t* manager,
                                   const char* gpu);

/** The types that can be created on GPU @p gpu now, with what remains of each (two-call
 *  pattern; the answer changes as vGPUs come and go).
 *  Parameters and errors as vgpu_manager_types(). */
VGPU_PUBLIC int vgpu_manager_creatable(vgpu_availability_t* out, size_t* count,
                                       vgpu_manager_t* manager, const char* gpu);

/** Looks a type up in the manager's catalog by name ("A16-2Q"; case-insensitive, "NVIDIA"
 *  and "GRID" prefixes accepted).
 *  @param[out] out  Filled on success (set `out->version` first).
 *  @param manager   The manager.
 *  @param name      The type's name.
 *  @return #VGPU_OK; #VGPU_E_NOT_FOUND (the message suggests near names);
 *          #VGPU_E_INVALID_ARGUMENT; #VGPU_E_BAD_HANDLE; #VGPU_E_VERSION_MISMATCH. */
VGPU_PUBLIC int vgpu_manager_find_type(vgpu_type_info_t* out, vgpu_manager_t* manager,
                                       const char* name);

/** Every vGPU the host's ledger records (reserved, active or releasing), two-call pattern.
 *  @param[out] out       Array of `*count` elements (`out[0].version` set), or NULL.
 *  @param[in,out] count  In: capacity of @p out. Out: the number of vGPUs.
 *  @param manager        The manager.
 *  @return #VGPU_OK; #VGPU_E_BAD_HANDLE; #VGPU_E_INVALID_ARGUMENT; #VGPU_E_VERSION_MISMATCH;
 *          #VGPU_E_BUFFER_TOO_SMALL; a ledger error. */
VGPU_PUBLIC int vgpu_manager_instances(vgpu_instance_info_t* out, size_t* count,
                                       vgpu_manager_t* manager);

/** One vGPU by UUID.
 *  @param[out] out  Filled on success (set `out->version` first).
 *  @param manager   The manager.
 *  @param uuid      The vGPU's UUID.
 *  @return #VGPU_OK; #VGPU_E_NOT_FOUND; #VGPU_E_INVALID_ARGUMENT (a malformed UUID);
 *          #VGPU_E_BAD_HANDLE; #VGPU_E_VERSION_MISMATCH. */
VGPU_PUBLIC int vgpu_manager_instance(vgpu_instance_info_t* out, vgpu_manager_t* manager,
                                      const char* uuid);

/** @} */

/** @defgroup lifecycle Creating and destroying vGPUs
 *  @{ */

/** Which GPUs the vGPUs of one request must share. */
typedef enum vgpu_affinity {
  VGPU_AFFINITY_NONE = 0,      /**< Only the host. */
  VGPU_AFFINITY_NUMA_NODE = 1, /**< One NUMA node. */
  VGPU_AFFINITY_PCI_ROOT = 2   /**< One PCI root (peer-to-peer between them). */
} vgpu_affinity;

/** Current version of ::vgpu_request_t. */
#define VGPU_REQUEST_VERSION 1u
/** What to create: @p count vGPUs of a type, or of the smallest type meeting a requirement,
 *  all or nothing. Zeroed fields mean "no constraint"; strings are copied. */
typedef struct vgpu_request {
  uint32_t version; /**< Set by the caller (#VGPU_REQUEST_VERSION). */
  /** The type by name ("A16-2Q"). NULL: by requirement (the fields below), the engine picks
   *  per GPU model the smallest type meeting it that the GPU's mode can host. */
  const char* type;
  uint64_t min_framebuffer_bytes; /**< Requirement: at least this framebuffer. */
  uint32_t min_heads;             /**< Requirement: at least this many display heads. */
  uint32_t min_resolution_width;  /**< Requirement: each head at least this wide (0: any). */
  uint32_t min_resolution_height; /**< Requirement: each head at least this high (0: any). */
  char series;                    /**< Requirement: only 'Q', 'B', 'A' or 'C' (0: any). */
  bool exclude_mig_backed;        /**< Requirement: no MIG-backed types. */
  bool include_deprecated;        /**< Requirement: also deprecated types. */
  const char* model;              /**< Requirement: only this GPU model (NULL: any). */
  /** Requirement: also at least this fraction of the GPU's framebuffer, in thousandths. */
  uint32_t gpu_milli;
  uint32_t count;      /**< How many vGPUs (0 means 1). */
  const char* owner;   /**< The VM's name, recorded with the vGPUs (NULL: none). */
  const char* vm_uuid; /**< The VM's UUID, recorded with the vGPUs (NULL: none). */
  /** One UUID per vGPU (@p uuid_count == count), or NULL for random ones. */
  const char* const* uuids;
  size_t uuid_count;               /**< Entries in @p uuids. */
  const char* const* allowed_gpus; /**< Only these GPUs (PCI addresses); NULL: any. */
  size_t allowed_gpu_count;        /**< Entries in @p allowed_gpus. */
  const char* const* denied_gpus;  /**< Never these GPUs. */
  size_t denied_gpu_count;         /**< Entries in @p denied_gpus. */
  bool has_numa_node;              /**< Only GPUs on NUMA node @p numa_node. */
  bool has_placement;              /**< Only start slot @p placement (single-vGPU requests). */
  /** Let several vGPUs of the request, or of its owner, share a GPU (NVIDIA supports
   *  several vGPUs in one VM only on distinct GPUs, hence the default). */
  bool allow_shared_gpu;
  uint32_t numa_node; /**< See @p has_numa_node. */
  uint32_t placement; /**< See @p has_placement. */
  uint32_t affinity;  /**< A ::vgpu_affinity. */
} vgpu_request_t;
/** Initialiser for ::vgpu_request_t. */
#define VGPU_REQUEST_INIT VGPU_STRUCT_INIT_(vgpu_request_t, VGPU_REQUEST_VERSION)

/** Fills @p out with defaults for struct version @p version. Does nothing if @p out is NULL.
 *  @param[out] out  The struct. @param version #VGPU_REQUEST_VERSION. */
VGPU_PUBLIC void vgpu_request_init(vgpu_request_t* out, uint32_t version);

/** Creates the vGPUs of @p request where the policy says, all or nothing.
 *
 *  Two-phase and crash-safe: the placement is reserved in the host's ledger, the backend
 *  creates the device, the record becomes active; on any failure everything this call did
 *  is undone.
 *  @param[out] out     Array of at least `request->count` elements (`out[0].version` set)
 *                      receiving the new vGPUs, or NULL if the caller does not need them.
 *  @param capacity     Elements in @p out.
 *  @param manager      The manager.
 *  @param request      What to create.
 *  @return #VGPU_OK; #VGPU_E_NO_CAPACITY (the message says why for each GPU);
 *          #VGPU_E_NOT_FOUND (an unknown type or GPU); #VGPU_E_CONFLICT (a UUID in use);
 *          #VGPU_E_INVALID_ARGUMENT (a malformed field, @p capacity too small — checked
 *          before anything is created); #VGPU_E_BAD_HANDLE; #VGPU_E_VERSION_MISMATCH;
 *          #VGPU_E_PERMISSION, #VGPU_E_BUSY or #VGPU_E_IO from the backend. */
VGPU_PUBLIC int vgpu_manager_create(vgpu_instance_info_t* out, size_t capacity,
                                    vgpu_manager_t* manager, const vgpu_request_t* request);

/** Destroys vGPU @p uuid (two-phase, like create).
 *  @param manager  The manager.
 *  @param uuid     The vGPU's UUID.
 *  @return #VGPU_OK; #VGPU_E_NOT_FOUND (not recorded); #VGPU_E_BUSY (a VM uses it, or another
 *          live process is creating or destroying it; it stays); #VGPU_E_INVALID_ARGUMENT
 *          (a malformed UUID); #VGPU_E_BAD_HANDLE; a backend error. */
VGPU_PUBLIC int vgpu_manager_destroy(vgpu_manager_t* manager, const char* uuid);

/** @} */

/** @defgroup planning Planning, explaining and repairing
 *  @{ */

/** Current version of ::vgpu_plan_entry_t. */
#define VGPU_PLAN_ENTRY_VERSION 1u
/** One planned vGPU, or one refused request, of vgpu_manager_plan(). */
typedef struct vgpu_plan_entry {
  uint32_t version;                /**< The layout the library wrote. */
  uint32_t request;                /**< Index of the request in the input. */
  int status;                      /**< #VGPU_OK (placed) or why the request was refused. */
  const char* reason;              /**< When refused: why (inside the same allocation). */
  char uuid[VGPU_UUID_SIZE];       /**< The UUID the vGPU would get, when placed. */
  char gpu[VGPU_PCI_ADDRESS_SIZE]; /**< Its GPU, when placed. */
  char type[VGPU_NAME_SIZE];       /**< Its type, when placed. */
  uint32_t placement;              /**< Its start slot, when placed. */
  double score;                    /**< The policy's score (lower won). */
} vgpu_plan_entry_t;

/** Plans several requests together on a copy of the current state (largest first, which
 *  packs better), creating nothing.
 *
 *  @param[out] out        An array the library allocates: one entry per planned vGPU of each
 *                         placed request and one per refused request, in input order. Free
 *                         it with vgpu_free() (its strings are inside it).
 *  @param[out] out_count  Entries in @p out.
 *  @param manager         The manager.
 *  @param requests        @p request_count pointers to requests.
 *  @param request_count   Number of requests (0 gives an empty plan).
 *  @param entry_version   #VGPU_PLAN_ENTRY_VERSION: the layout the caller reads.
 *  @return #VGPU_OK even if some requests do not fit (their entries say why);
 *          #VGPU_E_INVALID_ARGUMENT (a malformed request: nothing is planned);
 *          #VGPU_E_BAD_HANDLE; #VGPU_E_VERSION_MISMATCH; #VGPU_E_NO_MEMORY. */
VGPU_PUBLIC int vgpu_manager_plan(vgpu_plan_entry_t** out, size_t* out_count,
                                  vgpu_manager_t* manager, const vgpu_request_t* const* requests,
                                  size_t request_count, uint32_t entry_version);

/** Current version of ::vgpu_verdict_t. */
#define VGPU_VERDICT_VERSION 1u
/** One GPU's verdict on a request, from vgpu_manager_explain(). */
typedef struct vgpu_verdict {
  uint32_t version;                /**< The layout the library wrote. */
  bool eligible;                   /**< Could take the request's first vGPU now. */
  bool chosen;                     /**< The policy would put the first vGPU here. */
  char gpu[VGPU_PCI_ADDRESS_SIZE]; /**< The GPU. */
  char type[VGPU_NAME_SIZE];       /**< The type considered on it, or "" if none fits. */
  uint32_t placement;              /**< Best start slot, when eligible. */
  double score;                    /**< Its score, when eligible (lower wins). */
  const char* reason;              /**< Why not, when not eligible (inside the allocation). */
} vgpu_verdict_t;

/** Says where @p request would go and why each GPU would or would not take it. Nothing is
 *  created.
 *  @param[out] out        One verdict per GPU, in GPU order, in an array the library
 *                         allocates; free it with vgpu_free().
 *  @param[out] out_count  Entries in @p out.
 *  @param manager         The manager.
 *  @param request         The request.
 *  @param verdict_version #VGPU_VERDICT_VERSION: the layout the caller reads.
 *  @return #VGPU_OK (whether or not the request fits: see `chosen`);
 *          #VGPU_E_INVALID_ARGUMENT; #VGPU_E_NOT_FOUND (unknown type); #VGPU_E_BAD_HANDLE;
 *          #VGPU_E_VERSION_MISMATCH; #VGPU_E_NO_MEMORY. */
VGPU_PUBLIC int vgpu_manager_explain(vgpu_verdict_t** out, size_t* out_count,
                                     vgpu_manager_t* manager, const vgpu_request_t* request,
                                     uint32_t verdict_version);

/** Kinds of repair vgpu_manager_reconcile() makes. */
typedef enum vgpu_repair_kind {
  VGPU_REPAIR_ADOPTED = 0,           /**< A vGPU the backend has but the ledger did not. */
  VGPU_REPAIR_RELEASED_VANISHED = 1, /**< A recorded vGPU the backend no longer has. */
  VGPU_REPAIR_ROLLED_BACK = 2,       /**< A reservation whose process died, undone. */
  VGPU_REPAIR_FINISHED_RELEASE = 3,  /**< A release whose process died, completed. */
  VGPU_REPAIR_UPDATED = 4            /**< A record that disagreed with the backend. */
} vgpu_repair_kind;

/** Current version of ::vgpu_repair_t. */
#define VGPU_REPAIR_VERSION 1u
/** One repair made by vgpu_manager_reconcile(). */
typedef struct vgpu_repair {
  uint32_t version;          /**< The layout the library wrote. */
  uint32_t kind;             /**< A ::vgpu_repair_kind. */
  char uuid[VGPU_UUID_SIZE]; /**< The vGPU. */
  const char* text;          /**< A sentence saying what and why (inside the allocation). */
} vgpu_repair_t;

/** Compares the ledger with the backend and repairs the ledger: reservations and releases
 *  of processes that died, vGPUs that vanished, vGPUs nobody recorded.
 *  @param[out] out          The repairs, in an array the library allocates (NULL when there
 *                           were none); free it with vgpu_free(). May be NULL if the caller
 *                           only wants the count.
 *  @param[out] out_count    Number of repairs.
 *  @param[out] in_progress  Records left alone because a live process is working on them
 *                           (may be NULL).
 *  @param manager           The manager.
 *  @param repair_version    #VGPU_REPAIR_VERSION: the layout the caller reads.
 *  @return #VGPU_OK; #VGPU_E_INVALID_ARGUMENT (@p out_count NULL); #VGPU_E_BAD_HANDLE;
 *          #VGPU_E_VERSION_MISMATCH; a backend or ledger error. */
VGPU_PUBLIC int vgpu_manager_reconcile(vgpu_repair_t** out, size_t* out_count, size_t* in_progress,
                                       vgpu_manager_t* manager, uint32_t repair_version);

/** Current version of ::vgpu_apply_summary_t. */
#define VGPU_APPLY_SUMMARY_VERSION 1u
/** What vgpu_manager_apply() or vgpu_manager_restore() did. */
typedef struct vgpu_apply_summary {
  uint32_t version;   /**< Set by the caller (#VGPU_APPLY_SUMMARY_VERSION). */
  uint32_t kept;      /**< Wanted vGPUs that already existed. */
  uint32_t created;   /**< vGPUs this run created. */
  uint32_t destroyed; /**< vGPUs this run destroyed (#VGPU_APPLY_PRUNE). */
  uint32_t extra;     /**< Existing vGPUs the state does not name, kept. */
} vgpu_apply_summary_t;
/** Initialiser for ::vgpu_apply_summary_t. */
#define VGPU_APPLY_SUMMARY_INIT VGPU_STRUCT_INIT_(vgpu_apply_summary_t, VGPU_APPLY_SUMMARY_VERSION)

/** Flags of vgpu_manager_apply(). */
typedef enum vgpu_apply_flag {
  VGPU_APPLY_DRY_RUN = 1u << 0, /**< Say what would change; change nothing. */
  VGPU_APPLY_PRUNE = 1u << 1    /**< Also destroy vGPUs the state does not name. */
} vgpu_apply_flag;

/** Makes the host hold the vGPUs a host-state document asks for (the JSON of
 *  `vgpuctl apply`, docs/vgpuctl.md), idempotently; on failure destroys what this call created.
 *  On success (unless #VGPU_APPLY_DRY_RUN) stores the result as the definitions that
 *  vgpu_manager_restore() re-creates.
 *  @param[out] out   Filled on success (set `out->version` first); may be NULL.
 *  @param manager    The manager.
 *  @param host_state The host-state JSON text.
 *  @param flags      An OR of ::vgpu_apply_flag.
 *  @return #VGPU_OK; #VGPU_E_INVALID_ARGUMENT (malformed JSON: the message names the key);
 *          #VGPU_E_NO_CAPACITY; #VGPU_E_NOT_FOUND; #VGPU_E_BAD_HANDLE;
 *          #VGPU_E_VERSION_MISMATCH; a backend or ledger error. */
VGPU_PUBLIC int vgpu_manager_apply(vgpu_apply_summary_t* out, vgpu_manager_t* manager,
                                   const char* host_state, uint32_t flags);

/** Re-creates every stored definition that does not exist (after a reboot) with the same
 *  UUID, GPU, type and placement; undoes its own creations if one fails.
 *  @param[out] out  Filled on success (set `out->version` first); may be NULL.
 *  @param manager   The manager.
 *  @return As vgpu_manager_apply(). */
VGPU_PUBLIC int vgpu_manager_restore(vgpu_apply_summary_t* out, vgpu_manager_t* manager);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* VGPU_H */
