#include "vgpu/catalog.hpp"
#include "vgpu/placement/first_fit.hpp"

std::string other_unit_address() {
  return vgpu::PciAddress::parse("0000:65:00.0")->to_string();
}
