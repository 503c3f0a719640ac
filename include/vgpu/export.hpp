/// @file
/// @brief VGPU_API: marks what the compiled library (libvgpu) exports.
#pragma once

#if defined(VGPU_SHARED_LIBRARY_BUILD)
/// Exported from libvgpu (the library is built with hidden visibility).
#define VGPU_API __attribute__((visibility("default")))
#else
/// Exported from libvgpu (the library is built with hidden visibility).
#define VGPU_API
#endif
