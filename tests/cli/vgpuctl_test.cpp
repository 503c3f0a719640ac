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
  CHECK(per_gpu["0000:41:00.0"] ==
        4);  // the default policy packs: fill the first A16 GPU (4x 4 GiB)
  CHECK(per_gpu["0000:42:00.0"] == 2);
  CHECK(per_gpu["0000:45:00.0"] == 3);
  CHECK(created[10]["placement"] == 4);  // second 3g.40gb GPU instance starts at slice 4
  auto human = vgpuctl("create --type A16-2Q --count 2 --owner vm-9");
  CHECK(human.code == 0);
  CHECK_THAT(human.out, Catch::Contains("created 2 vGPU(s)") && Catch::Contains("1xA16-2Q"));
}

TEST_CASE("vgpuctl types shows the catalog and what is creatable", "[cli]") {
  auto r = vgpuctl("types --gpu 0000:45:00.0 --creatable");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("L40S-4Q") && Catch::Contains("0 8 12 20 24 32 36 44"));
  auto all = vgpuctl("--json types --all");
  REQUIRE(all.code == 0);
  CHECK(nlohmann::json::parse(all.out).size() == 353);
}

TEST_CASE("vgpuctl keeps a simulated host's state in its file and ledger", "[cli]") {
  namespace fs = std::filesystem;
  const fs::path host =
      fs::temp_directory_path() / ("vgpuctl-host-" + std::to_string(::getpid()) + ".json");
  std::ofstream(host) << R"({"gpus": [{"model": "L4", "count": 2}]})";
  auto made = vgpuctl("--host " + host.string() +
                      " --json create --type L4-12Q --uuid 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01");
  REQUIRE(made.code == 0);
  auto list = vgpuctl("--host " + host.string() + " list");
  CHECK_THAT(list.out, Catch::Contains("3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01  L4-12Q"));
  CHECK_THAT(list.out, Catch::Contains("active"));
  CHECK(fs::exists(host.string() + ".ledger"));
  auto full = vgpuctl("--host " + host.string() + " create --type L4-24Q --count 2");
  CHECK(full.code == 1);  // all-or-nothing: the second L4-24Q has no room
  CHECK_THAT(full.err, Catch::Contains("request 2 of 2 (L4-24Q)") &&
                           Catch::Contains("destroyed again") &&
                           Catch::Contains("no room for 1 x L4-24Q"));
  CHECK(vgpuctl("--host " + host.string() + " --json list").out.find("L4-24Q") ==
        std::string::npos);
  auto gone = vgpuctl("--host " + host.string() + " destroy 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01");
  CHECK(gone.code == 0);
  CHECK_THAT(vgpuctl("--host " + host.string() + " list").out, Catch::Contains("no vGPUs"));
  // Owners are free text; bytes that are not UTF-8 must not break JSON output or saving.
  auto odd = vgpuctl("--host " + host.string() + " --json create --type L4-4Q --owner $'vm\\xff'");
  CHECK(odd.code == 0);
  CHECK_THAT(vgpuctl("--host " + host.string() + " list").out, Catch::Contains("L4-4Q"));
  for (const char* suffix : {"", ".lock", ".ledger"})
    fs::remove(host.string() + suffix);
}

