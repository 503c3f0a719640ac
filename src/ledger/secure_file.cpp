#include "ledger/secure_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace vgpu::ledger {

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<FileLock> FileLock::acquire(int fd, std::string_view what) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  while (::fcntl(fd, F_OFD_SETLKW, &fl) != 0) {
    if (errno != EINTR)
      return Error(errc_for_errno(errno),
                   "cannot lock " + std::string(what) + ": " + std::strerror(errno), errno);
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  struct flock fl {};
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  (void)::fcntl(fd_, F_OFD_SETLK, &fl);
}

Errc errc_for_errno(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return Errc::permission_denied;
    case ENOENT:
    case ENOTDIR:
      return Errc::not_found;
    case ELOOP:
      return Errc::permission_denied;
    case ENOSPC:
    case EDQUOT:
      return Errc::no_capacity;
    default:
      return Errc::io_error;
  }
}

namespace {

Error os_error(int err, std::string message) {
  return Error(errc_for_errno(err), std::move(message) + ": " + std::strerror(err), err);
}

std::string permission_hint() {
  return " (run as the user that owns it, as root, or pass another path with --ledger or "
         "VGPU_LEDGER)";
}

}  // namespace

Result<void> ensure_private_directory(const std::filesystem::path& dir, std::optional<gid_t> group,
                                      std::string_view what) {
  const std::string name = std::string(what) + " directory " + dir.string();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return os_error(errno, "cannot inspect " + name);
    // Only the last level is created: a typo must not grow a tree of directories.
    std::error_code ec;
    if (dir.has_parent_path() && !std::filesystem::is_directory(dir.parent_path(), ec))
      return fail(Errc::not_found, "cannot create " + name + ": its parent " +
                                       dir.parent_path().string() +
                                       " is not an existing directory");
    const mode_t mode = group ? 0770 : 0700;
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
      return os_error(errno, "cannot create " + name + permission_hint());
    if (::lstat(dir.c_str(), &st) != 0) return os_error(errno, "cannot inspect " + name);
    if (st.st_uid == ::geteuid()) {
      if (group && ::chown(dir.c_str(), static_cast<uid_t>(-1), *group) != 0)
        return os_error(errno, "cannot give " + name + " to group " + std::to_string(*group));
      if (::chmod(dir.c_str(), mode) != 0) return os_error(errno, "cannot set the mode of " + name);
      if (::lstat(dir.c_str(), &st) != 0) return os_error(errno, "cannot inspect " + name);
    }
  }
  if (S_ISLNK(st.st_mode)) {
    // A symlinked directory is fine only if its target passes the same checks.
    if (::stat(dir.c_str(), &st) != 0) return os_error(errno, "cannot follow " + name);
  }
  if (!S_ISDIR(st.st_mode)) return fail(Errc::invalid_argument, name + " is not a directory");
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return fail(Errc::permission_denied,
                name + " belongs to uid " + std::to_string(st.st_uid) +
                    ", neither you nor root; vgpu keeps its files only in directories that "
                    "no other user controls" +
                    permission_hint());
  if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
    return fail(Errc::permission_denied,
                name +
                    " is writable by every user (and not sticky), so anyone could replace "
                    "vgpu's files there; use a private directory");
  return {};
}

Result<UniqueFd> open_private_file(const std::filesystem::path& path, std::optional<gid_t> group,
                                   bool create, std::string_view what, bool* created) {
  const std::string name = std::string(what) + " " + path.string();
  const mode_t mode = group ? 0660 : 0600;
  int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;
  bool made = false;
  int fd = -1;
  if (create) {
    fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, mode);
    if (fd >= 0)
      made = true;
    else if (errno != EEXIST)
      return os_error(errno, "cannot create " + name + permission_hint());
  }
  if (fd < 0) fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP)
      return Error(Errc::permission_denied,
                   name +
                       " is a symbolic link; vgpu never follows links for its shared files "
                       "(remove the link or choose another path)",
                   err);
    return os_error(err, "cannot open " + name + (err == EACCES ? permission_hint() : ""));
  }
  UniqueFd owned(fd);
  if (made) {
    // The umask may have narrowed the mode; the group must be set before anyone else opens it.
    if (group && ::fchown(fd, static_cast<uid_t>(-1), *group) != 0)
      return os_error(errno, "cannot give " + name + " to group " + std::to_string(*group));
    if (::fchmod(fd, mode) != 0) return os_error(errno, "cannot set the mode of " + name);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error(errno, "cannot inspect " + name);
  if (!S_ISREG(st.st_mode)) return fail(Errc::invalid_argument, name + " is not a regular file");
  const bool ours = st.st_uid == ::geteuid();
  const bool shared_by_root = group && st.st_gid == *group && st.st_uid == 0;
  if (!ours && !shared_by_root)
    return fail(Errc::permission_denied, name + " belongs to uid " + std::to_string(st.st_uid) +
                                             ", not to you (uid " + std::to_string(::geteuid()) +
                                             ")" + permission_hint());
  if (st.st_mode & S_IWOTH)
    return fail(Errc::permission_denied,
                name + " is writable by every user; vgpu refuses it (chmod o-w, or remove it)");
  if (created) *created = made;
  return owned;
}

}  // namespace vgpu::ledger
