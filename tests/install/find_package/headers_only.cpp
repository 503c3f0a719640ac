// The header-only core: a hand-made model and its placement rules, no libvgpu.
#include <vgpu/placement/occupancy.hpp>

#include <cstdio>
#include <memory>

int main() {
  auto model = std::make_shared<vgpu::GpuModel>();
  model->name = "Example";
  model->framebuffer = vgpu::Bytes::gib(8);
  vgpu::VgpuType t;
  t.name = "Example-4Q";
  t.framebuffer = vgpu::Bytes::gib(4);
  t.max_instances = 2;
  t.placement_size = 4;
  model->types.push_back(t);
  vgpu::GpuOccupancy gpu(
      {*vgpu::PciAddress::parse("0000:65:00.0"), model, vgpu::GpuMode::equal_size, {}});
  int made = 0;
  while (gpu.add(vgpu::Uuid::generate(), t))
    ++made;
  std::printf("header-only: %d x %s fit on %s\n", made, t.name.c_str(),
              gpu.gpu().address.to_string().c_str());
  return made == 2 ? 0 : 1;
}
