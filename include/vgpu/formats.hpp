/// @file
/// @brief The host's inventory in the formats of the software around vgpu: libvirt node
/// devices and domain `<hostdev>` elements, mdevctl definitions, OpenStack Placement
/// resource providers, Kubernetes DRA ResourceSlices and NVIDIA vgpu-device-manager
/// configs; and the import of a vgpu-device-manager config as a HostState.
///
/// Export is two steps: collect_inventory() takes one consistent look at a Manager (GPUs,
/// modes, what each holds and can still take, the recorded vGPUs, the kernel's type ids), and
/// export_documents() or export_inventory() turn that snapshot into documents. Nothing is
/// printed or written: the caller decides where the text goes.
///
/// @code
/// auto manager = vgpu::Manager::open({}).value();
/// auto inventory = vgpu::formats::collect_inventory(*manager).value();
/// vgpu::formats::ExportOptions options;
/// options.gpu = vgpu::PciAddress::parse("0000:41:00.0").value();
/// auto xml = vgpu::formats::export_inventory(inventory, vgpu::formats::Format::libvirt_nodedev,
///                                            options);
/// @endcode
///
/// docs/ecosystem.md describes every format, how it maps to what Nova, Kubernetes and libvirt
/// do with it, and how the tests validate it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/host_state.hpp"
#include "vgpu/ledger.hpp"
#include "vgpu/manager.hpp"
#include "vgpu/model/gpu.hpp"
#include "vgpu/placement/occupancy.hpp"

