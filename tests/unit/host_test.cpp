// Host descriptions: parsing, automatic addresses, the rules existing vGPUs must obey, saving.
#include <sys/stat.h>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"

using namespace vgpu;

TEST_CASE("Host descriptions number GPUs and keep explicit addresses", "[host]") {
  auto host = parse_host_description(R"({"gpus": [{"model": "A16", "count": 4},
      {"model": "L40S", "count": 2, "mode": "mixed"},
      {"model": "NVIDIA A100 PCIe 80GB", "mode": "mig", "address": "0000:42:00.0", "numa_node": 1}]})",
                                     "host.json", builtin_catalog());
  REQUIRE(host);
  REQUIRE(host->gpus.size() == 7);
  std::vector<std::string> addresses;
  for (const auto& g : host->gpus)
    addresses.push_back(g.address.to_string());
  // 0000:42:00.0 is taken explicitly, so automatic numbering skips it.
  CHECK(addresses == std::vector<std::string>{"0000:41:00.0", "0000:42:00.0", "0000:43:00.0",
                                              "0000:44:00.0", "0000:45:00.0", "0000:46:00.0",
                                              "0000:47:00.0"});
  CHECK(host->gpus[1].mode == GpuMode::mig);
  CHECK(host->gpus[1].numa_node == 1u);
  CHECK(host->gpus[5].mode == GpuMode::mixed_size);
  CHECK(host->gpus[5].model->name == "NVIDIA L40S");
}

TEST_CASE("The built-in host needs no file", "[host]") {
  HostDescription host = default_host(builtin_catalog()).value();
  REQUIRE(host.gpus.size() == 7);
  CHECK(host.gpus.front().model->name == "NVIDIA A16");
  CHECK(host.gpus.back().mode == GpuMode::mig);
  CHECK(host.vgpus.empty());
}

TEST_CASE("Existing vGPUs in a host description obey the hardware rules", "[host]") {
  const std::string gpus = R"({"gpus": [{"model": "A16", "address": "0000:41:00.0"}], "vgpus": [)";
  auto ok = parse_host_description(gpus + R"(
      {"uuid": "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01", "type": "A16-2Q", "gpu": "0000:41:00.0",
       "placement": 2, "owner": "vm-1", "created_at": "2026-11-25T17:21:00Z"},
      {"uuid": "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e02", "type": "NVIDIA A16-2Q", "gpu": "41:00.0"}]})",
                                   "host.json", builtin_catalog());
  REQUIRE(ok);
  REQUIRE(ok->vgpus.size() == 2);
  CHECK(ok->vgpus[0].placement == 2);
  CHECK(ok->vgpus[0].owner == "vm-1");
  CHECK(ok->vgpus[1].placement == 0);  // first free
  CHECK(ok->vgpus[1].type_name == "A16-2Q");
  // Saving and parsing again gives the same host.
  auto again = parse_host_description(to_json(*ok), "saved", builtin_catalog());
  REQUIRE(again);
  CHECK(to_json(*again) == to_json(*ok));
  CHECK(again->vgpus[0].created_at == ok->vgpus[0].created_at);
}

namespace {
struct BadHost {
  std::string name, text, message;
  Errc code = Errc::invalid_argument;
};
}  // namespace

