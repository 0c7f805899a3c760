// An owned file descriptor, and the one way the kernel layer reports a failed system call.
#pragma once

#include <string>

namespace mtuguard {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd &&other) noexcept : fd_(other.release()) {}
    Fd &operator=(Fd &&other) noexcept;
    ~Fd();
    int get() const { return fd_; }
    int release() { int fd = fd_; fd_ = -1; return fd; }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// Throws std::system_error for `error` (an errno value, or libbpf's negative one) naming `what`.
[[noreturn]] void fail(int error, const std::string &what);

} // namespace mtuguard
