// What the export-format tests share: Managers on simulated hosts, a scratch directory, and
// the consumers' validators (libvirt's virt-xml-validate, the hand-written JSON schemas).
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/process.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/formats.hpp"
#include "vgpu/host.hpp"
#include "vgpu/manager.hpp"
#include "vgpu/sys/backend.hpp"

namespace vgpu::test {

namespace fs = std::filesystem;
namespace formats = vgpu::formats;

// A directory under /tmp, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/vgpu-formats-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Writes @p text to file @p name in the directory and returns its path.
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path p = dir_ / name;
    std::ofstream out(p, std::ios::binary);
    out << text;
    REQUIRE(out.good());
    return p;
  }
  [[nodiscard]] const fs::path& path() const { return dir_; }

 private:
  fs::path dir_;
};

// A Manager on a private simulated host: @p host is a host description (JSON text), empty
// for the built-in host (4x A16, 2x L40S mixed-size, 1x A100 80GB MIG).
inline std::unique_ptr<Manager> open_manager(const std::string& host = {}) {
  ManagerOptions options;
  if (!host.empty()) {
    auto described = parse_host_description(host, "test host", builtin_catalog());
    REQUIRE(described);
    auto backend = sys::make_simulated_backend(std::move(*described));
    REQUIRE(backend);
    options.backend_instance = std::move(*backend);
    options.private_ledger = true;
  }
  auto manager = Manager::open(std::move(options));
  if (!manager) FAIL(manager.error().message());
  return std::move(*manager);
}

// Creates @p count vGPUs of @p type on @p gpu ("" for anywhere).
inline std::vector<VgpuRecord> create(Manager& m, const std::string& type, std::uint32_t count,
                                      const std::string& gpu = {}) {
  Request r = Request::of(m.catalog().find_type(type).value(), count);
  r.constraints.distinct_gpus = false;
  if (!gpu.empty()) r.constraints.allowed = {m.gpu_index(*PciAddress::parse(gpu)).value()};
  std::vector<VgpuRecord> out;
  for (std::uint32_t i = 0; i < count; ++i) {
    Request one = r;
    one.count = 1;
    auto made = m.create(one);
    if (!made) FAIL(made.error().message());
    out.insert(out.end(), made->begin(), made->end());
  }
  return out;
}

inline formats::Inventory inventory_of(Manager& m) {
  formats::InventoryOptions o;
  o.node = "node-1";
  auto inv = formats::collect_inventory(m, o);
  if (!inv) FAIL(inv.error().message());
  return std::move(*inv);
}

inline std::vector<formats::Document> documents(const formats::Inventory& inv, formats::Format f,
                                                const formats::ExportOptions& o = {}) {
  auto docs = formats::export_documents(inv, f, o);
  if (!docs) FAIL(docs.error().message());
  return std::move(*docs);
}

inline std::string exported(const formats::Inventory& inv, formats::Format f,
                            const formats::ExportOptions& o = {}) {
  auto text = formats::export_inventory(inv, f, o);
  if (!text) FAIL(text.error().message());
  return std::move(*text);
}

// libvirt's own RelaxNG schemas: `virt-xml-validate FILE nodedev|domain`.
inline void require_libvirt_valid(const fs::path& file, const std::string& schema) {
  auto r = shell("virt-xml-validate " + file.string() + " " + schema);
  INFO("virt-xml-validate " << file << " " << schema << ":\n" << r.out);
  REQUIRE(r.code == 0);
}

// Runs a consumer's checker, @p command followed by @p files, and requires it to pass; its
// output goes into the failure message.
inline void require_checker_passes(std::string command, const std::vector<fs::path>& files) {
  for (const auto& f : files)
    command += " " + f.string();
  auto r = shell(command);
  INFO(command << ":\n" << r.out);
  REQUIRE(r.code == 0);
}

// tests/formats/validate.py with the hand-written schema @p schema (tests/formats/schemas);
// with @p same, the files must also hold the same documents (a YAML stream and a JSON List).
inline void require_schema_valid(const std::string& schema, const std::vector<fs::path>& files,
                                 bool same = false) {
  require_checker_passes(std::string(VGPU_PYTHON3) + " " + VGPU_FORMATS_TEST_DIR + "/validate.py " +
                             (same ? "--same " : "") + VGPU_FORMATS_TEST_DIR + "/schemas/" + schema,
                         files);
}

// OpenStack Placement's own request schemas, applied to the requests Nova makes for each
// provider of a placement export (placement_api.py).
inline void require_placement_api_valid(const std::vector<fs::path>& files) {
  INFO(
      "OpenStack Placement's schemas were not found when this build was configured: run "
      "scripts/bootstrap.sh, then configure again");
  REQUIRE(std::string(VGPU_PLACEMENT_SCHEMAS) != "");
  require_checker_passes(std::string(VGPU_PYTHON3) + " " + VGPU_FORMATS_TEST_DIR +
                             "/placement_api.py " + VGPU_PLACEMENT_SCHEMAS,
                         files);
}

// Kubernetes' own OpenAPI schema for resource.k8s.io/v1 (k8s/validate.mjs), on JSON files of
// ResourceSlices.
inline void require_k8s_openapi_valid(const std::vector<fs::path>& files) {
  INFO(
      "Node.js was not found when this build was configured: run scripts/bootstrap.sh, then "
      "configure again");
  REQUIRE(std::string(VGPU_NODE) != "");
  require_checker_passes(std::string(VGPU_NODE) + " " + VGPU_FORMATS_TEST_DIR + "/k8s/validate.mjs",
                         files);
}

}  // namespace vgpu::test

// The names the format tests use (`using namespace formats_test;` in each test file).
namespace formats_test {
using nlohmann::json;
using vgpu::formats::ExportOptions;
using vgpu::test::create;
using vgpu::test::documents;
using vgpu::test::exported;
using vgpu::test::inventory_of;
using vgpu::test::open_manager;
using vgpu::test::require_k8s_openapi_valid;
using vgpu::test::require_placement_api_valid;
using vgpu::test::ScratchDir;
using Format = vgpu::formats::Format;
}  // namespace formats_test
