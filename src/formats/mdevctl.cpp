// mdevctl: one definition per mediated device, as `mdevctl define --jsonfile FILE --uuid UUID
// --parent PARENT` reads it and as mdevctl keeps it in /etc/mdevctl.d/PARENT/UUID:
// {"mdev_type": "nvidia-558", "start": "auto", "attrs": []}.
#include <map>

#include "formats/common.hpp"

namespace vgpu::formats::detail {

Result<std::vector<Document>> mdevctl(const Inventory& inventory, const ExportOptions& options) {
  auto vgpus = selected_vgpus(inventory, options);
  if (!vgpus) return vgpus.error();
  std::vector<Document> out;
  for (const auto& v : *vgpus) {
    const VgpuRecord& r = *v.record;
    if (auto vf = PciAddress::parse(r.device))
      return fail(Errc::not_supported,
                  "vGPU " + r.uuid.to_string() + " (" + r.type_name + ") is the SR-IOV VF " +
                      vf->to_string() +
                      ", not a mediated device, so mdevctl cannot define it; keep it with "
                      "`vgpuctl apply` and `vgpuctl restore` instead (docs/ledger.md)");
    const TypeOffer* offer = find_offer(*v.gpu, r.type_name);
    if (!offer)
      return fail(Errc::internal, "vGPU " + r.uuid.to_string() + " has type " + r.type_name +
                                      ", which GPU " + r.gpu.to_string() +
                                      " does not offer in its mode; run `vgpuctl reconcile`");
    ojson j = {{"mdev_type", offer->kernel_id},
               {"start", options.mdev_autostart ? "auto" : "manual"},
               {"attrs", ojson::array()}};
    out.push_back({r.uuid.to_string(), r.gpu.to_string(), dump(j)});
  }
  return out;
}

std::string mdevctl_list(const std::vector<Document>& documents) {
  if (documents.empty()) return "[]\n";  // as mdevctl prints an empty list
  std::map<std::string, ojson> parents;  // sorted, as mdevctl lists them
  for (const auto& d : documents) {
    auto& list = parents[d.parent];
    if (list.is_null()) list = ojson::array();
    list.push_back(ojson{{d.name, ojson::parse(d.text)}});
  }
  ojson by_parent = ojson::object();
  for (auto& [parent, list] : parents)
    by_parent[parent] = std::move(list);
  return dump(ojson::array({by_parent}));
}

}  // namespace vgpu::formats::detail
