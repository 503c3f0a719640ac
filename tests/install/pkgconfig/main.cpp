// Built with `c++ main.cpp $(pkg-config --cflags --libs vgpu)` against the installed tree.
#include <vgpu/catalog_io.hpp>

#include <cstdio>

int main() {
  auto model = vgpu::builtin_catalog().find_model("L40S");
  if (!model) return std::fprintf(stderr, "%s\n", model.error().message().c_str()), 1;
  std::printf("pkg-config consumer: %s has %zu vGPU types\n", (*model)->name.c_str(),
              (*model)->types.size());
  return 0;
}
