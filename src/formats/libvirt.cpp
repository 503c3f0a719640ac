// libvirt: node-device XML of each GPU with its mdev_types capability (formatnode.rst), and
// a domain <hostdev> for each vGPU (formatdomain.html, "hostdev"): the mdev form with the
// vGPU's UUID, or the PCI form with the VF's address.
#include <cstdio>

#include "formats/common.hpp"

namespace vgpu::formats::detail {
namespace {

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string hex(unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", digits, value);
  return buf;
}

std::string nodedev_xml(const GpuInventory& g, const Inventory& inventory) {
  const PhysicalGpu& gpu = g.gpu();
  const PciAddress& a = gpu.address;
  const unsigned product = gpu.model->pci_device_ids.empty() ? 0 : gpu.model->pci_device_ids[0];
  std::string x = "<device>\n";
  x += "  <name>" + nodedev_name(a) + "</name>\n";
  x += "  <driver>\n    <name>" +
       std::string(inventory.backend == "nouveau" ? "nouveau" : "nvidia") +
       "</name>\n  </driver>\n";
  x += "  <capability type='pci'>\n";
  x += "    <domain>" + std::to_string(a.domain()) + "</domain>\n";
  x += "    <bus>" + std::to_string(a.bus()) + "</bus>\n";
  x += "    <slot>" + std::to_string(a.device()) + "</slot>\n";
  x += "    <function>" + std::to_string(a.function()) + "</function>\n";
  x += "    <product id='" + hex(product, 4) + "'>" + xml_escape(gpu.model->name) + "</product>\n";
  x += "    <vendor id='0x10de'>NVIDIA Corporation</vendor>\n";
  if (!g.types.empty()) {
    x += "    <capability type='mdev_types'>\n";
    for (const auto& t : g.types) {
      x += "      <type id='" + xml_escape(t.kernel_id) + "'>\n";
      x += "        <name>" + xml_escape("NVIDIA " + t.type->name) + "</name>\n";
      x += "        <deviceAPI>vfio-pci</deviceAPI>\n";
      x += "        <availableInstances>" + std::to_string(t.available) + "</availableInstances>\n";
      x += "      </type>\n";
    }
    x += "    </capability>\n";
  }
  if (gpu.numa_node) x += "    <numa node='" + std::to_string(*gpu.numa_node) + "'/>\n";
  x += "  </capability>\n</device>\n";
  return x;
}

Result<std::string> hostdev_xml(const SelectedVgpu& v, HostdevForm form) {
  const VgpuRecord& r = *v.record;
  const auto vf = PciAddress::parse(r.device);
  const std::string what =
      "vGPU " + r.uuid.to_string() + " (" + r.type_name + " on GPU " + r.gpu.to_string() + ")";
  if (form == HostdevForm::automatic) form = vf ? HostdevForm::pci : HostdevForm::mdev;
  if (form == HostdevForm::pci) {
    if (!vf)
      return fail(Errc::not_supported,
                  what + " is not an SR-IOV VF (" +
                      (r.device.empty() ? std::string("the simulated host gives it no device")
                                        : "its device is " + r.device) +
                      "); a VM gets it as a mediated device: use the mdev form "
                      "(--hostdev-form mdev or auto)");
    return "<hostdev mode='subsystem' type='pci' managed='no'>\n  <source>\n    <address domain='" +
           hex(vf->domain(), 4) + "' bus='" + hex(vf->bus(), 2) + "' slot='" +
           hex(vf->device(), 2) + "' function='" + hex(vf->function(), 1) +
           "'/>\n  </source>\n</hostdev>\n";
  }
  if (vf)
    return fail(Errc::not_supported,
                what + " is the SR-IOV VF " + vf->to_string() +
                    ", not a mediated device; a VM gets it as a PCI device: use the PCI form "
                    "(--hostdev-form pci or auto)");
  return "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>\n  <source>\n    <address "
         "uuid='" +
         r.uuid.to_string() + "'/>\n  </source>\n</hostdev>\n";
}

}  // namespace

Result<std::vector<Document>> libvirt_nodedev(const Inventory& inventory,
                                              const ExportOptions& options) {
  auto gpus = selected_gpus(inventory, options);
  if (!gpus) return gpus.error();
  std::vector<Document> out;
  for (const auto* g : *gpus)
    out.push_back({nodedev_name(g->gpu().address), "", nodedev_xml(*g, inventory)});
  return out;
}

Result<std::vector<Document>> libvirt_hostdev(const Inventory& inventory,
                                              const ExportOptions& options) {
  auto vgpus = selected_vgpus(inventory, options);
  if (!vgpus) return vgpus.error();
  std::vector<Document> out;
  for (const auto& v : *vgpus) {
    auto xml = hostdev_xml(v, options.hostdev_form);
    if (!xml) return xml.error();
    out.push_back({v.record->uuid.to_string(), "", std::move(*xml)});
  }
  return out;
}

}  // namespace vgpu::formats::detail
