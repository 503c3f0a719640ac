// The ledger file's layout (format version 1). Every structure is trivially copyable and has
// a fixed size, so the file means the same to every process and every build of a format.
//
//   [0, 4 KiB)              Header: identity, static checksum, commit counters, change ring
//   [4 KiB, 20 KiB)         GPU table: 256 slots of 64 bytes
//   [20 KiB, 160 KiB)       Journal: one commit's redo images (at most 512 blocks)
//   [160 KiB, ...)          Records: capacity slots of 256 bytes (the file grows)
//
// docs/ledger.md explains the commit protocol that keeps this consistent under kill -9.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ledger/crc32c.hpp"

namespace vgpu::ledger {

inline constexpr char magic[8] = {'V', 'G', 'P', 'U', 'L', 'D', 'G', 'R'};
inline constexpr std::size_t header_size = 4096;
inline constexpr std::size_t record_size = 256;
inline constexpr std::size_t gpu_slot_size = 64;
inline constexpr std::uint32_t max_gpus = 256;
inline constexpr std::uint32_t journal_capacity = 512;
inline constexpr std::uint32_t ring_size = 512;
inline constexpr std::uint64_t initial_capacity = 256;
inline constexpr std::uint64_t max_capacity = std::uint64_t{1} << 20;

inline constexpr std::size_t gpu_table_offset = header_size;
inline constexpr std::size_t journal_offset = gpu_table_offset + max_gpus * gpu_slot_size;

struct Header {
  char magic[8];
  std::uint32_t format_version;
  std::uint32_t header_size;
  std::uint32_t record_size;
  std::uint32_t gpu_slot_size;
  std::uint32_t max_gpus;
  std::uint32_t journal_capacity;
  std::uint32_t ring_size;
  std::uint32_t reserved0;
  std::uint64_t created_ns;
  std::uint32_t static_checksum;  // CRC-32C of the bytes above
  std::uint32_t reserved1;
  // Dynamic part: changed only under the lock.
  std::uint64_t capacity;   // record slots
  std::uint64_t commits;    // commits applied
  std::uint64_t change_no;  // record-slot writes applied; ring[k % ring_size] = slot of write k
  std::uint64_t gpu_epoch;  // bumped by every commit that rewrites the GPU table
  std::uint32_t gpu_count;
  std::uint32_t retired;  // nonzero: this file was replaced; reopen the path
  std::uint32_t ring[ledger::ring_size];
};
static_assert(sizeof(Header) <= header_size);
inline constexpr std::size_t static_checksum_span = offsetof(Header, static_checksum);

struct GpuSlot {
  std::uint32_t domain;
  std::uint8_t bus, device, function, mode;
  char model[48];
  std::uint32_t checksum;
  std::uint32_t reserved;
};
static_assert(sizeof(GpuSlot) == gpu_slot_size);

struct RecordImage {
  std::uint8_t uuid[16];
  std::uint8_t vm_uuid[16];
  std::uint64_t created_ns;
  std::uint64_t updated_ns;
  std::uint64_t process_start;
  std::uint32_t process_pid;
  std::uint32_t process_boot;
  std::uint32_t gpu_domain;
  std::uint8_t gpu_bus, gpu_device, gpu_function;
  std::uint8_t state;  // 0: free slot (then every byte is 0)
  std::uint32_t placement;
  std::uint8_t has_vm_uuid;
  std::uint8_t reserved0[3];
  char type_name[32];
  char owner[72];
  char device[64];
  std::uint32_t checksum;  // CRC-32C of the bytes above
  std::uint32_t reserved1;
};
static_assert(sizeof(RecordImage) == record_size);

struct JournalHeader {
  std::uint64_t armed;  // 0, or the number of the commit the journal holds (written last)
  std::uint64_t base_change_no;
  std::uint64_t gpu_epoch;
  std::uint32_t count;
  std::uint32_t gpu_count;
  std::uint32_t checksum;  // CRC-32C of base_change_no..gpu_count and the entries
  std::uint32_t reserved[7];
};
static_assert(sizeof(JournalHeader) == 64);

struct JournalEntry {
  std::uint64_t offset;  // file offset of the block
  std::uint32_t length;  // bytes of data used (<= record_size)
  std::uint32_t slot;    // record slot + 1, or 0 for a GPU-table block
  std::uint8_t data[record_size];
};
static_assert(sizeof(JournalEntry) == 272);

inline constexpr std::size_t journal_size =
    sizeof(JournalHeader) + journal_capacity * sizeof(JournalEntry);
inline constexpr std::size_t records_offset = (journal_offset + journal_size + 4095) / 4096 * 4096;

inline constexpr std::size_t file_size_for(std::uint64_t capacity) {
  return records_offset + static_cast<std::size_t>(capacity) * record_size;
}

inline std::uint32_t record_checksum(const RecordImage& r) {
  return crc32c(&r, offsetof(RecordImage, checksum));
}
inline std::uint32_t gpu_checksum(const GpuSlot& g) {
  return crc32c(&g, offsetof(GpuSlot, checksum));
}
inline std::uint32_t journal_checksum(const JournalHeader& h, const JournalEntry* entries) {
  std::uint32_t crc = crc32c(&h.base_change_no, offsetof(JournalHeader, checksum) -
                                                    offsetof(JournalHeader, base_change_no));
  const std::uint32_t tail = crc32c(entries, h.count * sizeof(JournalEntry));
  const std::uint32_t both[2] = {crc, tail};
  return crc32c(both, sizeof both);
}

// Whether @p n bytes at @p p are all zero: an OR of 8-byte words, one test at the end (opening
// a ledger checks every free slot this way).
inline bool all_zero(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  std::uint64_t any = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, b + i, 8);
    any |= word;
  }
  for (; i < n; ++i)
    any |= b[i];
  return any == 0;
}

// Copies @p text into a fixed field, NUL-padded; the caller checked the length.
template <std::size_t N>
void put_text(char (&field)[N], std::string_view text) {
  std::memset(field, 0, N);
  std::memcpy(field, text.data(), text.size() < N ? text.size() : N - 1);
}

template <std::size_t N>
std::string get_text(const char (&field)[N]) {
  std::size_t n = 0;
  while (n < N && field[n] != '\0')
    ++n;
  return std::string(field, n);
}

}  // namespace vgpu::ledger