TEST_CASE("vgpuctl names bad input on stderr with documented exit codes", "[cli]") {
  struct Case {
    std::string args, message;
    int code;
  };
  const std::vector<Case> cases = {
      {"create --type A16-3Q",
       "vgpuctl: error: --type: unknown vGPU type 'A16-3Q'; types of that model:", 1},
      {"create --type A16-16Q --count 5", "no room for 1 x A16-16Q", 1},
      {"create --type A16-2Q --gpu 0000:41:00", "vgpuctl: error: --gpu: invalid PCI address", 2},
      {"create --type A16-2Q --uuid xyz", "vgpuctl: error: --uuid: invalid UUID 'xyz'", 2},
      {"create --type A16-2Q --count 2 --uuid 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01",
       "--uuid and --placement name one vGPU", 2},
      {"create --type A16-2Q --type A16-4Q --count 1 --count 2 --count 3",
       "--count was given 3 times", 2},
      {"create --type L40S-4Q --placement 40", "placement 40 is not allowed for L40S-4Q", 2},
      {"--ledger /tmp/vgpuctl-unused-ledger list",
       "the built-in simulated host lasts as long as this process", 2},
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

namespace {

// A temporary file that is removed when the test ends.
struct TempFile {
  std::filesystem::path path;
  TempFile(const std::string& name, const std::string& text)
      : path(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    std::ofstream(path) << text;
  }
  // A simulated host file gets a lock file, a ledger and definitions next to it.
  ~TempFile() {
    for (const char* suffix : {"", ".lock", ".ledger", ".ledger.definitions.json"})
      std::filesystem::remove(path.string() + suffix);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace

TEST_CASE("vgpuctl explain says why each GPU is or is not eligible", "[cli]") {
  TempFile host("vgpuctl-explain-host",
                R"({"gpus": [{"model": "A16", "count": 2}],
                    "vgpus": [{"uuid": "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01", "type": "A16-2Q",
                               "gpu": "0000:41:00.0", "placement": 0}]})");
  auto r = vgpuctl("--host " + host.path.string() + " explain --type A16-4Q");
  CHECK(r.code == 0);
  CHECK_THAT(r.out,
             Catch::Contains("decision: A16-4Q on GPU 0000:42:00.0 at placement 0") &&
                 Catch::Contains("holds A16-2Q vGPUs (equal-size mode); A16-4Q cannot join"));
  auto j = vgpuctl("--host " + host.path.string() + " --json explain --type A16-2Q");
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["decision"][0]["gpu"] == "0000:41:00.0");  // packs onto the GPU holding 2Q
  CHECK(doc["gpus"].size() == 2);
  auto spread = vgpuctl("--host " + host.path.string() +
                        " --policy breadth-first --json explain "
                        "--type A16-2Q");
  CHECK(nlohmann::json::parse(spread.out)["decision"][0]["gpu"] == "0000:42:00.0");
  auto refused =
      vgpuctl("--host " + host.path.string() + " explain --type A16-16Q --deny-gpu 0000:42:00.0");
  CHECK(refused.code == 1);
  CHECK_THAT(refused.out, Catch::Contains("decision: refused") && Catch::Contains("denied"));
  auto need =
      vgpuctl("--host " + host.path.string() + " --json explain --min-framebuffer 3GiB --series Q");
  CHECK(nlohmann::json::parse(need.out)["decision"][0]["type"] == "A16-4Q");
}

TEST_CASE("vgpuctl plan places a batch, largest first, and commits only when asked", "[cli]") {
  TempFile host("vgpuctl-plan-host", R"({"gpus": [{"model": "A16", "count": 3}]})");
  TempFile plan("vgpuctl-plan.json", R"({"requests": [
      {"type": "A16-2Q", "count": 2, "owner": "vm-1"},
      {"type": "A16-16Q"},
      {"type": "A16-8Q", "count": 2, "owner": "vm-2"}]})");
  const std::string base = "--host " + host.path.string() + " ";
  auto r = vgpuctl(base + "--json plan " + plan.path.string());
  CHECK(r.code == 1);  // one request does not fit
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["placed"] == 2);
  CHECK(doc["refused"] == 1);
  CHECK(doc["committed"] == false);
  // Largest first: 16Q and the two 8Q take the three GPUs; the VM's two 2Q (each on its own
  // GPU) no longer fit.
  CHECK(doc["requests"][1]["vgpus"][0]["type"] == "A16-16Q");
  CHECK(doc["requests"][2]["vgpus"].size() == 2);
  CHECK_THAT(doc["requests"][0]["error"].get<std::string>(),
             Catch::Contains("no room for 2 x A16-2Q on one host"));
  CHECK_THAT(vgpuctl(base + "list").out, Catch::Contains("no vGPUs"));  // plan only
  auto human = vgpuctl(base + "plan --in-order " + plan.path.string());
  CHECK_THAT(human.out, Catch::Contains("in file order") && Catch::Contains("refused"));
  auto done = vgpuctl(base + "plan --commit " + plan.path.string());
  CHECK(done.code == 1);
  CHECK_THAT(done.out, Catch::Contains("created 3 vGPU(s)"));
  CHECK_THAT(vgpuctl(base + "list").out, Catch::Contains("A16-16Q") && Catch::Contains("vm-2"));

  TempFile typo("vgpuctl-plan-typo.json", R"([{"type": "A16-2Q", "cuont": 2}])");
  auto bad = vgpuctl(base + "plan " + typo.path.string());
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("[0].cuont: unknown key"));
  TempFile both("vgpuctl-plan-both.json", R"([{"type": "A16-2Q", "min_framebuffer": "2GiB"}])");
  CHECK_THAT(vgpuctl(base + "plan " + both.path.string()).err,
             Catch::Contains("give either a type or requirements"));
  CHECK(vgpuctl(base + "plan /nonexistent/plan.json").code == 2);
}

