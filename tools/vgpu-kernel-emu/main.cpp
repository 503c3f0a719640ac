// vgpu-kernel-emu: an emulated kernel for vgpu's Linux backends, for tests and for trying vgpu
// without a GPU. It mounts a FUSE 3 filesystem on ROOT/sys that behaves like the kernel's sysfs
// for SR-IOV GPUs with the RFC's vGPU VF interface and for mdev parents, and (with a command)
// emulates nouveau's DRM devices through umockdev.
//
//   vgpu-kernel-emu --host HOST.json ROOT              serve until SIGTERM/SIGINT
//   vgpu-kernel-emu --host HOST.json [ROOT] -- CMD...  run CMD against it, then unmount
//
// CMD runs with VGPU_SYSFS_ROOT=ROOT and, when the host has nouveau GPUs, under umockdev's
// preload library. ROOT also gets run/ (vgpu's state) and etc/mdevctl.d/ (for mdevctl).
#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "drm.hpp"
#include "kernel.hpp"
#include "vgpu/catalog_io.hpp"

namespace {

namespace fs = std::filesystem;
using vgpu::emu::Kernel;
using vgpu::emu::Node;

Kernel* kernel() {
  return static_cast<Kernel*>(fuse_get_context()->private_data);
}

// Tells the kernel to forget removed entries, from its own thread: invalidating from inside a
// request handler of the single-threaded loop could deadlock against a lookup waiting on it.
class Invalidator {
 public:
  void start(fuse* f) {
    fuse_ = f;
    thread_ = std::thread([this] { run(); });
  }
  void push(std::vector<std::string> paths) {
    {
      std::lock_guard lock(mutex_);
      for (auto& p : paths)
        queue_.push_back(std::move(p));
    }
    wake_.notify_one();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      auto paths = std::exchange(queue_, {});
      lock.unlock();
      for (const auto& p : paths)
        fuse_invalidate_path(fuse_, p.c_str());  // -ENOENT: never looked up, nothing cached
      lock.lock();
    }
  }
  fuse* fuse_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::string> queue_;
  bool stopping_ = false;
};

Invalidator invalidator;

void* on_init(fuse_conn_info* conn, fuse_config* cfg) {
  // A symlink's target never changes while it exists (removed ones are invalidated).
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // sysfs changes under the reader's feet (VFs appear, lists shrink): file contents are never
  // cached, new entries show at once (no negative caching), and entries that disappear are
  // invalidated as they go (Invalidator). Entries and attributes themselves may be cached.
  cfg->entry_timeout = 1;
  cfg->attr_timeout = 1;
  cfg->negative_timeout = 0;
  cfg->direct_io = 1;
  return fuse_get_context()->private_data;
}

int on_getattr(const char* path, struct stat* st, fuse_file_info*) {
  std::memset(st, 0, sizeof *st);
  const Node n = kernel()->lookup(path);
  switch (n.kind) {
    case Node::Kind::none:
      return -ENOENT;
    case Node::Kind::dir:
      st->st_mode = S_IFDIR | 0755;
      st->st_nlink = 2;
      break;
    case Node::Kind::link:
      st->st_mode = S_IFLNK | 0777;
      st->st_nlink = 1;
      st->st_size = static_cast<off_t>(n.target.size());
      break;
    case Node::Kind::file:
      st->st_mode = S_IFREG | n.mode;
      st->st_nlink = 1;
      st->st_size = 4096;  // like sysfs: the size says nothing
      break;
  }
  return 0;
}

int on_readlink(const char* path, char* buffer, size_t size) {
  const Node n = kernel()->lookup(path);
  if (n.kind != Node::Kind::link) return n.kind == Node::Kind::none ? -ENOENT : -EINVAL;
  std::snprintf(buffer, size, "%s", n.target.c_str());
  return 0;
}

