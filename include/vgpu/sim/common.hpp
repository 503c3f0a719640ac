/// @file
/// @brief Pieces the placement simulations share: a portable seeded random source, summary
/// statistics over seeds, deterministic vGPU UUIDs and a parallel runner.
///
/// Everything here is deterministic by seed and independent of the standard library's
/// distribution implementations, so a simulation gives the same numbers with libstdc++ and
/// libc++ and with any number of threads.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/model/uuid.hpp"
#include "vgpu/placement/policy.hpp"

namespace vgpu::sim {

/// A seeded random source with portable draws (std::mt19937_64 is fully specified; the
/// draws below do not use the implementation-defined std:: distributions).
class Random {
 public:
  /// A source seeded with @p seed.
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform in [0, @p n) without modulo bias; 0 when @p n is 0.
  std::uint64_t index(std::uint64_t n) {
    if (n == 0) return 0;
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x = engine_();
    while (x >= limit)
      x = engine_();
    return x % n;
  }
  /// Exponentially distributed with mean @p mean.
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  /// The next raw 64-bit draw.
  std::uint64_t next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

/// Mean, sample standard deviation, minimum and maximum of a set of values (one per seed).
struct Summary {
  double mean = 0;    ///< Arithmetic mean (0 for no values).
  double stddev = 0;  ///< Sample standard deviation (n - 1 in the denominator; 0 for n < 2).
  double min = 0;     ///< Smallest value.
  double max = 0;     ///< Largest value.
  std::size_t n = 0;  ///< Number of values.
};

/// The Summary of @p values.
inline Summary summarize(const std::vector<double>& values) {
  Summary s;
  s.n = values.size();
  if (values.empty()) return s;
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  double sum = 0;
  for (double v : values)
    sum += v;
  s.mean = sum / static_cast<double>(values.size());
  if (values.size() > 1) {
    double sq = 0;
    for (double v : values)
      sq += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(sq / static_cast<double>(values.size() - 1));
  }
  return s;
}

/// UUID number @p n of a simulation: deterministic, distinct for distinct @p n, and never
/// one of the engine's own probe UUIDs.
inline Uuid simulation_uuid(std::uint64_t n) {
  std::array<std::uint8_t, 16> b{0x5e, 0x51, 0x4d, 0x00, 0x00, 0x00, 0x40, 0x00, 0x80};
  for (int i = 0; i < 7; ++i)
    b[static_cast<std::size_t>(15 - i)] = static_cast<std::uint8_t>(n >> (8 * i));
  return Uuid{b};
}

/// Runs @p job(i) for i in [0, @p count) on @p threads threads (0: the hardware's count), and
/// calls @p progress(done, count) after each job, one call at a time. Jobs must not share
/// mutable state. The first exception a job throws is rethrown after all threads stop.
inline void run_parallel(std::size_t count, unsigned threads,
                         const std::function<void(std::size_t)>& job,
                         const std::function<void(std::size_t, std::size_t)>& progress = {}) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, count)));
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex lock;
  std::exception_ptr failure;
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= count) return;
      try {
        job(i);
      } catch (...) {
        const std::lock_guard<std::mutex> guard(lock);
        if (!failure) failure = std::current_exception();
        next = count;
        return;
      }
      const std::lock_guard<std::mutex> guard(lock);
      ++done;
      if (progress) progress(done, count);
    }
  };
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back(worker);
    for (auto& t : pool)
      t.join();
  }
  if (failure) std::rethrow_exception(failure);
}

/// The policies a simulation runs: @p chosen, or every built-in one when empty. Fails on the
/// first unknown name.
inline Result<std::vector<std::string>> policies_to_run(const std::vector<std::string>& chosen) {
  std::vector<std::string> out = chosen;
  if (out.empty())
    for (auto n : policy_names())
      out.emplace_back(n);
  for (const auto& p : out)
    if (auto ok = make_policy(p); !ok) return ok.error();
  return out;
}

/// Runs @p job(i) -> Result<Run> for i in [0, @p count) with run_parallel() and returns the
/// runs in index order, or the error of the first run that failed. @p wall_seconds receives
/// the elapsed time.
template <typename Run, typename Job>
Result<std::vector<Run>> run_all(std::size_t count, unsigned threads, Job&& job,
                                 const std::function<void(std::size_t, std::size_t)>& progress,
                                 double& wall_seconds) {
  std::vector<std::optional<Result<Run>>> results(count);
  const auto started = std::chrono::steady_clock::now();
  run_parallel(
      count, threads, [&](std::size_t i) { results[i] = job(i); }, progress);
  wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<Run> runs;
  for (auto& r : results) {
    if (!*r) return r->error();
    runs.push_back(std::move(**r));
  }
  return runs;
}

/// The Summary of @p value(run) over the @p n runs starting at @p first (one row's seeds).
template <typename Run, typename Value>
Summary summarize_by(const std::vector<Run>& runs, std::size_t first, std::size_t n,
                     Value&& value) {
  std::vector<double> values;
  for (std::size_t i = first; i < first + n; ++i)
    values.push_back(static_cast<double>(value(runs[i])));
  return summarize(values);
}

}  // namespace vgpu::sim
