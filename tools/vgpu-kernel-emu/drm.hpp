// DRM devices for the GPUs nouveau drives, through umockdev (when built with it).
#pragma once

#include <memory>

#include "kernel.hpp"

namespace vgpu::emu {

class DrmEmulator {
 public:
  DrmEmulator();
  ~DrmEmulator();
  DrmEmulator(const DrmEmulator&) = delete;
  DrmEmulator& operator=(const DrmEmulator&) = delete;

  // True when built with umockdev.
  static bool available();
  // Creates the testbed (it sets UMOCKDEV_DIR in this process's environment, which children
  // inherit) and attaches the ioctl handlers. The handlers run on umockdev's own thread.
  Result<void> start(Kernel& kernel);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vgpu::emu