int on_readdir(const char* path, void* buffer, fuse_fill_dir_t fill, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  const Node n = kernel()->lookup(path);
  if (n.kind != Node::Kind::dir) return n.kind == Node::Kind::none ? -ENOENT : -ENOTDIR;
  fill(buffer, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buffer, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const auto& e : n.entries)
    fill(buffer, e.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  return 0;
}

// Writable sysfs files belong to root: other users get EACCES, as from the kernel.
bool may_write(const Node& n) {
  return n.write && fuse_get_context()->uid == 0;
}

int on_open(const char* path, fuse_file_info* fi) {
  const Node n = kernel()->lookup(path);
  if (n.kind == Node::Kind::none) return -ENOENT;
  if (n.kind != Node::Kind::file) return -EISDIR;
  if ((fi->flags & O_ACCMODE) != O_RDONLY && !may_write(n)) return -EACCES;
  fi->direct_io = 1;
  return 0;
}

int on_read(const char* path, char* buffer, size_t size, off_t offset, fuse_file_info*) {
  const Node n = kernel()->lookup(path);
  if (n.kind != Node::Kind::file) return -ENOENT;
  std::string text;
  if (int e = n.read ? n.read(text) : -EACCES; e < 0) return e;
  if (offset >= static_cast<off_t>(text.size())) return 0;
  const std::size_t count = std::min(size, text.size() - static_cast<std::size_t>(offset));
  std::memcpy(buffer, text.data() + offset, count);
  return static_cast<int>(count);
}

int on_write(const char* path, const char* buffer, size_t size, off_t, fuse_file_info*) {
  const Node n = kernel()->lookup(path);
  if (n.kind != Node::Kind::file) return -ENOENT;
  if (!may_write(n)) return -EACCES;
  if (int e = n.write(std::string_view(buffer, size)); e < 0) return e;
  if (auto removed = kernel()->take_removed(); !removed.empty())
    invalidator.push(std::move(removed));
  return static_cast<int>(size);
}

int on_truncate(const char* path, off_t, fuse_file_info*) {
  // `echo 5 > file` opens with O_TRUNC; sysfs ignores it.
  const Node n = kernel()->lookup(path);
  if (n.kind == Node::Kind::none) return -ENOENT;
  return may_write(n) ? 0 : -EACCES;
}

fuse_operations operations() {
  fuse_operations ops{};
  ops.init = on_init;
  ops.getattr = on_getattr;
  ops.readlink = on_readlink;
  ops.readdir = on_readdir;
  ops.open = on_open;
  ops.read = on_read;
  ops.write = on_write;
  ops.truncate = on_truncate;
  return ops;
}

int run_child(const std::vector<std::string>& command, const fs::path& root, bool preload) {
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("vgpu-kernel-emu: fork");
    return 3;
  }
  if (pid == 0) {
    ::setenv("VGPU_SYSFS_ROOT", root.c_str(), 1);
    if (preload) {
      const char* old = std::getenv("LD_PRELOAD");
      std::string value = "libumockdev-preload.so.0";
      if (old && *old) value += std::string(":") + old;
      ::setenv("LD_PRELOAD", value.c_str(), 1);
    }
    std::vector<char*> argv;
    for (const auto& a : command)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "vgpu-kernel-emu: cannot run %s: %s\n", argv[0], std::strerror(errno));
    std::_Exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vgpu-kernel-emu: an emulated kernel (sysfs over FUSE, DRM over umockdev) for "
      "vgpu's backends"};
  std::string host_file, root_text;
  std::vector<std::string> command;
  app.add_option("--host", host_file,
                 "Emulated host: {\"interface\": \"vf\"|\"mdev\", \"driver\": \"nvidia\"|"
                 "\"nouveau\", \"vfs\": N, \"host\": <host description>} (docs/backends.md)")
      ->required();
  app.add_option("root", root_text,
                 "Directory to build the emulated root in (ROOT/sys is mounted)");
  app.footer("After --: a command to run against the emulated host.");
  // Everything after "--" is the command, whatever it looks like.
  int own = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      own = i;
      command.assign(argv + i + 1, argv + argc);
      break;
    }
  }
  if (own < argc && command.empty()) {
    std::fprintf(stderr, "vgpu-kernel-emu: nothing to run after --\n");
    return 2;
  }
  CLI11_PARSE(app, own, argv);

  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    std::fprintf(stderr,
                 "vgpu-kernel-emu: /dev/fuse is missing or not accessible (%s); FUSE cannot "
                 "mount here\n",
                 std::strerror(errno));
    return 77;
  }
  auto loaded = Kernel::load(host_file, vgpu::builtin_catalog());
  if (!loaded) {
    std::fprintf(stderr, "vgpu-kernel-emu: %s\n", loaded.error().message().c_str());
    return 2;
  }
  Kernel& k = **loaded;

  bool temporary = false;
  fs::path root;
  if (root_text.empty()) {
    char pattern[] = "/tmp/vgpu-kernel-emu.XXXXXX";
    if (!::mkdtemp(pattern)) {
      std::perror("vgpu-kernel-emu: mkdtemp");
      return 3;
    }
    root = pattern;
    temporary = true;
  } else {
    root = fs::absolute(root_text);
  }
  std::error_code ec;
  for (const char* d :
       {"sys", "run", "etc/mdevctl.d/scripts.d/callouts", "etc/mdevctl.d/scripts.d/notifiers"})
    fs::create_directories(root / d, ec);

  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  fuse_opt_add_arg(&args, "vgpu-kernel-emu");
  if (::getuid() == 0) fuse_opt_add_arg(&args, "-oallow_other");
  const fuse_operations ops = operations();
  fuse* f = fuse_new(&args, &ops, sizeof ops, &k);
  fuse_opt_free_args(&args);
  if (!f || fuse_mount(f, (root / "sys").c_str()) != 0) {
    std::fprintf(stderr,
                 "vgpu-kernel-emu: cannot mount FUSE on %s (needs /dev/fuse and the "
                 "right to mount: root, or fusermount3)\n",
                 (root / "sys").c_str());
    if (f) fuse_destroy(f);
    return 77;
  }

  invalidator.start(f);
  int code = 0;
  if (command.empty()) {
    fuse_set_signal_handlers(fuse_get_session(f));
    std::fprintf(stderr, "vgpu-kernel-emu: serving %s (VGPU_SYSFS_ROOT=%s)\n",
                 (root / "sys").c_str(), root.c_str());
    if (!k.nouveau_gpus().empty())
      std::fprintf(stderr,
                   "vgpu-kernel-emu: nouveau DRM devices are emulated only for a command run "
                   "under the emulator (vgpu-kernel-emu --host H ROOT -- CMD)\n");
    code = fuse_loop(f) == 0 ? 0 : 3;
    fuse_remove_signal_handlers(fuse_get_session(f));
    fuse_unmount(f);
  } else {
    std::thread loop([f] { fuse_loop(f); });
    vgpu::emu::DrmEmulator drm;
    bool preload = false;
    if (!k.nouveau_gpus().empty()) {
      if (auto ok = drm.start(k); !ok)
        std::fprintf(stderr, "vgpu-kernel-emu: DRM emulation unavailable: %s\n",
                     ok.error().message().c_str());
      else
        preload = true;
    }
    code = run_child(command, root, preload);
    fuse_exit(f);
    fuse_unmount(f);
    loop.join();
  }
  invalidator.stop();
  fuse_destroy(f);
  if (temporary) fs::remove_all(root, ec);
  return code;
}
