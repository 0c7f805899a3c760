// mtuguard_bench's report: the Markdown of docs/benchmarks.md's per-packet sections, rendered
// from the JSON the benchmark writes (bench.hpp's results()).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mtuguard::bench {

std::string fixed(double v, int decimals = 2);
std::string render_markdown(const nlohmann::json &results);

} // namespace mtuguard::bench
