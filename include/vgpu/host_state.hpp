/// @file
/// @brief Declarative host state: the vGPUs a host should hold (`vgpuctl apply`).
///
/// JSON form (docs/ledger.md, "Declarative host state"):
/// @code{.json}
/// {"vgpus": [
///   {"type": "A16-2Q", "count": 4, "gpu": "0000:41:00.0"},
///   {"type": "L40S-12Q", "count": 2, "model": "L40S"},
///   {"type": "A16-4Q", "uuid": "8d5c4cb4-8c5a-4bd1-9c9e-5e0f4a3f0b11", "owner": "vm-7"}
/// ]}
/// @endcode
/// Each entry asks for @c count vGPUs of @c type (default 1), optionally on one GPU
/// (@c gpu), on GPUs of one model (@c model), with one UUID (@c uuid, then count is 1), at
/// one start slot (@c placement) or for one VM (@c owner, @c vm_uuid). Existing vGPUs that
/// match an entry count toward it; only what is missing is created.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/model/pci_address.hpp"
#include "vgpu/model/uuid.hpp"

namespace vgpu {

/// One entry of a host state: some vGPUs of one type.
struct DesiredVgpus {
  std::string type;                        ///< Type name (any spelling the catalog accepts).
  std::uint32_t count = 1;                 ///< How many (1 when @p uuid is set).
  std::optional<PciAddress> gpu;           ///< Only on this GPU.
  std::string model;                       ///< Only on GPUs of this model (empty: any).
  std::optional<Uuid> uuid;                ///< This exact vGPU.
  std::optional<std::uint32_t> placement;  ///< At this start slot (with @p uuid or count 1).
  std::string owner;                       ///< The VM's name (empty: any when matching).
  std::optional<Uuid> vm_uuid;             ///< The VM's UUID.

  /// Field by field.
  bool operator==(const DesiredVgpus&) const = default;
};

/// The vGPUs a host should hold.
struct HostState {
  std::vector<DesiredVgpus> vgpus;  ///< Entries, matched and created in this order.
};

/// How Manager::apply() works.
struct ApplyOptions {
  bool prune = false;    ///< Also destroy existing vGPUs the state does not name.
  bool dry_run = false;  ///< Only report what would be created and destroyed.
};

/// Parses a host state. @p origin names the text in errors ("state.json: vgpus[2].type: ...").
VGPU_API Result<HostState> parse_host_state(std::string_view text, std::string_view origin);

/// Reads and parses a host state file.
VGPU_API Result<HostState> load_host_state(const std::filesystem::path& path);

}  // namespace vgpu
