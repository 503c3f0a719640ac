// Two translation units include every header-first header; the program must link and agree.
#include "vgpu/catalog.hpp"
#include "vgpu/placement/first_fit.hpp"

std::string other_unit_address();

int main() {
  const auto here = vgpu::PciAddress::parse("0000:65:00.0")->to_string();
  return here == other_unit_address() ? 0 : 1;
}
