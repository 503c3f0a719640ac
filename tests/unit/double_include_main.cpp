// Two translation units include every header-first header; the program must link and agree.
#include "vgpu/catalog.hpp"
#include "vgpu/placement/batch.hpp"
#include "vgpu/placement/defrag.hpp"
#include "vgpu/placement/engine.hpp"
#include "vgpu/placement/policy.hpp"

std::string other_unit_address();

int main() {
  const auto here = vgpu::PciAddress::parse("0000:65:00.0")->to_string();
  return here == other_unit_address() ? 0 : 1;
}
