/// @file
/// @brief vgpu::VgpuType and vgpu::GpuModel: what a GPU model can be partitioned into.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/model/resolution.hpp"
#include "vgpu/model/units.hpp"

namespace vgpu {

/// The driver's numeric vGPU type id (e.g. 557, what `current_vgpu_type` takes and mdev
/// spells "nvidia-557"). Ids are driver-defined; 0 means "not known to the catalog".
struct VgpuTypeId {
  std::uint32_t value = 0;  ///< The numeric id; 0 = unknown.
  /// Ids compare by value.
  constexpr auto operator<=>(const VgpuTypeId&) const = default;
};

/// The vGPU series: the last letter of a type name.
enum class Series : char {
  Q = 'Q',  ///< Virtual workstations (vWS).
  B = 'B',  ///< Virtual desktops (vPC).
  A = 'A',  ///< Virtual applications (vApps): one display, 1280x1024.
  C = 'C',  ///< Compute (vCS / AI Enterprise): one display, 3840x2400.
};

/// Parses "Q", "B", "A" or "C" (either case).
inline Result<Series> parse_series(std::string_view text) {
  if (text.size() == 1) {
    switch (text[0]) {
      case 'Q':
      case 'q':
        return Series::Q;
      case 'B':
      case 'b':
        return Series::B;
      case 'A':
      case 'a':
        return Series::A;
      case 'C':
      case 'c':
        return Series::C;
      default:
        break;
    }
  }
  return fail(Errc::invalid_argument,
              "invalid series " + detail::quoted(text) + ": expected one of Q, B, A, C");
}

/// The series letter as a string.
inline std::string to_string(Series s) {
  return std::string(1, static_cast<char>(s));
}

/// The MIG GPU-instance profile behind a MIG-backed vGPU type (`nvidia-smi mig -lgip`).
struct MigProfile {
  std::string name;                  ///< Profile name, e.g. "3g.40gb" or "1g.10gb+me".
  std::uint32_t profile_id = 0;      ///< GPU-instance profile id, e.g. 9 for 3g.
  std::uint32_t compute_slices = 0;  ///< Compute slices (of 7) the instance takes.
};

/// A deliberate deviation of a catalog value from the vendor's printed table.
struct Erratum {
  std::string field;    ///< The field, e.g. "max_instances_mixed".
  std::string printed;  ///< What the source prints ("" when it prints nothing).
  std::string used;     ///< What the catalog uses instead.
  std::string why;      ///< The reasoning.
};

/// One vGPU type: a fixed framebuffer, display heads and resolution, and how many fit on one
/// physical GPU in each mode.
///
/// Placement units: for time-sliced types, 1-GiB framebuffer slots; for MIG-backed types,
/// memory slices (8 per GPU).
struct VgpuType {
  VgpuTypeId id;                          ///< Driver type id where the catalog knows it.
  std::string name;                       ///< Canonical name without vendor prefix, e.g. "A16-2Q".
  Series series = Series::Q;              ///< Q, B, A or C.
  Bytes framebuffer;                      ///< Framebuffer given to the VM.
  std::uint32_t max_heads = 0;            ///< Maximum virtual display heads (0: no display).
  Resolution max_resolution;              ///< Maximum resolution per head (0x0: no display).
  std::uint64_t pixel_budget = 0;         ///< Pixels all heads may use together (Q/B); 0 if none.
  std::uint32_t frame_rate_limit = 0;     ///< Default frame-rate limiter in FPS; 0 if none.
  std::uint32_t max_instances = 0;        ///< Max per GPU in equal-size mode (or per GPU for MIG).
  std::uint32_t max_instances_mixed = 0;  ///< Max per GPU in mixed-size mode; 0: not allowed.
  std::uint32_t placement_size = 0;       ///< Slots one instance occupies.
  std::vector<std::uint32_t> placement_ids;  ///< Allowed start slots (mixed-size or MIG).
  std::optional<MigProfile> mig;             ///< Set for MIG-backed types.
  bool deprecated = false;                   ///< The vendor marks the type deprecated.
  std::string source;           ///< Where the numbers come from (document and section).
  std::vector<Erratum> errata;  ///< Deviations from the printed source, with reasons.

  /// True for MIG-backed types.
  [[nodiscard]] bool is_mig_backed() const noexcept { return mig.has_value(); }
};

/// GPU micro-architecture.
enum class Architecture {
  unknown,    ///< Not given.
  volta,      ///< V100.
  turing,     ///< T4.
  ampere,     ///< A16, A40, A10, A2, RTX A6000, A100.
  ada,        ///< L4, L20, L40, L40S, RTX 6000 Ada.
  hopper,     ///< H100.
  blackwell,  ///< B100/B200 and RTX PRO Blackwell boards.
};

/// Lower-case name of an architecture, e.g. "ada".
inline std::string_view to_string(Architecture a) {
  switch (a) {
    case Architecture::volta:
      return "volta";
    case Architecture::turing:
      return "turing";
    case Architecture::ampere:
      return "ampere";
    case Architecture::ada:
      return "ada";
    case Architecture::hopper:
      return "hopper";
    case Architecture::blackwell:
      return "blackwell";
    case Architecture::unknown:
      break;
  }
  return "unknown";
}

/// Parses an architecture name as to_string() prints it.
inline Result<Architecture> parse_architecture(std::string_view text) {
  for (auto a :
       {Architecture::unknown, Architecture::volta, Architecture::turing, Architecture::ampere,
        Architecture::ada, Architecture::hopper, Architecture::blackwell}) {
    if (text == to_string(a)) return a;
  }
  return fail(Errc::invalid_argument,
              "invalid architecture " + detail::quoted(text) +
                  ": expected volta, turing, ampere, ada, hopper, blackwell or unknown");
}

/// A GPU model (one PCI function: an A16 board carries four of them) and its vGPU types.
struct GpuModel {
  std::string name;                                   ///< e.g. "NVIDIA A16".
  std::vector<std::string> aliases;                   ///< Other accepted names, e.g. "A16".
  Architecture architecture = Architecture::unknown;  ///< Micro-architecture.
  std::vector<std::uint16_t> pci_device_ids;  ///< PCI device ids (vendor 0x10de) where known.
  std::uint32_t gpus_per_board = 1;           ///< GPUs on one board.
  Bytes framebuffer;                          ///< Framebuffer of the type that takes the whole GPU.
  bool mixed_size_capable = false;            ///< Supports mixed-size (heterogeneous) mode.
  bool mig_capable = false;                   ///< Supports MIG-backed vGPUs.
  std::vector<VgpuType> types;  ///< Supported types, largest first as NVIDIA lists them.
  std::string source;           ///< Where the data comes from.

  /// Number of 1-GiB placement slots (framebuffer rounded up to whole GiB).
  [[nodiscard]] std::uint32_t slots() const noexcept {
    return static_cast<std::uint32_t>(framebuffer.gib_slots());
  }
  /// The type named @p type_name (exact, canonical name), or nullptr.
  [[nodiscard]] const VgpuType* find_type(std::string_view type_name) const noexcept {
    for (const auto& t : types)
      if (t.name == type_name) return &t;
    return nullptr;
  }
};

/// Memory slices of a MIG-capable GPU (A100, H100).
inline constexpr std::uint32_t mig_memory_slices = 8;

}  // namespace vgpu
