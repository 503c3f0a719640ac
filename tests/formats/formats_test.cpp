// libvirt node devices and <hostdev> elements (validated with libvirt's own RelaxNG schemas by
// virt-xml-validate), mdevctl definitions and OpenStack Placement providers (validated with
// Placement's own request schemas by placement_api.py, and with the hand-written schema in
// schemas/placement.schema.json for what those leave open), all from live Manager state.
#include "support.hpp"

namespace {

using namespace formats_test;
using vgpu::formats::HostdevForm;

// A domain that holds @p hostdevs: the smallest document libvirt's domain schema accepts.
std::string domain_with(const std::string& hostdevs) {
  return "<domain type='kvm'>\n  <name>vgpu-export-check</name>\n  <memory "
         "unit='MiB'>1024</memory>\n"
         "  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n  <devices>\n" +
         hostdevs + "  </devices>\n</domain>\n";
}

vgpu::Errc export_error(const vgpu::formats::Inventory& inv, Format f, const ExportOptions& o,
                        const std::string& message) {
  auto r = vgpu::formats::export_documents(inv, f, o);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains(message));
  return r.error().code();
}

}  // namespace

TEST_CASE("formats: names parse and print", "[formats]") {
  for (auto f : {Format::libvirt_nodedev, Format::libvirt_hostdev, Format::mdevctl,
                 Format::placement, Format::dra, Format::nvidia_vgpu_config})
    CHECK(vgpu::formats::parse_format(vgpu::formats::to_string(f)).value() == f);
  auto bad = vgpu::formats::parse_format("virsh");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(),
             Catch::Contains("valid formats: libvirt-nodedev, libvirt-hostdev, mdevctl, "
                             "placement, dra, nvidia-vgpu-config"));
}

TEST_CASE("libvirt-nodedev: one valid node device per GPU, from live state", "[formats][libvirt]") {
  auto m = open_manager();
  create(*m, "A16-4Q", 2, "0000:41:00.0");
  auto inv = inventory_of(*m);
  auto docs = documents(inv, Format::libvirt_nodedev);
  REQUIRE(docs.size() == 7);
  ScratchDir dir;
  for (const auto& d : docs)
    vgpu::test::require_libvirt_valid(dir.write(d.name + ".xml", d.text), "nodedev");
  const std::string& a16 = docs[0].text;
  CHECK(docs[0].name == "pci_0000_41_00_0");
  CHECK_THAT(a16, Catch::Contains("<product id='0x25b6'>NVIDIA A16</product>") &&
                      Catch::Contains("<bus>65</bus>"));
  auto type = [](const std::string& name, int available) {
    return "<type id='vgpu-" + vgpu::detail::to_lower(name) + "'>\n        <name>NVIDIA " + name +
           "</name>\n        <deviceAPI>vfio-pci</deviceAPI>\n        <availableInstances>" +
           std::to_string(available) + "</availableInstances>";
  };
  // Equal-size: two more 4 GiB vGPUs fit (Q or A share the budget), no other size, no C.
  CHECK_THAT(a16, Catch::Contains(type("A16-4Q", 2)) && Catch::Contains(type("A16-4A", 2)));
  CHECK_THAT(a16, Catch::Contains(type("A16-2Q", 0)) && Catch::Contains(type("A16-4C", 0)));
  CHECK_THAT(docs[1].text, Catch::Contains(type("A16-2Q", 8)));
  // The A100 in MIG mode offers its MIG-backed types; one +me GPU instance per GPU.
  CHECK_THAT(docs[6].text,
             Catch::Contains(type("A100D-3-40C", 2)) && Catch::Contains(type("A100D-1-10CME", 1)));

  ExportOptions one;
  one.gpu = *vgpu::PciAddress::parse("0000:45:00.0");
  CHECK(documents(inv, Format::libvirt_nodedev, one).size() == 1);
  one.gpu = *vgpu::PciAddress::parse("0000:99:00.0");
  CHECK(export_error(inv, Format::libvirt_nodedev, one, "no GPU 0000:99:00.0 on this host") ==
        vgpu::Errc::not_found);
}

