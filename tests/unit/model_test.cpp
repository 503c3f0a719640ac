#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "vgpu/model/gpu.hpp"
#include "vgpu/model/pci_address.hpp"
#include "vgpu/model/resolution.hpp"
#include "vgpu/model/units.hpp"
#include "vgpu/model/uuid.hpp"

using namespace vgpu;

TEST_CASE("PciAddress parses and formats canonically", "[model]") {
  auto a = PciAddress::parse("0000:65:00.0");
  REQUIRE(a);
  CHECK(a->bus() == 0x65);
  CHECK(a->to_string() == "0000:65:00.0");
  CHECK(PciAddress::parse("0000:C1:1F.7")->to_string() == "0000:c1:1f.7");
  CHECK(PciAddress::parse("41:00.0")->to_string() == "0000:41:00.0");
  CHECK(PciAddress::parse("10000:01:00.0")->to_string() == "10000:01:00.0");  // VMD domain
  CHECK(*PciAddress::parse("0000:41:00.0") < *PciAddress::parse("0000:42:00.0"));
  for (const char* bad :
       {"", "0000:65:00", "0000:65:20.0", "0000:65:00.8", "000:65:00.0", "0000:6g:00.0",
        "0000:65:00.0 ", "0000-65-00.0", "0000:65:00:0", "123456789:00:00.0", "0000::00.0"}) {
    INFO(bad);
    auto r = PciAddress::parse(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::invalid_argument);
    CHECK_THAT(r.error().message(), Catch::Contains("expected DDDD:BB:DD.F"));
  }
}

TEST_CASE("Uuid parses, formats and generates RFC 4122 v4", "[model]") {
  auto u = Uuid::parse("3B8E3A62-6A4C-4B8E-9A3E-2F1D5C7B9E01");
  REQUIRE(u);
  CHECK(u->to_string() == "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01");
  CHECK(Uuid::parse(u->to_string())->bytes() == u->bytes());
  for (const char* bad :
       {"", "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e0", "{3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01}",
        "3b8e3a626a4c4b8e9a3e2f1d5c7b9e01", "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e0g",
        "3b8e3a62+6a4c-4b8e-9a3e-2f1d5c7b9e01"}) {
    INFO(bad);
    CHECK_FALSE(Uuid::parse(bad));
  }
  std::set<Uuid> seen;
  for (int i = 0; i < 1000; ++i) {
    Uuid g = Uuid::generate();
    CHECK(g.to_string()[14] == '4');                                          // version 4
    CHECK(std::string("89ab").find(g.to_string()[19]) != std::string::npos);  // RFC variant
    seen.insert(g);
  }
  CHECK(seen.size() == 1000);
  CHECK(Uuid{}.is_nil());
}

TEST_CASE("Bytes parse units and format humanly", "[model]") {
  CHECK(Bytes::parse("2048M")->in_mib() == 2048);
  CHECK(Bytes::parse("16G")->count() == 16ULL << 30);
  CHECK(Bytes::parse("4 GiB")->in_mib() == 4096);
  CHECK(Bytes::parse("512")->count() == 512);
  CHECK(Bytes::mib(1536).to_string() == "1536 MiB");
  CHECK(Bytes::gib(48).to_string() == "48 GiB");
  CHECK(Bytes::mib(96246).gib_slots() == 94);
  for (const char* bad : {"", "M", "12T", "-1G", "1.5G", "99999999999999999999G"}) {
    INFO(bad);
    CHECK_FALSE(Bytes::parse(bad));
  }
}

TEST_CASE("Resolution parses WIDTHxHEIGHT", "[model]") {
  auto r = Resolution::parse("5120x2880");
  REQUIRE(r);
  CHECK(r->pixels() == 5120ULL * 2880);
  CHECK(r->to_string() == "5120x2880");
  CHECK(Resolution::parse("1280X1024")->width() == 1280);
  CHECK(r->covers(Resolution(3840, 2400)));
  CHECK_FALSE(Resolution(1280, 1024).covers(Resolution(1920, 1080)));
  for (const char* bad :
       {"", "5120", "5120x", "x2880", "0x10", "70000x10", "5120x2880x1", "5120*2880"}) {
    INFO(bad);
    CHECK_FALSE(Resolution::parse(bad));
  }
}

TEST_CASE("Series, architectures and modes round-trip", "[model]") {
  for (const char* s : {"Q", "B", "A", "C"})
    CHECK(to_string(*parse_series(s)) == s);
  CHECK_FALSE(parse_series("X"));
  CHECK_FALSE(parse_series("QQ"));
  CHECK(parse_architecture("ada").value() == Architecture::ada);
  CHECK_FALSE(parse_architecture("Ada"));
  for (const char* m : {"equal", "mixed", "mig"})
    CHECK(to_string(*parse_gpu_mode(m)) == m);
  CHECK(parse_gpu_mode("mixed-size").value() == GpuMode::mixed_size);
  CHECK_FALSE(parse_gpu_mode("heterogeneous"));
}

TEST_CASE("Result carries a value or an error", "[model]") {
  Result<int> ok = 3;
  REQUIRE(ok);
  CHECK(*ok == 3);
  Result<int> bad = fail(Errc::no_capacity, "full", 28);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == Errc::no_capacity);
  CHECK(bad.error().os_errno() == 28);
  CHECK(bad.error().with_context("GPU 0").message() == "GPU 0: full");
  CHECK(to_string(Errc::version_mismatch) == "version_mismatch");
  Result<void> done;
  CHECK(done);
  // Dereferencing a temporary moves the value out, so range-for over it cannot dangle.
  auto make = [] { return Result<std::vector<std::string>>(std::vector<std::string>{"a", "b"}); };
  std::string joined;
  for (const auto& s : *make())
    joined += s;
  CHECK(joined == "ab");
}
