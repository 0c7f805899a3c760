// mtuguard_bench_report: the Markdown report of a run of mtuguard_bench, from the JSON it wrote
// (--json), on standard output: `mtuguard_bench_report bench.json > report.md`.
#include <fstream>
#include <iostream>

#include "report.hpp"

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        std::cerr << "usage: mtuguard_bench_report FILE.json  (written by mtuguard_bench --json)\n";
        return 2;
    }
    try {
        std::ifstream in(argv[1]);
        if (!in)
            throw std::runtime_error(std::string("cannot read ") + argv[1]);
        std::cout << mtuguard::bench::render_markdown(nlohmann::json::parse(in));
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "mtuguard_bench_report: " << e.what() << "\n";
        return 1;
    }
}