TEST_CASE("Malformed host descriptions are refused with precise messages", "[host][errors]") {
  const std::string a16 = R"({"gpus": [{"model": "A16", "address": "0000:41:00.0"}], "vgpus": [)";
  const std::string u1 = R"("uuid": "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01")";
  const std::string u2 = R"("uuid": "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e02")";
  const std::vector<BadHost> cases = {
      {"unknown model", R"({"gpus": [{"model": "A17"}]})",
       "gpus[0].model: unknown GPU model 'A17'; known models: A10, A100 HGX 80GB"},
      {"bad mode", R"({"gpus": [{"model": "A16", "mode": "mixd"}]})",
       "gpus[0].mode: invalid GPU mode 'mixd': expected equal, mixed or mig"},
      {"mode the model lacks", R"({"gpus": [{"model": "T4", "mode": "mixed"}]})",
       "gpus[0].mode: Tesla T4 does not support mixed-size mode; use equal"},
      {"MIG on a non-MIG GPU", R"({"gpus": [{"model": "L40S", "mode": "mig"}]})",
       "gpus[0].mode: NVIDIA L40S does not support MIG; use equal or mixed"},
      {"zero count", R"({"gpus": [{"model": "A16", "count": 0}]})",
       "gpus[0].count: must be at least 1"},
      {"address with a count",
       R"({"gpus": [{"model": "A16", "count": 2, "address": "0000:41:00.0"}]})",
       "gpus[0].address: give an address only with count 1 (leave it out and GPUs are numbered "
       "automatically)"},
      {"bad address", R"({"gpus": [{"model": "A16", "address": "0000:41:00"}]})",
       "gpus[0].address: invalid PCI address '0000:41:00': bus, device and function must read "
       "BB:DD.F "
       "(expected DDDD:BB:DD.F, e.g. 0000:65:00.0)"},
      {"duplicate address",
       R"({"gpus": [{"model": "A16", "address": "0000:41:00.0"}, {"model": "L4", "address": "41:00.0"}]})",
       "gpus[1].address: 0000:41:00.0 is already used by gpus[0]", Errc::conflict},
      {"no GPUs", R"({"gpus": []})", "gpus: must list at least one GPU"},
      {"misspelt key", R"({"gpus": [{"modle": "A16"}]})",
       "gpus[0].modle: unknown key; expected one of: model, count, mode, address, numa_node"},
      {"vGPU on an unknown GPU", a16 + "{" + u1 + R"(, "type": "A16-2Q", "gpu": "0000:42:00.0"}]})",
       "vgpus[0].gpu: 0000:42:00.0 is not one of the GPUs listed under \"gpus\""},
      {"vGPUs breaking the equal-size rule",
       a16 + "{" + u1 + R"(, "type": "A16-2Q", "gpu": "0000:41:00.0"}, {)" + u2 +
           R"(, "type": "A16-4Q", "gpu": "0000:41:00.0"}]})",
       "vgpus[1]: GPU 0000:41:00.0 holds A16-2Q vGPUs (equal-size mode); A16-4Q cannot join",
       Errc::no_capacity},
      {"duplicate uuid",
       a16 + "{" + u1 + R"(, "type": "A16-2Q", "gpu": "0000:41:00.0"}, {)" + u1 +
           R"(, "type": "A16-2Q", "gpu": "0000:41:00.0"}]})",
       "vgpus[1].uuid: is also the uuid of vgpus[0]", Errc::conflict},
      {"bad uuid", a16 + R"({"uuid": "nope", "type": "A16-2Q", "gpu": "0000:41:00.0"}]})",
       "vgpus[0].uuid: invalid UUID 'nope': it must be 36 characters long (expected 8-4-4-4-12 hex "
       "digits, e.g. 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01)"},
      {"bad placement",
       a16 + "{" + u1 + R"(, "type": "A16-2Q", "gpu": "0000:41:00.0", "placement": 3}]})",
       "vgpus[0]: placement 3 is not allowed for A16-2Q in equal-size mode on GPU 0000:41:00.0; "
       "allowed: 0 2 4 6 8 10 12 14"},
      {"bad time",
       a16 + "{" + u1 +
           R"(, "type": "A16-2Q", "gpu": "0000:41:00.0", "created_at": "yesterday"}]})",
       "vgpus[0].created_at: must be a UTC time from 1970 to 2200 such as "
       "\"2026-11-25T17:21:00Z\""},
      {"impossible date",
       a16 + "{" + u1 +
           R"(, "type": "A16-2Q", "gpu": "0000:41:00.0", "created_at": "2026-02-31T01:02:03Z"}]})",
       "vgpus[0].created_at: must be a UTC time from 1970 to 2200 such as "
       "\"2026-11-25T17:21:00Z\""},
      {"year outside the clock's range (a fuzzing finding: signed overflow)",
       a16 + "{" + u1 +
           R"(, "type": "A16-2Q", "gpu": "0000:41:00.0", "created_at": "0550-01-31T00:00:00Z"}]})",
       "vgpus[0].created_at: must be a UTC time from 1970 to 2200 such as "
       "\"2026-11-25T17:21:00Z\""},
      {"type of another model", a16 + "{" + u1 + R"(, "type": "L4-2Q", "gpu": "0000:41:00.0"}]})",
       "vgpus[0]: GPU 0000:41:00.0 (NVIDIA A16) does not support L4-2Q", Errc::not_supported},
      {"truncated", R"({"gpus": [{"model": "A16"})",
       "not valid JSON: parse error at line 1, column 27: syntax error while parsing array - "
       "unexpected end of input; expected ']'"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto r = parse_host_description(c.text, "host.json", builtin_catalog());
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message(), Catch::StartsWith("host.json: " + c.message));
      CHECK(r.error().code() == c.code);
    }
  }
}

TEST_CASE("Host files save atomically and load back", "[host]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "vgpu-host-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  HostDescription host = default_host(builtin_catalog()).value();
  VgpuInstance v{Uuid::generate(), "A16-4Q", host.gpus.front().address, 4, "vm-7", {}, {}};
  host.vgpus.push_back(v);
  REQUIRE(save_host_description(host, dir / "host.json"));
  auto loaded = load_host_description(dir / "host.json", builtin_catalog());
  REQUIRE(loaded);
  CHECK(loaded->vgpus.at(0).uuid == v.uuid);
  CHECK(loaded->vgpus.at(0).placement == 4);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);  // no temp left
  auto missing = load_host_description(dir / "missing.json", builtin_catalog());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == Errc::not_found);
  CHECK(missing.error().os_errno() == ENOENT);
  // A failed save leaves the old file untouched.
  fs::create_directories(dir / "ro");
  REQUIRE(save_host_description(host, dir / "ro" / "host.json"));
  if (::geteuid() != 0) {  // root ignores directory permissions
    fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_FALSE(save_host_description(HostDescription{}, dir / "ro" / "host.json"));
    fs::permissions(dir / "ro", fs::perms::owner_all);
  }
  CHECK(load_host_description(dir / "ro" / "host.json", builtin_catalog()));
  // Saving through a symlink replaces the file it points to and keeps the link.
  fs::create_symlink(dir / "host.json", dir / "link.json");
  host.vgpus.clear();
  REQUIRE(save_host_description(host, dir / "link.json"));
  CHECK(fs::is_symlink(dir / "link.json"));
  CHECK(load_host_description(dir / "host.json", builtin_catalog())->vgpus.empty());
  fs::remove_all(dir);
}
