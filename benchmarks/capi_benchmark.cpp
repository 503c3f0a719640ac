// The cost of the C ABI: create+destroy of one vGPU through vgpu.h against the same through
// vgpu::Manager, in one process, on one configuration.
//
//   build/default/benchmarks/vgpu_capi_benchmark             # ~10 s; docs/benchmarks.md
//   build/default/benchmarks/vgpu_capi_benchmark --smoke     # what ctest runs
//
// Both sides open the built-in simulated host with a private ledger and place one vGPU of
// --type per cycle, as a user of each API would write it: the C++ side looks the type up
// once and passes a TypeRef; the C side passes the type's name in a vgpu_request_t every
// time and gets a vgpu_instance_info_t back (UUID, addresses and names formatted as text).
// Rounds alternate C++ and C so both see the same machine state; the figures are medians of
// the per-round times, and the ratio is C over C++ (target: at most 1.10).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vgpu.h"
#include "vgpu/manager.hpp"

namespace {

double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "vgpu_capi_benchmark: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  long ops = 20000;
  int rounds = 11;
  std::string type = "A16-1Q";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      ops = 200;
      rounds = 3;
    } else if (a == "--ops" && i + 1 < argc) {
      ops = std::atol(argv[++i]);
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--type" && i + 1 < argc) {
      type = argv[++i];
    } else {
      die("usage: vgpu_capi_benchmark [--smoke] [--ops N] [--rounds N] [--type NAME]");
    }
  }
  if (ops <= 0 || rounds <= 0) die("--ops and --rounds must be positive");

  // C++: vgpu::Manager.
  vgpu::ManagerOptions options;
  options.private_ledger = true;
  auto cxx = vgpu::Manager::open(std::move(options));
  if (!cxx) die(cxx.error().message());
  auto ref = (*cxx)->catalog().find_type(type);
  if (!ref) die(ref.error().message());
  const auto request = vgpu::Request::of(*ref, 1);
  auto cxx_cycle = [&] {
    auto made = (*cxx)->create(request);
    if (!made) die(made.error().message());
    if (auto gone = (*cxx)->destroy(made->front().uuid); !gone) die(gone.error().message());
  };

  // C: vgpu.h.
  vgpu_manager_options_t copts = VGPU_MANAGER_OPTIONS_INIT;
  copts.private_ledger = true;
  vgpu_manager_t* c = nullptr;
  if (vgpu_manager_open(&c, &copts) != VGPU_OK) die(vgpu_last_error()->message);
  vgpu_request_t crq = VGPU_REQUEST_INIT;
  crq.type = type.c_str();
  auto c_cycle = [&] {
    vgpu_instance_info_t made = VGPU_INSTANCE_INFO_INIT;
    if (vgpu_manager_create(&made, 1, c, &crq) != VGPU_OK ||
        vgpu_manager_destroy(c, made.uuid) != VGPU_OK)
      die(vgpu_last_error()->message);
  };

  for (long i = 0; i < ops / 10 + 10; ++i) {  // warm up both
    cxx_cycle();
    c_cycle();
  }
  std::vector<double> cxx_s, c_s;
  for (int r = 0; r < rounds; ++r) {
    double t0 = now_s();
    for (long i = 0; i < ops; ++i)
      cxx_cycle();
    cxx_s.push_back(now_s() - t0);
    t0 = now_s();
    for (long i = 0; i < ops; ++i)
      c_cycle();
    c_s.push_back(now_s() - t0);
  }
  vgpu_manager_close(c);

  const double per_cxx = median(cxx_s) / static_cast<double>(ops) * 1e6;
  const double per_c = median(c_s) / static_cast<double>(ops) * 1e6;
  std::printf("create+destroy of one %s, %ld cycles x %d rounds (medians)\n", type.c_str(), ops,
              rounds);
  std::printf("  C++ vgpu::Manager   %8.3f us/cycle  %10.0f cycles/s\n", per_cxx, 1e6 / per_cxx);
  std::printf("  C   vgpu.h          %8.3f us/cycle  %10.0f cycles/s\n", per_c, 1e6 / per_c);
  std::printf("  C / C++ = %.3f (overhead %+.1f%%, %+.3f us/cycle)\n", per_c / per_cxx,
              (per_c / per_cxx - 1) * 100, per_c - per_cxx);
  return 0;
}