namespace vgpu::formats {

/// The formats export_documents() writes.
enum class Format {
  libvirt_nodedev,     ///< libvirt node-device XML of each GPU, with its `mdev_types`.
  libvirt_hostdev,     ///< A domain `<hostdev>` element for each vGPU.
  mdevctl,             ///< mdevctl definitions (JSON) of the vGPUs.
  placement,           ///< OpenStack Placement resource providers with inventories and traits.
  dra,                 ///< Kubernetes DRA ResourceSlices (resource.k8s.io/v1).
  nvidia_vgpu_config,  ///< NVIDIA vgpu-device-manager config (YAML).
};

/// The format's name on the command line: "libvirt-nodedev", "libvirt-hostdev", "mdevctl",
/// "placement", "dra" or "nvidia-vgpu-config".
VGPU_API std::string_view to_string(Format format);

/// Parses a format name as to_string() prints it; the error lists the valid names.
VGPU_API Result<Format> parse_format(std::string_view name);

/// One vGPU type of one GPU, as the GPU offers it now.
struct TypeOffer {
  const VgpuType* type = nullptr;  ///< The type, inside the GPU's model.
  /// The kernel's name for the type: the mdev type id on mdev hosts ("nvidia-558", read from
  /// sysfs); elsewhere "nvidia-<id>" when the catalog knows the driver's id, else
  /// "vgpu-<type>" ("vgpu-a16-2q"), which stands in for an id nobody published.
  std::string kernel_id;
  std::uint32_t existing = 0;   ///< vGPUs of this type the GPU holds now.
  std::uint32_t available = 0;  ///< How many more the GPU can take now (0: none).
};

/// One physical GPU: what it is, what it holds and what it can still take.
struct GpuInventory {
  /// The GPU (address, model, mode), its hardware rules and the vGPUs resident on it.
  GpuOccupancy occupancy;
  /// Every type the GPU supports in its current mode, in catalog order (largest first).
  std::vector<TypeOffer> types;
  /// The vGPUs the ledger records on this GPU (reserved, active or releasing).
  std::vector<VgpuRecord> vgpus;
  /// The GPU.
  [[nodiscard]] const PhysicalGpu& gpu() const noexcept { return occupancy.gpu(); }
};

/// A snapshot of a host's GPUs and vGPUs, taken by collect_inventory().
struct Inventory {
  std::string node;     ///< The host's name (InventoryOptions::node, else the hostname).
  std::string backend;  ///< The Manager's backend, e.g. "sim", "mdev", "nvidia-vfio".
  /// The GPUs in PCI address order; a GPU's position is its index in vgpu-device-manager
  /// configs (NVML's PCI bus order).
  std::vector<GpuInventory> gpus;
};

/// How collect_inventory() looks at the host.
struct InventoryOptions {
  /// The host's name in the documents (Placement provider names, the DRA node and pool).
  /// Empty: the system's hostname.
  std::string node;
  /// Where the mdev backend's sysfs tree is, to read the kernel's type ids. Empty:
  /// $VGPU_SYSFS_ROOT if set, else "/" (what the backends use by default).
  std::filesystem::path sysfs_root;
};

/// Takes one snapshot of @p manager: its GPUs in their modes, the types each offers now with
/// the kernel's type ids, and the vGPUs the ledger records. Fails with the Manager's error
/// (e.g. the ledger cannot be read), or when the kernel's mdev types cannot be read.
VGPU_API Result<Inventory> collect_inventory(Manager& manager,
                                             const InventoryOptions& options = {});

/// Which kind of `<hostdev>` a vGPU becomes in libvirt's domain XML.
enum class HostdevForm {
  /// `pci` for a vGPU whose device is a VF's PCI address (nvidia-vfio, nouveau), `mdev`
  /// otherwise (mdev hosts, and the simulated host, whose vGPUs have no device).
  automatic,
  mdev,  ///< `<hostdev mode='subsystem' type='mdev' model='vfio-pci'>` with the vGPU's UUID.
  pci,   ///< `<hostdev mode='subsystem' type='pci' managed='no'>` with the VF's address.
};

/// What to export, and the choices each format leaves open.
struct ExportOptions {
  /// Only this GPU (every format). Errc::not_found when the host has no such GPU.
  std::optional<PciAddress> gpu;
  /// Only this vGPU (libvirt-hostdev, mdevctl). Errc::not_found when no active vGPU has it.
  std::optional<Uuid> uuid;
  /// libvirt-hostdev: mdev or PCI form.
  HostdevForm hostdev_form = HostdevForm::automatic;
  /// mdevctl: `"start": "auto"` (mdevctl starts the device when its parent appears, e.g.
  /// after a reboot) rather than `"manual"`.
  bool mdev_autostart = true;
  /// placement: types to offer on GPUs that hold no vGPU yet, in order of preference (Nova's
  /// `[devices] enabled_mdev_types`). A GPU that holds vGPUs offers their type. A GPU with
  /// neither gets no resource provider.
  std::vector<std::string> placement_types;
  /// placement: the resource class `CUSTOM_VGPU_<TYPE>` (Nova's `mdev_class`) instead of
  /// `VGPU`.
  bool custom_resource_class = false;
  /// dra: the driver name (a DNS subdomain the driver's vendor owns).
  std::string dra_driver = "vgpu.example.com";
  /// dra: one JSON `List` instead of a YAML stream of ResourceSlices.
  bool dra_json = false;
  /// dra: mark devices of equal-size GPUs with `compatibilityGroups` (one group per
  /// framebuffer size, or per type where types may not share a GPU), so that the scheduler
  /// never puts two sizes on one GPU. The field needs Kubernetes' alpha feature gate
  /// DRADeviceCompatibilityGroups; API servers without it refuse or drop the field.
  bool dra_compatibility_groups = false;
  /// dra: the pool's generation, in every slice. Kubernetes uses the slices of a pool's
  /// highest generation and ignores older ones, so each publication of a changed host must
  /// carry a higher generation than the last (e.g. a counter the publisher keeps, or the time
  /// in seconds). From 1 to 2^63 - 1 (an int64 in the API); 0 is Errc::invalid_argument.
  std::uint64_t dra_generation = 1;
  /// nvidia-vgpu-config: the name of the config that describes the host.
  std::string config_name = "default";
};

/// One exported document.
struct Document {
  /// What the document describes: a node device name ("pci_0000_41_00_0"), a vGPU UUID, a
  /// ResourceSlice name, or the format's name for whole-host documents.
  std::string name;
  /// mdevctl: the device's parent ("0000:41:00.0"), which `mdevctl define --parent` needs;
  /// empty for other formats.
  std::string parent;
  /// The document: XML, JSON or YAML, ending in a newline.
  std::string text;
};

/// The documents @p format makes of @p inventory, each one complete and valid on its own
/// (one node device per GPU, one `<hostdev>` per active vGPU, one mdevctl `--jsonfile`
/// document per active vGPU, one Placement document, one ResourceSlice per document, one
/// vgpu-device-manager config). Fails with Errc::not_found when ExportOptions::gpu or
/// ExportOptions::uuid names nothing, Errc::invalid_argument when an option is not valid for
/// the format (e.g. a node name Kubernetes would refuse), Errc::not_supported when the host
/// cannot be described that way (e.g. the PCI form for a vGPU that is not a VF).
VGPU_API Result<std::vector<Document>> export_documents(const Inventory& inventory, Format format,
                                                        const ExportOptions& options = {});

/// The documents of export_documents() as one text, the way its consumer reads several:
/// node devices and `<hostdev>` elements one after another; mdevctl's `list --dumpjson`
/// shape (or, with ExportOptions::uuid, the one device's `--jsonfile` document); a YAML
/// stream (`---` between ResourceSlices) or a JSON `List`.
VGPU_API Result<std::string> export_inventory(const Inventory& inventory, Format format,
                                              const ExportOptions& options = {});

/// Converts config @p config of a vgpu-device-manager file (`version: v1`, `vgpu-configs`)
/// into the host state `Manager::apply()` takes: for each GPU an entry names (by index, in
/// PCI address order, as @p gpus lists them), its types and counts. @p config empty: the
/// config "default", or the only one. Strict: unknown keys, a type the GPU's model lacks,
/// an index the host lacks, a GPU two entries claim, a count below 1, and time-sliced and
/// MIG-backed types on one GPU are errors. Errors are Errc::invalid_argument and read
/// "ORIGIN:LINE:COLUMN: PATH: what is wrong; what to do".
VGPU_API Result<HostState> parse_nvidia_vgpu_config(std::string_view text, std::string_view origin,
                                                    const std::vector<PhysicalGpu>& gpus,
                                                    const TypeCatalog& catalog,
                                                    std::string_view config = {});

/// Reads file @p path and parses it with parse_nvidia_vgpu_config().
VGPU_API Result<HostState> load_nvidia_vgpu_config(const std::filesystem::path& path,
                                                   const std::vector<PhysicalGpu>& gpus,
                                                   const TypeCatalog& catalog,
                                                   std::string_view config = {});

}  // namespace vgpu::formats
