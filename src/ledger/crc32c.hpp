// CRC-32C (Castagnoli) for the ledger's checksums: the SSE4.2 instruction when the CPU has
// it (a 256-byte record in ~30 ns), Boost.CRC otherwise. Both give the same values.
#pragma once

#include <boost/crc.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace vgpu::ledger {

using Crc32cTable = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

inline std::uint32_t crc32c_portable(const void* data, std::size_t size) {
  Crc32cTable crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) inline std::uint32_t crc32c_sse42(const void* data,
                                                                    std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t crc = 0xFFFFFFFFu;
  for (; size >= 8; size -= 8, p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
  }
  auto c = static_cast<std::uint32_t>(crc);
  for (; size > 0; --size, ++p)
    c = _mm_crc32_u8(c, *p);
  return c ^ 0xFFFFFFFFu;
}
#endif

inline std::uint32_t crc32c(const void* data, std::size_t size) {
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  if (hardware) return crc32c_sse42(data, size);
#endif
  return crc32c_portable(data, size);
}

}  // namespace vgpu::ledger
