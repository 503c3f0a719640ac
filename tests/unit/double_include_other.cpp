#include "vgpu/catalog.hpp"
#include "vgpu/placement/batch.hpp"
#include "vgpu/placement/defrag.hpp"
#include "vgpu/placement/engine.hpp"
#include "vgpu/placement/policy.hpp"

std::string other_unit_address() {
  return vgpu::PciAddress::parse("0000:65:00.0")->to_string();
}