TEST_CASE("vgpuctl defrag --plan frees GPUs without moving anything", "[cli]") {
  TempFile host("vgpuctl-defrag-host",
                R"({"gpus": [{"model": "A16", "count": 3}],
                    "vgpus": [{"uuid": "00000000-0000-4000-8000-000000000001", "type": "A16-2Q",
                               "gpu": "0000:41:00.0", "placement": 0},
                              {"uuid": "00000000-0000-4000-8000-000000000002", "type": "A16-2Q",
                               "gpu": "0000:42:00.0", "placement": 0},
                              {"uuid": "00000000-0000-4000-8000-000000000003", "type": "A16-4Q",
                               "gpu": "0000:43:00.0", "placement": 0}]})");
  const std::string base = "--host " + host.path.string() + " ";
  auto r = vgpuctl(base + "--json defrag --plan");
  REQUIRE(r.code == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["moves"].size() == 1);
  CHECK(doc["gpus_freed"] == 1);
  auto room = vgpuctl(base + "defrag --plan --for-type A16-16Q");
  CHECK(room.code == 0);
  CHECK_THAT(room.out, Catch::Contains("make room for A16-16Q"));
  CHECK(vgpuctl(base + "defrag").code == 2);
  CHECK(vgpuctl(base + "defrag --plan --budget 0").code == 2);
  auto none = vgpuctl(base + "defrag --plan --budget 1 --for-type L4-24Q");
  CHECK(none.code == 1);
  CHECK_THAT(none.err, Catch::Contains("no plan of at most 1 migrations"));
}

TEST_CASE("vgpuctl refuses an unknown policy instead of falling back", "[cli]") {
  auto r = vgpuctl("--policy spreed gpus");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown placement policy 'spreed'") &&
                        Catch::Contains("breadth-first"));
}

