// The nouveau DRM UAPI vgpu uses (include/uapi/drm/nouveau_drm.h), completed where Debian's
// libdrm 2.4.114 stops: it defines GETPARAM params 3-16 only. Shared by the nouveau backend and
// the DRM emulator, so both speak the same numbers. Internal to vgpu.
#pragma once

#include <drm.h>
// nouveau_drm.h is C: one struct has a member called `class`.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wkeyword-macro"
#endif
#define class class_
#include <nouveau_drm.h>
#undef class
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#ifndef NOUVEAU_GETPARAM_EXEC_PUSH_MAX
#define NOUVEAU_GETPARAM_EXEC_PUSH_MAX 17
#endif
#ifndef NOUVEAU_GETPARAM_VRAM_BAR_SIZE
#define NOUVEAU_GETPARAM_VRAM_BAR_SIZE 18
#endif
#ifndef NOUVEAU_GETPARAM_VRAM_USED
// Bytes of VRAM in use (the kernel header's comment says "remaining"; the code returns used).
#define NOUVEAU_GETPARAM_VRAM_USED 19
#endif
#ifndef NOUVEAU_GETPARAM_HAS_VMA_TILEMODE
#define NOUVEAU_GETPARAM_HAS_VMA_TILEMODE 20
#endif

namespace vgpu::nouveau_uapi {

// DRM_IOCTL_NOUVEAU_GETPARAM: DRM_IOWR(DRM_COMMAND_BASE + 0x00, 16 bytes) = 0xC0106440.
inline constexpr unsigned long getparam_ioctl =
    DRM_IOWR(DRM_COMMAND_BASE + DRM_NOUVEAU_GETPARAM, struct drm_nouveau_getparam);

// NOUVEAU_GETPARAM_BUS_TYPE values.
enum BusType : unsigned { agp = 0, pci = 1, pcie = 2, soc = 3 };

}  // namespace vgpu::nouveau_uapi
