// Placement simulations: trace parsing, FGD's replay method on tiny traces, the churn
// simulation's lower bound, determinism by seed.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "vgpu/catalog_io.hpp"
#include "vgpu/sim/bound.hpp"
#include "vgpu/sim/churn.hpp"
#include "vgpu/sim/openb.hpp"

using namespace vgpu;
using namespace vgpu::sim;

namespace {

// A file in the temp directory, removed at the end of the test.
struct TempFile {
  explicit TempFile(const std::string& name, const std::string& text)
      : path((std::filesystem::temp_directory_path() /
              ("vgpu_sim_test_" + std::to_string(::getpid()) + "_" + name))
                 .string()) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path;
};

const char* pod_header =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time\n";

std::string pods(const std::vector<std::string>& rows) {
  std::string text = pod_header;
  int i = 0;
  for (const auto& r : rows)
    text += "pod-" + std::to_string(i++) + ",1000,1024," + r + ",LS,Running,0,1,0\n";
  return text;
}

OpenbOptions quick(std::vector<std::string> policies = {"best-fit"}) {
  OpenbOptions o;
  o.policies = std::move(policies);
  o.seeds = 2;
  o.threads = 1;
  return o;
}

}  // namespace

TEST_CASE("openb CSV: errors name the file and line and say what to do", "[sim]") {
  SECTION("empty file") {
    auto r = parse_openb_tasks("", "pods.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("pods.csv: the file is empty") == 0);
  }
  SECTION("header only") {
    auto r = parse_openb_tasks(pod_header, "pods.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "pods.csv: the header names the columns but there are no tasks");
  }
  SECTION("missing column") {
    auto r = parse_openb_tasks("name,cpu_milli,num_gpu\np,1,1\n", "pods.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::invalid_argument);
    CHECK(r.error().message().find("pods.csv:1: no column \"gpu_milli\" in the header "
                                   "(name,cpu_milli,num_gpu)") == 0);
  }
  SECTION("bad number, with its line") {
    auto r = parse_openb_tasks(pods({"1,470,", "1,abc,"}), "pods.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() ==
          "pods.csv:3: gpu_milli is \"abc\"; expected a whole number from 0 to 1000");
    auto big = parse_openb_tasks(pods({"1,1200,"}), "pods.csv");
    REQUIRE_FALSE(big);
    CHECK(big.error().message().find("pods.csv:2: gpu_milli is \"1200\"") == 0);
  }
  SECTION("field count") {
    auto r = parse_openb_tasks(std::string(pod_header) + "p,1,2,3\n", "pods.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("pods.csv:2: 4 fields, but the header has 11 columns") == 0);
  }
  SECTION("unclosed quote") {
    auto r = parse_openb_nodes("sn,gpu,model\n\"n1,2,T4\n", "nodes.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "nodes.csv:2: a quoted field is not closed; end it with \"");
  }
  SECTION("a GPU task without a share") {
    auto r = parse_openb_tasks(pods({"2,0,"}), "pods.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("pods.csv:2: task pod-0 asks for 2 GPU(s) with gpu_milli 0") ==
          0);
  }
  SECTION("a node with GPUs but no model") {
    auto r = parse_openb_nodes("sn,cpu_milli,memory_mib,gpu,model\nn1,1,1,2,nan\n", "nodes.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("nodes.csv:2: node n1 has 2 GPUs but no model") == 0);
  }
  SECTION("a missing file") {
    auto r = load_openb_nodes("/nonexistent/nodes.csv");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::not_found);
    CHECK(r.error().message().find("cannot open /nonexistent/nodes.csv: ") == 0);
  }
}

TEST_CASE("openb CSV: columns by name, quotes, CRLF, gpu_spec, CPU-only tasks", "[sim]") {
  auto nodes = parse_openb_nodes(
      "model,gpu,sn\r\nT4,2,\"node, one\"\r\n\r\nnan,0,cpu-node\r\nA10,1,n2\r\n", "nodes.csv");
  REQUIRE(nodes);
  REQUIRE(nodes->size() == 2);  // the node without GPUs is skipped
  CHECK((*nodes)[0].name == "node, one");
  CHECK((*nodes)[0].gpus == 2);
  CHECK((*nodes)[1].model == "A10");
  CHECK((*nodes)[1].line == 5);

  // The 5-column variant (multigpu traces) has no gpu_spec.
  auto five = parse_openb_tasks("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,8,1000\n", "x");
  REQUIRE(five);
  CHECK((*five)[0].gpu_demand() == 8);

  auto tasks = parse_openb_tasks(pods({"1,470,T4|V100M16", "0,0,", "1,1000,nan"}), "pods.csv");
  REQUIRE(tasks);
  CHECK((*tasks)[0].gpu_spec == std::vector<std::string>{"T4", "V100M16"});
  CHECK((*tasks)[0].gpu_demand() == Approx(0.47));
  CHECK((*tasks)[1].num_gpu == 0);
  CHECK((*tasks)[2].gpu_spec.empty());
}

TEST_CASE("openb mapping: every trace model maps to a catalog model with whole-GPU C types",
          "[sim]") {
  const auto& catalog = builtin_catalog();
  const std::map<std::string, std::string> expected = {{"G2", "NVIDIA A100 PCIe 40GB"},
                                                       {"G3", "NVIDIA A100 PCIe 80GB"},
                                                       {"T4", "Tesla T4"},
                                                       {"A10", "NVIDIA A10"},
                                                       {"V100M32", "Tesla V100 PCIe 32GB"},
                                                       {"V100M16", "Tesla T4"},
                                                       {"P100", "Tesla T4"}};
  REQUIRE(openb_default_mapping().size() == expected.size());
  for (const auto& m : openb_default_mapping()) {
    INFO(m.trace_model);
    auto model = catalog.find_model(m.catalog_model);
    REQUIRE(model);
    CHECK((*model)->name == expected.at(m.trace_model));
    CHECK_FALSE(m.reason.empty());
  }
  // Memory sizes the trace names are kept where the catalog allows.
  CHECK(catalog.find_model("T4").value()->framebuffer == Bytes::gib(16));

  std::string node_text = "sn,gpu,model\n";
  for (const auto& [trace, model] : expected)
    node_text += "n-" + trace + ",8," + trace + "\n";
  auto nodes = parse_openb_nodes(node_text, "nodes.csv");
  auto tasks = parse_openb_tasks(pods({"1,1000,", "1,470,", "8,1000,"}), "pods.csv");
  REQUIRE(nodes);
  REQUIRE(tasks);
  auto setup = prepare_openb(*nodes, *tasks, catalog, quick());
  REQUIRE(setup);
  CHECK(setup->gpus == 56);

  SECTION("an unmapped model says how to map it") {
    auto extra = parse_openb_nodes("sn,gpu,model\nn,8,G1\n", "nodes.csv");
    auto bad = prepare_openb(*extra, *tasks, catalog, quick());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message().find("GPU model \"G1\" has no catalog model mapped to it; map "
                                     "it (vgpuctl simulate: --map G1=MODEL") != std::string::npos);
  }
  SECTION("overrides") {
    auto o = quick();
    auto mapped =
        apply_mapping_overrides(openb_default_mapping(), {"G2 = H100 PCIe 80GB", "G1=L4"});
    REQUIRE(mapped);
    o.mapping = *mapped;
    auto extra = parse_openb_nodes("sn,gpu,model\nn,8,G1\nm,8,G2\n", "nodes.csv");
    auto ok = prepare_openb(*extra, *tasks, catalog, o);
    REQUIRE(ok);
    CHECK(ok->hosts[0].model->name == "NVIDIA L4");
    CHECK(ok->hosts[1].model->name == "NVIDIA H100 PCIe 80GB");
    CHECK_FALSE(apply_mapping_overrides(openb_default_mapping(), {"G2"}));
    o.mapping =
        *apply_mapping_overrides(openb_default_mapping(), {"G1=L4", "G2=A2"});  // no C types
    auto no_c = prepare_openb(*extra, *tasks, catalog, o);
    REQUIRE_FALSE(no_c);
    CHECK(no_c.error().message().find("has no whole-GPU C-series type") != std::string::npos);
  }
}

TEST_CASE("openb replay: whole-GPU tasks fill the cluster exactly", "[sim]") {
  // 2 hosts x 2 T4 = 4 GPUs; whole-GPU tasks: 4 fit, arrivals go on to 130% (6 tasks).
  TempFile nodes("nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,2,T4\nn1,1,1,2,T4\n");
  TempFile tasks("pods.csv", pods({"1,1000,", "0,0,"}));
  auto n = load_openb_nodes(nodes.path);
  auto t = load_openb_tasks(tasks.path);
  REQUIRE(n);
  REQUIRE(t);
  std::vector<std::string> all;
  for (auto p : policy_names())
    all.emplace_back(p);
  auto report = run_openb(*n, *t, builtin_catalog(), quick(all));
  REQUIRE(report);
  CHECK(report->gpus == 4);
  CHECK(report->gpu_tasks == 1);
  CHECK(report->cpu_only_tasks == 1);
  REQUIRE(report->rows.size() == all.size() * 2 * 2);
  for (const auto& row : report->rows) {
    INFO(row.policy << " " << describe(row.mode) << " " << row.load);
    CHECK(row.requested_allocation.mean == Approx(1.0));
    CHECK(row.committed_allocation.mean == Approx(1.0));
    CHECK(row.unallocated_gpus.mean == Approx(0.0).margin(1e-9));
    CHECK(row.arrived_tasks.mean == (row.load == 1.0 ? 4 : 6));
    CHECK(row.rejected_tasks.mean == (row.load == 1.0 ? 0 : 2));
    CHECK(row.seeds == 2);
  }
}

TEST_CASE("openb replay: shares round up to the type, and multi-GPU tasks stay on one host", "[sim]") {
  auto nodes = parse_openb_nodes("sn,gpu,model\nn0,2,T4\nn1,2,T4\n", "nodes.csv");
  REQUIRE(nodes);
  SECTION("470 milli of a T4 is a T4-8C: 8 tasks fill 4 GPUs, 94% requested") {
    auto tasks = parse_openb_tasks(pods({"1,470,"}), "pods.csv");
    auto report = run_openb(*nodes, *tasks, builtin_catalog(), quick());
    REQUIRE(report);
    const auto& at130 = report->rows[1];
    CHECK(at130.load == 1.3);
    CHECK(at130.requested_allocation.mean == Approx(8 * 0.47 / 4));
    CHECK(at130.committed_allocation.mean == Approx(1.0));
  }
  SECTION("two-GPU tasks take a host each") {
    auto tasks = parse_openb_tasks(pods({"2,1000,"}), "pods.csv");
    auto report = run_openb(*nodes, *tasks, builtin_catalog(), quick());
    REQUIRE(report);
    CHECK(report->rows[0].requested_allocation.mean == Approx(1.0));
    CHECK(report->rows[1].rejected_tasks.mean == 1);  // 3 arrive (6 GPUs >= 5.2), 2 fit
  }
  SECTION("gpu_spec keeps tasks off other models") {
    auto mixed = parse_openb_nodes("sn,gpu,model\nn0,2,T4\nn1,2,A10\n", "nodes.csv");
    auto tasks = parse_openb_tasks(pods({"1,1000,A10"}), "pods.csv");
    auto report = run_openb(*mixed, *tasks, builtin_catalog(), quick());
    REQUIRE(report);
    CHECK(report->tasks_with_spec == 1);
    CHECK(report->rows[1].requested_allocation.mean == Approx(0.5));
    auto unknown = parse_openb_tasks(pods({"1,1000,G9"}), "pods.csv");
    auto bad = run_openb(*mixed, *unknown, builtin_catalog(), quick());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message().find("gpu_spec names \"G9\"") != std::string::npos);
  }
  SECTION("a spec naming one of two trace models behind one catalog model lists GPUs") {
    // V100M16 and P100 both map to T4: a P100-only task must not use the V100M16 node.
    auto shared = parse_openb_nodes("sn,gpu,model\nn0,2,V100M16\nn1,2,P100\n", "nodes.csv");
    auto tasks = parse_openb_tasks(pods({"1,1000,P100"}), "pods.csv");
    auto report = run_openb(*shared, *tasks, builtin_catalog(), quick());
    REQUIRE(report);
    CHECK(report->rows[1].requested_allocation.mean == Approx(0.5));
  }
}

TEST_CASE("openb replay: deterministic by seed, whatever the thread count", "[sim]") {
  auto nodes = parse_openb_nodes("sn,gpu,model\na,8,G2\nb,8,G3\nc,4,T4\nd,2,A10\ne,8,V100M32\n",
                                 "nodes.csv");
  auto tasks = parse_openb_tasks(
      pods({"1,1000,", "1,470,", "1,810,", "1,320,", "1,230,", "2,1000,", "8,1000,", "1,160,"}),
      "pods.csv");
  REQUIRE(nodes);
  REQUIRE(tasks);
  auto o = quick({"fragmentation-aware", "best-fit", "random"});
  o.seeds = 3;
  auto one = run_openb(*nodes, *tasks, builtin_catalog(), o);
  o.threads = 3;
  auto three = run_openb(*nodes, *tasks, builtin_catalog(), o);
  REQUIRE(one);
  REQUIRE(three);
  REQUIRE(one->runs.size() == three->runs.size());
  for (std::size_t i = 0; i < one->runs.size(); ++i) {
    const auto& a = one->runs[i];
    const auto& b = three->runs[i];
    CHECK(a.policy == b.policy);
    CHECK(a.seed == b.seed);
    for (std::size_t p = 0; p < a.points.size(); ++p) {
      CHECK(a.points[p].requested_allocation == b.points[p].requested_allocation);
      CHECK(a.points[p].committed_allocation == b.points[p].committed_allocation);
      CHECK(a.points[p].arrived_tasks == b.points[p].arrived_tasks);
    }
  }
  // Different seeds sample different tasks.
  CHECK(one->runs[0].points[1].arrived_tasks != one->runs[1].points[1].arrived_tasks);
  CHECK(one->runs[0].seed == 42);
  CHECK(one->runs[2].seed == 44);
}

TEST_CASE("Lower bound: equal-size groups by size, C alone, mixed-size slots and maxima", "[sim]") {
  const auto& catalog = builtin_catalog();
  auto type = [&](const char* name) { return *catalog.find_type(name); };
  PlacementEngine engine(*make_policy("best-fit"));
  auto a16 = catalog.find_model("A16").value();
  auto l40s = catalog.find_model("L40S").value();
  for (std::uint8_t i = 0; i < 8; ++i)
    REQUIRE(engine.add_gpu(
        PhysicalGpu{*PciAddress::from_parts(0, i, 0, 0), a16, GpuMode::equal_size, {}, {}}));
  for (std::uint8_t i = 0; i < 4; ++i)
    REQUIRE(engine.add_gpu(PhysicalGpu{
        *PciAddress::from_parts(0, 0x80 + i, 0, 0), l40s, GpuMode::mixed_size, {}, {}}));
  auto put = [&](const char* name, std::optional<GpuIndex> gpu = std::nullopt) {
    Request r = Request::of(type(name));
    if (gpu) r.constraints.allowed = {*gpu};
    REQUIRE(engine.place(r));
  };
  CHECK(lower_bound(engine) == 0);
  // Equal-size A16: 3 x 2Q and a 2B share one size (k = 8): 1 GPU; a 4C shares with nothing:
  // 1; a 4Q: 1. Spread over 6 GPUs on purpose: the bound does not care where they are.
  put("A16-2Q", 0);
  put("A16-2Q", 1);
  put("A16-2Q", 2);
  put("A16-2B", 3);
  put("A16-4C", 4);
  put("A16-4Q", 5);
  CHECK(lower_bound(engine) == 3);
  CHECK(engine.gpus_in_use() == 6);
  // Nine 1B: ceil(9 / 16) = 1 more.
  for (int i = 0; i < 9; ++i)
    put("A16-1B", 6);
  CHECK(lower_bound(engine) == 4);
  // Mixed-size L40S (48 slots): three 16Q exceed the mixed maximum of 2 per GPU: 2 GPUs.
  put("L40S-16Q");
  put("L40S-16Q");
  put("L40S-16Q");
  CHECK(lower_bound(engine) == 6);
  // Three 24Q: 48 + 72 = 120 slots, ceil(120 / 48) = 3 (also ceil(3 / 2) = 2 by count).
  put("L40S-24Q");
  put("L40S-24Q");
  put("L40S-24Q");
  CHECK(lower_bound(engine) == 4 + 3);
  CHECK(engine.gpus_in_use() >= lower_bound(engine));

  // The incremental bound agrees as vGPUs come and go.
  LowerBound b;
  const auto& t4c = *type("A16-4C").type;
  for (int i = 0; i < 5; ++i)
    b.add(*a16, t4c, GpuMode::equal_size);
  CHECK(b.value() == 2);  // k = 4
  b.remove(*a16, t4c, GpuMode::equal_size);
  CHECK(b.value() == 1);
  CHECK(b.vgpus() == 4);
}

TEST_CASE("Churn: deterministic by seed, never below the bound, defrag migrates", "[sim]") {
  ChurnWorkload w;
  w.fleet = {{"A16", 4, 2}, {"L4", 4, 1}, {"L40S", 2, 1}};
  w.hours = 4;
  w.warmup_hours = 2;
  ChurnOptions o;
  o.policies = {"fragmentation-aware", "best-fit"};
  o.seeds = 2;
  o.threads = 2;
  auto report = run_churn(w, builtin_catalog(), o);
  REQUIRE(report);
  CHECK(report->gpus == 14);
  REQUIRE(report->rows.size() == 2 * 2 * 2);
  for (const auto& row : report->rows) {
    INFO(row.policy << " " << describe(row.mode) << " defrag " << row.defrag);
    CHECK(row.ratio.mean >= 1.0);
    CHECK(row.arrivals.mean > 50);
    CHECK(row.rejection_rate.mean < 0.5);
    CHECK((row.defrag || row.migrations.mean == 0));
  }
  o.threads = 1;
  auto again = run_churn(w, builtin_catalog(), o);
  REQUIRE(again);
  for (std::size_t i = 0; i < report->runs.size(); ++i) {
    CHECK(report->runs[i].gpus_in_use == again->runs[i].gpus_in_use);
    CHECK(report->runs[i].rejected == again->runs[i].rejected);
    CHECK(report->runs[i].migrations == again->runs[i].migrations);
  }
  bool migrated = false;
  for (const auto& r : report->runs)
    migrated = migrated || r.migrations > 0;
  CHECK(migrated);

  SECTION("bad workloads are refused with a reason") {
    ChurnWorkload bad = w;
    bad.kinds.front().type = "T4-8C";  // not in the fleet
    auto r = run_churn(bad, builtin_catalog(), o);
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("which the fleet does not have") != std::string::npos);
    bad = w;
    bad.fleet.push_back({"No Such GPU", 1, 1});
    CHECK_FALSE(run_churn(bad, builtin_catalog(), o));
  }
}
