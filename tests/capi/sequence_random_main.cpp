// Runs the C ABI's API-sequence fuzz target (tests/fuzz/capi_sequence.cpp) on pseudo-random
// programs from fixed seeds, so the normal test suite exercises it without libFuzzer; the fuzz
// preset drives the same target with libFuzzer's coverage guidance.
//   vgpu_capi_sequence [PROGRAMS] [SEED]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  const long programs = argc > 1 ? std::atol(argv[1]) : 300;
  const unsigned seed = argc > 2 ? static_cast<unsigned>(std::atol(argv[2])) : 1;
  std::mt19937 rng(seed);
  std::size_t bytes = 0;
  for (long i = 0; i < programs; ++i) {
    std::vector<std::uint8_t> program(rng() % 512);
    for (auto& b : program)
      b = static_cast<std::uint8_t>(rng());
    bytes += program.size();
    LLVMFuzzerTestOneInput(program.data(), program.size());
  }
  std::printf("%ld programs (%zu bytes) from seed %u: every invariant held\n", programs, bytes,
              seed);
  return 0;
}
