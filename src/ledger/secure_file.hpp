// Opening the files vgpu shares between processes (the ledger, its host-state definitions)
// without trusting the path: no symlinks, no files or directories others could have planted.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

#include "vgpu/error.hpp"

namespace vgpu::ledger {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  [[nodiscard]] int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// Holds an open-file-description lock on a whole file: the kernel drops it when the
// holder dies, and it belongs to one open file (not to the process, as classic POSIX record
// locks and so Boost.Interprocess's file_lock do), so two handles in one process exclude
// each other and closing another descriptor of the file does not drop it.
class FileLock {
 public:
  // Blocks until the lock on @p fd is held; @p what names the file in errors.
  static Result<FileLock> acquire(int fd, std::string_view what);
  FileLock(FileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// Creates @p dir (and missing parents) if needed, the last level with mode 0700 (0770 and
// group @p group when given), and checks that it is a real directory that no other user can
// plant files in: owned by us or root, not writable by others unless sticky.
Result<void> ensure_private_directory(const std::filesystem::path& dir, std::optional<gid_t> group,
                                      std::string_view what);

// Opens (creating if @p create) the regular file @p path read-write with O_NOFOLLOW, and
// refuses it if it is a symlink, not a regular file, owned by another user (except a
// root-owned file of the configured group), or writable by others. New files get mode 0600
// (0660 with @p group). @p created tells whether this call created the file.
Result<UniqueFd> open_private_file(const std::filesystem::path& path, std::optional<gid_t> group,
                                   bool create, std::string_view what, bool* created = nullptr);

// Errc for an errno from open(2)/mkdir(2) and friends.
Errc errc_for_errno(int err);

}  // namespace vgpu::ledger
