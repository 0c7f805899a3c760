// The bpf filesystem under --pin-path: PIN/maps/NAME and PIN/links/IFNAME, so enforcement
// outlives the daemon and the next one re-adopts it. A pinned map is reused only when its
// layout is what this build would create.
#pragma once

#include <cstdint>
#include <string>

#include "common/fd.hpp"

#include "common/fd.hpp"

struct bpf_map;

namespace mtuguard {

// An exclusive lock on the pin directory for as long as a daemon uses it, so that a second
// daemon on the same --pin-path is refused instead of adopting maps another one writes to (the
// control socket catches that too, but it can be disabled). The kernel drops the lock when the
// holder exits, however it ends. Throws std::runtime_error saying what to do.
class PinDirLock {
public:
    explicit PinDirLock(const std::string &dir);

private:
    Fd fd_;
};

bool exists(const std::string &path);
void make_dir(const std::string &path); // mode 0700; an existing directory is fine
// The pin file name of a map ("mtuguar.bss" becomes "mtuguar_bss").
std::string pin_name(const bpf_map *map);
// Opens the object pinned at `path` and reads its info (bpf_map_info, bpf_link_info, ...) into
// `info`; `kind` ("map", "link") names it in the error. Throws std::system_error.
Fd open_pinned(const std::string &path, const char *kind, void *info, uint32_t size);
template <typename Info>
Fd open_pinned(const std::string &path, const char *kind, Info &info)
{
    return open_pinned(path, kind, &info, sizeof(info));
}
// Throws std::runtime_error saying what to do when the map pinned at `path` differs from `map`.
void check_pinned_map(const bpf_map *map, const std::string &path);
// Throws std::runtime_error when the maps pinned beside `path` are of another map ABI.
void check_pinned_abi(const std::string &path);

// The bpffs directory that holds `path`, mounting /sys/fs/bpf when it is not. Throws
// std::runtime_error naming the path when it is not on a bpf filesystem.
void ensure_bpffs(const std::string &path);
// Removes whatever an agent pinned under `pin_dir` (links first, so enforcement stops at once).
// Returns the number of pins removed.
int remove_pins(const std::string &pin_dir);

} // namespace mtuguard
