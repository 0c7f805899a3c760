#include "common/fd.hpp"

#include <unistd.h>

#include <system_error>

namespace mtuguard {

Fd &Fd::operator=(Fd &&other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0)
            close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd()
{
    if (fd_ >= 0)
        close(fd_);
}

void fail(int error, const std::string &what)
{
    throw std::system_error(error < 0 ? -error : error, std::generic_category(), what);
}

} // namespace mtuguard
