// The client side of the control socket: one request, one answer line.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mtuguard::ctl {

class Client {
public:
    explicit Client(const std::string &path) : path_(path) {}
    // The daemon's answer to `request`; throws Failure when it cannot be reached, does not
    // answer within 60 s, or refuses the request (its message and result code).
    nlohmann::json call(const nlohmann::json &request);

private:
    std::string path_;
};

} // namespace mtuguard::ctl
