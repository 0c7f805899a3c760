#include "kernel/pins.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "mtuguard_kern_user.h"

namespace mtuguard {

PinDirLock::PinDirLock(const std::string &dir) : fd_(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC))
{
    if (!fd_)
        fail(errno, "opening " + dir);
    if (flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            throw std::runtime_error("--pin-path " + dir + " is in use by another mtuguardd: stop it first, or give "
                                     "this one another --pin-path");
        fail(errno, "locking " + dir);
    }
}

bool exists(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

void make_dir(const std::string &path)
{
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        fail(errno, "creating " + path);
}

// Pin file names: the internal .bss map is called "mtuguar.bss"; keep names plain.
std::string pin_name(const bpf_map *map)
{
    std::string name = bpf_map__name(map);
    for (char &c : name)
        if (c == '.')
            c = '_';
    return name;
}

Fd open_pinned(const std::string &path, const char *kind, void *info, uint32_t size)
{
    Fd fd(bpf_obj_get(path.c_str()));
    if (!fd)
        fail(errno, std::string("opening pinned ") + kind + " " + path);
    if (bpf_obj_get_info_by_fd(fd.get(), info, &size) != 0)
        fail(errno, std::string("reading pinned ") + kind + " " + path);
    return fd;
}

// A pinned map is reused only when it is what this build would create; anything else would be
// read with the wrong layout. The message says what to do about it.
void check_pinned_map(const bpf_map *map, const std::string &path)
{
    bpf_map_info info{};
    open_pinned(path, "map", info);
    auto differs = [&](const char *what, uint32_t pinned, uint32_t wanted) {
        if (pinned == wanted)
            return;
        const std::string name = bpf_map__name(map);
        std::string advice = name.rfind("mg_sessions", 0) == 0
                                 ? "start with --max-sessions " + std::to_string(pinned) + ", or "
                             : name.rfind("mg_direct", 0) == 0 ? "start with the --client-pool it was made for, or "
                                                               : "";
        throw std::runtime_error("pinned map " + path + " has " + what + " " + std::to_string(pinned) +
                                 " where this mtuguardd needs " + std::to_string(wanted) + ": " + advice +
                                 "run `mtuguardctl detach` to remove the old state (enforcement stops "
                                 "until this daemon starts), or use another --pin-path");
    };
    differs("type", info.type, bpf_map__type(map));
    differs("key size", info.key_size, bpf_map__key_size(map));
    differs("value size", info.value_size, bpf_map__value_size(map));
    differs("capacity", info.max_entries, bpf_map__max_entries(map));
}

void check_pinned_abi(const std::string &path)
{
    Fd fd(bpf_obj_get(path.c_str()));
    uint32_t zero = 0, version = 0;
    if (!fd || bpf_map_lookup_elem(fd.get(), &zero, &version) != 0)
        fail(errno, "reading pinned map " + path);
    if (version != MG_ABI_VERSION)
        throw std::runtime_error("the maps pinned at " + path.substr(0, path.rfind('/')) +
                                 " are of map ABI " + std::to_string(version) + ", this mtuguardd uses " +
                                 std::to_string(MG_ABI_VERSION) +
                                 ": run `mtuguardctl detach` to remove the old state, or use another --pin-path");
}

void ensure_bpffs(const std::string &path)
{
    // The nearest existing ancestor decides which filesystem the pins land on.
    std::string probe = path;
    struct stat st;
    while (!probe.empty() && stat(probe.c_str(), &st) != 0)
        probe = probe.substr(0, probe.rfind('/'));
    if (probe.empty())
        probe = "/";
    struct statfs fs;
    if (statfs(probe.c_str(), &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
        return;
    std::string tried;
    if (probe == "/sys/fs/bpf") {
        if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0) {
            log::warning("mounted a bpf filesystem on /sys/fs/bpf; if this runs in a mount namespace of its "
                         "own (ip netns exec, a container), the pins end with it and a restart cannot re-adopt "
                         "them: mount bpffs where it outlives the daemon and point --pin-path there");
            return;
        }
        tried = std::string("; mounting one on /sys/fs/bpf failed: ") + std::strerror(errno);
    }
    throw std::runtime_error("--pin-path " + path + ": not on a bpf filesystem" + tried +
                             " (mount one with `mount -t bpf bpf /sys/fs/bpf`, or choose a path inside one)");
}

int remove_pins(const std::string &pin_dir)
{
    int removed = 0;
    for (const char *sub : {"/links", "/maps"}) {
        const std::string dir = pin_dir + sub;
        DIR *d = opendir(dir.c_str());
        if (!d)
            continue;
        while (dirent *e = readdir(d)) {
            if (e->d_name[0] == '.')
                continue;
            removed += unlink((dir + "/" + e->d_name).c_str()) == 0;
        }
        closedir(d);
        rmdir(dir.c_str());
    }
    rmdir(pin_dir.c_str());
    return removed;
}

} // namespace mtuguard
