// mtuguard_bench: what the enforcement program costs per packet on each verdict path, measured
// with BPF_PROG_TEST_RUN against an empty XDP program (xdp_pass) loaded in the same run.
// bench/run builds it, runs it and puts its report into docs/benchmarks.md: the figures as JSON
// (--json), the Markdown rendered from them (--markdown, or mtuguard_bench_report from the JSON).
// measure.hpp says how a path is timed; the report's "Method" section (report.cpp) says the rest.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench.hpp"
#include "report.hpp"

using namespace mtuguard::bench;
namespace po = boost::program_options;

namespace {

void write_file(const std::string &path, const std::string &text)
{
    std::ofstream file(path);
    file << text;
    if (!file)
        fail("writing " + path);
}

int run(const Options &options)
{
    // 1. One CPU for everything: per-CPU state stays warm and the counters land in one place.
    const int cpu = pin(options.cpu);
    // 2. The programs, every instance filled and read back.
    auto instances = load_instances(options);
    // 3. The frames and the paths they take.
    auto paths = make_paths(*instances, options);
    auto bench = make_bench(options, cpu, *instances, *paths);
    // 4. Every path once, output kept: the right verdict, and for ICMP the right error frame;
    //    the ICMP paths and the MSS clamp behind the restore, the same.
    check_paths(*bench);
    check_warm(*bench);
    // The paths with a different session every packet, once over the sessions their rounds
    // visit, untimed and checked.
    warm_up_varied(*bench);
    // 5. The caveat, shown rather than assumed.
    show_repeat_caveat(*bench);
    // 6. The rounds.
    for (int round = 0; round < options.rounds; ++round)
        measure_round(*bench, round);
    // 7. The figures, and the report from them.
    const nlohmann::json figures = results(*bench);
    if (!options.plot_data.empty())
        write_file(options.plot_data, plot_data(figures));
    if (!options.json.empty())
        write_file(options.json, figures.dump(1) + "\n");
    const std::string markdown = render_markdown(figures);
    std::cout << markdown;
    if (!options.markdown.empty())
        write_file(options.markdown, markdown);
    return 0;
}

// "1000,100000": ascending counts, each at least 2.
bool parse_counts(const std::string &text, std::vector<uint32_t> &out)
{
    out.clear();
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            size_t used = 0;
            unsigned long n = std::stoul(item, &used);
            if (used != item.size() || n < 2 || n > 16'000'000 || (!out.empty() && n <= out.back()))
                return false;
            out.push_back(n);
        } catch (const std::exception &) {
            return false;
        }
    }
    return !out.empty();
}

} // namespace

int main(int argc, char **argv)
{
    Options options;
    std::string session_text = "1000,100000,1000000";
    po::options_description desc("mtuguard_bench: ns per packet of each mtuguard verdict path, "
                                 "against an empty XDP program (needs root)");
    desc.add_options()("help,h", "show this help")("rounds", po::value(&options.rounds)->default_value(options.rounds),
                                                   "rounds; figures are medians over them")(
        "repeat", po::value(&options.repeat)->default_value(options.repeat), "repeat per syscall, repeat method")(
        "samples", po::value(&options.samples)->default_value(options.samples),
        "syscall pairs per path and round, difference method")(
        "sessions", po::value(&session_text)->default_value(session_text),
        "sessions of each family in the big instances, comma-separated, ascending")(
        "cpu", po::value(&options.cpu), "CPU to pin to (default: the last one allowed)")(
        "plot-data", po::value(&options.plot_data),
        "write ns/packet against the number of sessions to this file (gnuplot data)")(
        "json", po::value(&options.json),
        "write every figure, per round, to this file as JSON (mtuguard_bench_report renders it)")(
        "markdown", po::value(&options.markdown), "also write the Markdown report to this file");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << desc
                      << "\nExamples:\n  sudo mtuguard_bench --rounds 11 --markdown report.md\n"
                         "  sudo mtuguard_bench --rounds 3 --json bench.json >/dev/null && "
                         "mtuguard_bench_report bench.json\n";
            return 0;
        }
        if (options.rounds < 1 || options.repeat < 2 || options.samples < 100 ||
            !parse_counts(session_text, options.sessions))
            throw po::error("need --rounds >= 1, --repeat >= 2, --samples >= 100, "
                            "--sessions N[,N...] ascending, each >= 2");
    } catch (const po::error &e) {
        std::cerr << "mtuguard_bench: " << e.what() << "\n";
        return 2;
    }
    try {
        return run(options);
    } catch (const std::exception &e) {
        std::cerr << "mtuguard_bench: FAILED: " << e.what() << "\n";
        return 1;
    }
}
