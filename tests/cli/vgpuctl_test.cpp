// vgpuctl as an admin uses it: output, --json, exit codes, errors on stderr.
#include <sys/wait.h>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace {

struct Run {
  int code = -1;
  std::string out, err;
};

Run vgpuctl(const std::string& args) {
  namespace fs = std::filesystem;
  const fs::path err_file =
      fs::temp_directory_path() / ("vgpuctl-stderr-" + std::to_string(::getpid()));
  const std::string command = std::string(VGPUCTL_PATH) + " " + args + " 2>" + err_file.string();
  Run r;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  fs::remove(err_file);
  return r;
}

}  // namespace

TEST_CASE("vgpuctl gpus lists the built-in host", "[cli]") {
  auto r = vgpuctl("gpus");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("0000:41:00.0  NVIDIA A16") && Catch::Contains("mig"));
  auto j = vgpuctl("--json gpus");
  REQUIRE(j.code == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc.size() == 7);
  CHECK(doc[0]["model"] == "NVIDIA A16");
  CHECK(doc[0]["framebuffer_mib"] == 16384);
}

TEST_CASE("vgpuctl create places several requests on the simulated host", "[cli]") {
  auto r = vgpuctl(
      "--json create --type A16-4Q --count 6 --type L40S-12Q --count 3 --type A100D-3-40C --count "
      "2");
  REQUIRE(r.code == 0);
  auto created = nlohmann::json::parse(r.out)["created"];
  REQUIRE(created.size() == 11);
  std::map<std::string, int> per_gpu;
  for (const auto& v : created)
    ++per_gpu[v["gpu"].get<std::string>()];
  CHECK(per_gpu["0000:41:00.0"] == 4);  // first fit: fill the first A16 GPU (4x 4 GiB)
  CHECK(per_gpu["0000:42:00.0"] == 2);
  CHECK(per_gpu["0000:45:00.0"] == 3);
  CHECK(created[10]["placement"] == 4);  // second 3g.40gb GPU instance starts at slice 4
  auto human = vgpuctl("create --type A16-2Q --count 2 --owner vm-9");
  CHECK(human.code == 0);
  CHECK_THAT(human.out, Catch::Contains("created 2 vGPU(s)") && Catch::Contains("2xA16-2Q"));
}

TEST_CASE("vgpuctl types shows the catalog and what is creatable", "[cli]") {
  auto r = vgpuctl("types --gpu 0000:45:00.0 --creatable");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("L40S-4Q") && Catch::Contains("0 8 12 20 24 32 36 44"));
  auto all = vgpuctl("--json types --all");
  REQUIRE(all.code == 0);
  CHECK(nlohmann::json::parse(all.out).size() == 353);
}

TEST_CASE("vgpuctl keeps state in a host file with --save", "[cli]") {
  namespace fs = std::filesystem;
  const fs::path host =
      fs::temp_directory_path() / ("vgpuctl-host-" + std::to_string(::getpid()) + ".json");
  std::ofstream(host) << R"({"gpus": [{"model": "L4", "count": 2}]})";
  auto made =
      vgpuctl("--host " + host.string() +
              " --json create --type L4-12Q --uuid 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01 --save");
  REQUIRE(made.code == 0);
  auto list = vgpuctl("--host " + host.string() + " list");
  CHECK_THAT(list.out, Catch::Contains("3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01  L4-12Q"));
  auto full = vgpuctl("--host " + host.string() + " create --type L4-24Q --count 2 --save");
  CHECK(full.code == 1);  // all-or-nothing: the second L4-24Q has no room
  CHECK_THAT(full.err, Catch::Contains("request 2 of 2 (L4-24Q)") &&
                           Catch::Contains("destroyed again") &&
                           Catch::Contains("no GPU can host L4-24Q"));
  CHECK(vgpuctl("--host " + host.string() + " --json list").out.find("L4-24Q") ==
        std::string::npos);
  auto gone =
      vgpuctl("--host " + host.string() + " destroy 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01 --save");
  CHECK(gone.code == 0);
  CHECK_THAT(vgpuctl("--host " + host.string() + " list").out, Catch::Contains("no vGPUs"));
  // Owners are free text; bytes that are not UTF-8 must not break JSON output or saving.
  auto odd =
      vgpuctl("--host " + host.string() + " --json create --type L4-4Q --owner $'vm\\xff' --save");
  CHECK(odd.code == 0);
  CHECK_THAT(vgpuctl("--host " + host.string() + " list").out, Catch::Contains("L4-4Q"));
  fs::remove(host);
}

TEST_CASE("vgpuctl names bad input on stderr with documented exit codes", "[cli]") {
  struct Case {
    std::string args, message;
    int code;
  };
  const std::vector<Case> cases = {
      {"create --type A16-3Q",
       "vgpuctl: error: --type: unknown vGPU type 'A16-3Q'; types of that model:", 1},
      {"create --type A16-16Q --count 5", "no GPU can host A16-16Q", 1},
      {"create --type A16-2Q --gpu 0000:41:00", "vgpuctl: error: --gpu: invalid PCI address", 2},
      {"create --type A16-2Q --uuid xyz", "vgpuctl: error: --uuid: invalid UUID 'xyz'", 2},
      {"create --type A16-2Q --count 2 --uuid 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01",
       "--uuid and --placement name one vGPU", 2},
      {"create --type A16-2Q --type A16-4Q --count 1 --count 2 --count 3",
       "--count was given 3 times", 2},
      {"create --type L40S-4Q --placement 40", "placement 40 is not allowed for L40S-4Q", 2},
      {"create --type A16-2Q --save", "--save writes the --host file back; give --host FILE", 2},
      {"destroy 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01",
       "no vGPU 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01", 1},
      {"--host /nonexistent/host.json gpus", "cannot open host description /nonexistent/host.json",
       2},
      {"--host /tmp gpus", "/tmp is a directory; give a host description file (JSON)", 2},
      {"create --type A16-2Q --gpu 0000:99:00.0",
       "--gpu: no GPU 0000:99:00.0 on this host (`vgpuctl gpus` lists them)", 1},
      {"types --gpu 0000:99:00.0", "--gpu: no GPU 0000:99:00.0 on this host", 1},
      {"frobnicate", "", 2},
      {"--catalog /nonexistent.json gpus", "cannot open /nonexistent.json", 2},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    auto r = vgpuctl(c.args);
    CHECK(r.code == c.code);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains(c.message));
  }
  CHECK(vgpuctl("gpus --json").code == 0);  // global options may follow the command
  CHECK(vgpuctl("--help").code == 0);
  CHECK_THAT(vgpuctl("--version").out, Catch::StartsWith("vgpuctl "));
}
