// mtuguardd --config FILE: the input (after its first byte) is the file, handed over as a memfd
// through /proc/self/fd. The first byte's low bit adds `--iface fuzz0` on the command line, so
// files without an interface still reach the checks after it. Only UsageError may come out;
// what is accepted must be a configuration the daemon can start from.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace mtuguard;

namespace {

int config_fd = -1;
std::string config_path;

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    config_fd = memfd_create("mtuguard.conf", MFD_CLOEXEC);
    if (config_fd < 0) {
        std::perror("memfd_create");
        std::abort();
    }
    config_path = "/proc/self/fd/" + std::to_string(config_fd);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const bool iface_on_command_line = data[0] & 1;
    const std::string_view file = fuzz::text(data + 1, size - 1);
    if (ftruncate(config_fd, 0) != 0 || pwrite(config_fd, file.data(), file.size(), 0) != ssize_t(file.size())) {
        std::perror("writing the memfd");
        std::abort();
    }
    std::vector<const char *> argv{"mtuguardd", "--config", config_path.c_str()};
    if (iface_on_command_line) {
        argv.push_back("--iface");
        argv.push_back("fuzz0");
    }
    argv.push_back(nullptr);
    try {
        const CommandLine command_line = parse_command_line(int(argv.size() - 1), argv.data());
        if (command_line.help || command_line.version)
            return 0;
        const Config &config = command_line.config;
        FUZZ_CHECK(!config.ifaces.empty(), file);
        for (const auto &name : config.ifaces)
            FUZZ_CHECK(!name.empty() && name.size() < 16, file);
        for (const auto &spec : config.sessions)
            FUZZ_CHECK(spec.session.dtls_mtu >= MG_MIN_MTU && spec.session.tls_mtu >= MG_MIN_MTU, file);
        FUZZ_CHECK(config.max_sessions >= 1 && config.max_sessions <= 4'194'304, file);
        FUZZ_CHECK(config.pin_path.empty() || config.pin_path.front() == '/', file);
    } catch (const UsageError &) {
    }
    return 0;
}