TEST_CASE("libvirt-hostdev: mdev and PCI forms validate inside a domain", "[formats][libvirt]") {
  auto m = open_manager();
  auto made = create(*m, "A16-2Q", 2, "0000:42:00.0");
  auto inv = inventory_of(*m);
  ScratchDir dir;
  auto docs = documents(inv, Format::libvirt_hostdev);
  REQUIRE(docs.size() == 2);
  std::string all;
  for (const auto& d : docs) {
    CHECK_THAT(d.text, Catch::Contains("type='mdev' model='vfio-pci'") &&
                           Catch::Contains("<address uuid='" + d.name + "'/>"));
    vgpu::test::require_libvirt_valid(dir.write(d.name + ".xml", domain_with(d.text)), "domain");
    all += d.text;
  }
  vgpu::test::require_libvirt_valid(dir.write("both.xml", domain_with(all)), "domain");
  CHECK(exported(inv, Format::libvirt_hostdev) == all);

  ExportOptions o;
  o.uuid = made[1].uuid;
  REQUIRE(documents(inv, Format::libvirt_hostdev, o).size() == 1);
  o.hostdev_form = HostdevForm::pci;
  CHECK(export_error(inv, Format::libvirt_hostdev, o, "use the mdev form") ==
        vgpu::Errc::not_supported);
  o = {};
  o.uuid = vgpu::Uuid::generate();
  CHECK(export_error(inv, Format::libvirt_hostdev, o, "no vGPU " + o.uuid->to_string()) ==
        vgpu::Errc::not_found);
  o.uuid = made[0].uuid;
  o.gpu = *vgpu::PciAddress::parse("0000:41:00.0");
  export_error(inv, Format::libvirt_hostdev, o, "is on GPU 0000:42:00.0, not 0000:41:00.0");

  // A VF vGPU (nvidia-vfio: the device is the VF's address) becomes a PCI hostdev, unmanaged so
  // that libvirt leaves the VF bound to NVIDIA's VFIO variant driver.
  inv.gpus[1].vgpus[0].device = "0000:42:00.5";
  auto vf = documents(inv, Format::libvirt_hostdev);
  CHECK(vf[0].text ==
        "<hostdev mode='subsystem' type='pci' managed='no'>\n  <source>\n    <address "
        "domain='0x0000' bus='0x42' slot='0x00' function='0x5'/>\n  </source>\n</hostdev>\n");
  vgpu::test::require_libvirt_valid(dir.write("vf.xml", domain_with(vf[0].text + vf[1].text)),
                                    "domain");
  o = {};
  o.hostdev_form = HostdevForm::mdev;
  CHECK(export_error(inv, Format::libvirt_hostdev, o, "use the PCI form") ==
        vgpu::Errc::not_supported);
}

TEST_CASE("mdevctl: a --jsonfile document per vGPU, and mdevctl's list shape",
          "[formats][mdevctl]") {
  auto m = open_manager();
  auto made = create(*m, "A16-2Q", 2, "0000:41:00.0");
  create(*m, "L40S-12Q", 1, "0000:45:00.0");
  auto inv = inventory_of(*m);
  auto docs = documents(inv, Format::mdevctl);
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].parent == "0000:41:00.0");
  CHECK(json::parse(docs[0].text) ==
        json{{"mdev_type", "vgpu-a16-2q"}, {"start", "auto"}, {"attrs", json::array()}});
  auto list = json::parse(exported(inv, Format::mdevctl));
  REQUIRE(list.size() == 1);
  CHECK(list[0]["0000:41:00.0"].size() == 2);
  CHECK(list[0]["0000:45:00.0"][0].begin().value()["mdev_type"] == "vgpu-l40s-12q");

  ExportOptions o;
  o.uuid = made[1].uuid;
  o.mdev_autostart = false;
  CHECK(json::parse(exported(inv, Format::mdevctl, o)) ==
        json{{"mdev_type", "vgpu-a16-2q"}, {"start", "manual"}, {"attrs", json::array()}});
  o = {};
  o.gpu = *vgpu::PciAddress::parse("0000:46:00.0");
  CHECK(exported(inv, Format::mdevctl, o) == "[]\n");

  inv.gpus[0].vgpus[0].device = "0000:41:00.4";  // a VF: not a mediated device
  export_error(inv, Format::mdevctl, {}, "mdevctl cannot define it");
}