TEST_CASE("vgpuctl simulate replays a trace and runs the churn benchmark", "[cli]") {
  TempFile nodes("vgpuctl-sim-nodes.csv",
                 "sn,cpu_milli,memory_mib,gpu,model\n"
                 "n0,64000,262144,2,T4\n"
                 "n1,64000,262144,4,V100M32\n");
  TempFile pods("vgpuctl-sim-pods.csv",
                "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
                "p0,1000,1024,1,500\n"
                "p1,1000,1024,1,1000\n"
                "p2,1000,1024,2,1000\n"
                "p3,1000,1024,0,0\n");
  const std::string files =
      " --trace " + pods.path.string() + " --nodes " + nodes.path.string() + " ";
  auto r = vgpuctl("--json simulate" + files + "--seeds 2 --policy best-fit,first-fit");
  REQUIRE(r.code == 0);
  auto rows = nlohmann::json::parse(r.out);
  REQUIRE(rows.size() == 8);  // 2 policies x 2 modes x 2 loads
  for (const auto& row : rows) {
    CHECK(row["seeds"] == 2);
    CHECK(row["requested_allocation"].get<double>() > 0);
    CHECK(row["committed_allocation"].get<double>() <= 1.0);
    CHECK((row["load_pct"] == 100 || row["load_pct"] == 130));
    CHECK((row["mode"] == "equal-size" || row["mode"] == "mixed-size"));
  }
  auto table = vgpuctl("simulate" + files + "--seeds 1 --mode equal-size --policy best-fit");
  CHECK(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("best-fit") && Catch::Contains("equal-size"));
  auto missing = vgpuctl("simulate --trace /nonexistent.csv --nodes " + nodes.path.string());
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent.csv"));
  CHECK(vgpuctl("simulate" + files + "--policy spreed").code == 2);
  auto churn =
      vgpuctl("--json simulate churn --seeds 1 --hours 1 --policy best-fit --mode equal-size");
  REQUIRE(churn.code == 0);
  auto crows = nlohmann::json::parse(churn.out);
  REQUIRE(crows.size() == 2);  // without and with defragmentation
  CHECK(crows[0]["policy"] == "best-fit");
}

TEST_CASE("vgpuctl apply is idempotent, rolls back on failure, and restore re-creates", "[cli]") {
  TempFile host("vgpuctl-apply-host", R"({"gpus": [{"model": "A16", "count": 2}]})");
  TempFile state("vgpuctl-apply-state.json", R"({"vgpus": [
      {"type": "A16-4Q", "count": 3, "gpu": "0000:41:00.0"},
      {"type": "A16-8Q", "uuid": "5a1e0c1e-0000-4000-8000-00000000abcd", "owner": "vm-db"}]})");
  const std::string base = "--host " + host.path.string() + " ";
  auto first = vgpuctl(base + "--json apply " + state.path.string());
  REQUIRE(first.code == 0);
  auto doc = nlohmann::json::parse(first.out);
  CHECK(doc["created"].size() == 4);
  CHECK(doc["kept"].empty());
  auto again = nlohmann::json::parse(vgpuctl(base + "--json apply " + state.path.string()).out);
  CHECK(again["created"].empty());  // twice changes nothing
  CHECK(again["kept"].size() == 4);

  // Too much for the host: nothing this run created survives, and the error says so.
  TempFile big("vgpuctl-apply-big.json", R"({"vgpus": [
      {"type": "A16-4Q", "count": 4, "gpu": "0000:41:00.0"},
      {"type": "A16-16Q", "count": 1}]})");
  auto fail = vgpuctl(base + "apply " + big.path.string());
  CHECK(fail.code == 1);
  CHECK_THAT(fail.err, Catch::Contains("vgpus[1] (A16-16Q)") && Catch::Contains("undone"));
  CHECK(nlohmann::json::parse(vgpuctl(base + "--json list").out).size() == 4);

  // A "reboot": the simulated kernel forgets every vGPU. Reconcile releases the records,
  // restore brings the same vGPUs back.
  std::ofstream(host.path) << R"({"gpus": [{"model": "A16", "count": 2}]})";
  auto rec = vgpuctl(base + "reconcile");
  CHECK(rec.code == 0);
  CHECK_THAT(rec.out + rec.err, Catch::Contains("the backend no longer has it"));
  CHECK_THAT(vgpuctl(base + "list").out, Catch::Contains("no vGPUs"));
  auto back = nlohmann::json::parse(vgpuctl(base + "--json restore").out);
  CHECK(back["created"].size() == 4);
  CHECK_THAT(
      vgpuctl(base + "list").out,
      Catch::Contains("5a1e0c1e-0000-4000-8000-00000000abcd  A16-8Q") && Catch::Contains("vm-db"));
  auto dry = vgpuctl(base + "apply --dry-run --prune " + big.path.string());
  CHECK_THAT(dry.out, Catch::Contains("dry run (nothing changed)"));
  CHECK(nlohmann::json::parse(vgpuctl(base + "--json list").out).size() == 4);
}