TEST_CASE("placement: one provider per GPU as Nova models it, valid per the Placement API",
          "[formats][placement]") {
  auto m = open_manager();
  create(*m, "A16-4Q", 3, "0000:41:00.0");
  create(*m, "L40S-12Q", 1, "0000:45:00.0");
  auto inv = inventory_of(*m);
  ExportOptions o;
  o.placement_types = {"nvidia a16-2q"};
  auto doc = json::parse(exported(inv, Format::placement, o));
  ScratchDir dir;
  const auto file = dir.write("placement.json", doc.dump());
  const auto providers = doc["resource_providers"];
  // 41 holds A16-4Q: 3 + 1 more; 42-44 offer A16-2Q; 45 holds L40S-12Q (mixed-size: 4 placement
  // IDs, one used); 46 and the MIG A100 are offered nothing (--type names no type of theirs).
  REQUIRE(providers.size() == 5);
  CHECK(doc["root_provider_name"] == "node-1");
  const auto& p = providers[0];
  CHECK(p["name"] == "node-1_pci_0000_41_00_0");
  CHECK(p["parent_provider_name"] == "node-1");
  CHECK(p["inventories"] == json::parse(R"({"VGPU": {"total": 4, "reserved": 0, "min_unit": 1,
        "max_unit": 4, "step_size": 1, "allocation_ratio": 1.0}})"));
  CHECK(p["traits"] == json{"CUSTOM_NVIDIA_A16_4Q"});
  CHECK(p["existing_vgpus"] == 3);
  CHECK(providers[1]["inventories"]["VGPU"]["total"] == 8);
  CHECK(providers[4]["vgpu_type"] == "L40S-12Q");
  CHECK(providers[4]["inventories"]["VGPU"]["total"] == 4);
  for (const auto& rp : providers) {
    const auto& inventory = rp["inventories"].begin().value();
    CHECK(inventory["reserved"] <= inventory["total"]);
    CHECK(inventory["min_unit"] <= inventory["max_unit"]);
    CHECK(inventory["max_unit"] <= inventory["total"]);
  }
  CHECK(doc["nova_conf"]["devices"]["enabled_mdev_types"] ==
        json{"vgpu-a16-4q", "vgpu-a16-2q", "vgpu-l40s-12q"});
  CHECK(doc["nova_conf"]["mdev_vgpu-a16-2q"]["device_addresses"] ==
        json{"0000:42:00.0", "0000:43:00.0", "0000:44:00.0"});

  o.custom_resource_class = true;
  auto custom = json::parse(exported(inv, Format::placement, o));
  CHECK(custom["resource_providers"][0]["inventories"].contains("CUSTOM_VGPU_A16_4Q"));
  CHECK(custom["nova_conf"]["mdev_vgpu-a16-4q"]["mdev_class"] == "CUSTOM_VGPU_A16_4Q");
  const auto custom_file = dir.write("custom.json", custom.dump());
  vgpu::test::require_schema_valid("placement.schema.json", {file, custom_file});
  require_placement_api_valid({file, custom_file});

  o.placement_types = {"A16-3Q"};
  CHECK(export_error(inv, Format::placement, o, "--type 'A16-3Q': no GPU of this host") ==
        vgpu::Errc::invalid_argument);
}

TEST_CASE("placement: driver type ids become Nova's id traits", "[formats][placement]") {
  auto m = open_manager(R"({"gpus": [{"model": "RTX 6000 Ada", "count": 2}]})");
  create(*m, "RTX6000-Ada-4Q", 1, "0000:41:00.0");
  auto inv = inventory_of(*m);
  ExportOptions o;
  o.placement_types = {"RTX6000-Ada-1Q"};
  auto doc = json::parse(exported(inv, Format::placement, o));
  ScratchDir dir;
  const auto file = dir.write("p.json", doc.dump());
  vgpu::test::require_schema_valid("placement.schema.json", {file});
  require_placement_api_valid({file});
  CHECK(doc["resource_providers"][0]["traits"] ==
        json{"CUSTOM_NVIDIA_RTX_6000_ADA_4Q", "CUSTOM_NVIDIA_944"});
  CHECK(doc["resource_providers"][1]["mdev_type"] == "nvidia-941");
  CHECK(doc["nova_conf"]["devices"]["enabled_mdev_types"] == json{"nvidia-944", "nvidia-941"});
}
