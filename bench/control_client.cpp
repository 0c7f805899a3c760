// mtuguard_control_bench: the timing half of bench/control_bench.sh, which sets up the daemon
// (veths, pins, a million sessions) and writes the report. Each subcommand runs one kind of
// request `--count` times against a running mtuguardd, checks every answer, and prints one line
// of key=value pairs: the count, the latency percentiles in microseconds and the rate.
//
//   spawn     --count N --first ADDR -- CMD ARG...   runs CMD (each "{}" in ARG replaced by the
//                                                    next address from ADDR) N times: process
//                                                    start to exit, exit status 0 required
//   add       --socket S --count N --first ADDR [--keep-connection]
//                                                    one session.add request per new address,
//                                                    a new connection for each (as mtuguardctl
//                                                    makes) or all over one connection
//   transport --socket S --count N --address ADDR [--window W]
//                                                    session.transport flips (dtls, tls, ...)
//                                                    over one connection: W = 1 waits for each
//                                                    answer, W > 1 keeps W requests in flight
//   scrape    --port P --count N                     GET http://127.0.0.1:P/metrics, a new TCP
//                                                    connection each, status 200 required
//   xdp-query --ifname IF --count N                  bpf_xdp_query_id() on IF (native mode), as
//                                                    the exporter asks for every interface at
//                                                    every scrape; a program must be attached
//   lookup    --map PINNED --first ADDR --count N    single-key lookups of N IPv4 sessions in a
//                                                    pinned session map, one syscall each (the
//                                                    count is the lookups, the percentiles are
//                                                    per lookup); every key must be there
//
// Before the timed requests, `--warmup` (default 10) untimed ones of the same kind.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

extern char **environ;

namespace {

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

double now_us()
{
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

class Socket {
public:
    explicit Socket(int fd) : fd_(fd)
    {
        if (fd_ < 0)
            fail(std::string("socket: ") + std::strerror(errno));
    }
    Socket(Socket &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    ~Socket()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    Socket(const Socket &) = delete;
    Socket &operator=(const Socket &) = delete;
    int get() const { return fd_; }

    void send_all(const std::string &data)
    {
        for (size_t sent = 0; sent < data.size();) {
            ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n <= 0)
                fail(std::string("send: ") + std::strerror(errno));
            sent += n;
        }
    }
    // Reads at least once more; false at EOF.
    bool read_more(std::string &into)
    {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 60000) != 1)
            fail("no answer within 60 s");
        char buffer[65536];
        ssize_t n = read(fd_, buffer, sizeof(buffer));
        if (n < 0)
            fail(std::string("read: ") + std::strerror(errno));
        into.append(buffer, n);
        return n > 0;
    }

private:
    int fd_;
};

Socket connect_unix(const std::string &path)
{
    Socket s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path))
        fail(path + ": path too long");
    std::memcpy(address.sun_path, path.c_str(), path.size());
    if (connect(s.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)))
        fail("connecting to " + path + ": " + std::strerror(errno));
    return s;
}

// One answer line from the daemon, which must say "ok": true.
class LineReader {
public:
    explicit LineReader(Socket &s) : s_(s) {}
    void expect_ok(const std::string &request)
    {
        size_t newline;
        while ((newline = buffer_.find('\n')) == std::string::npos)
            if (!s_.read_more(buffer_))
                fail("the daemon closed the connection (request: " + request + ")");
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        if (line.find("\"ok\":true") == std::string::npos)
            fail("refused: " + line + " (request: " + request + ")");
    }

private:
    Socket &s_;
    std::string buffer_;
};

std::string nth_ipv4(const std::string &first, uint32_t n)
{
    in_addr a;
    if (inet_pton(AF_INET, first.c_str(), &a) != 1)
        fail(first + ": not an IPv4 address");
    a.s_addr = htonl(ntohl(a.s_addr) + n);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, text, sizeof(text));
    return text;
}

struct Options {
    std::map<std::string, std::string> values;
    std::vector<std::string> command; // after "--"
    std::string get(const std::string &name, const std::string &fallback = "") const
    {
        auto it = values.find(name);
        if (it != values.end())
            return it->second;
        if (fallback.empty())
            fail("--" + name + " is required");
        return fallback;
    }
    long number(const std::string &name, const std::string &fallback = "") const
    {
        return std::stol(get(name, fallback));
    }
    bool flag(const std::string &name) const { return values.count(name) > 0; }
};

// Runs `one(i)` warmup + count times, timing the last `count`; prints the summary line, with
// `per` operations in each timed call (pipelined requests) counted in ops_per_s.
void measure(const Options &options, const std::function<void(long)> &one, long per = 1)
{
    const long count = options.number("count");
    const long warmup = options.number("warmup", "10");
    if (count < 1)
        fail("--count must be at least 1");
    for (long i = 0; i < warmup; ++i)
        one(i);
    std::vector<double> us;
    us.reserve(count);
    const double start = now_us();
    for (long i = 0; i < count; ++i) {
        double t0 = now_us();
        one(warmup + i);
        us.push_back(now_us() - t0);
    }
    const double total = now_us() - start;
    std::sort(us.begin(), us.end());
    auto rank = [&](double p) { // nearest rank
        size_t k = static_cast<size_t>(p * us.size() + 0.999999);
        return us[std::clamp<size_t>(k, 1, us.size()) - 1];
    };
    std::printf("count=%ld p50_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f total_s=%.4f "
                "ops_per_s=%.0f\n",
                count, rank(0.50), rank(0.99), us.front(), us.back(), total / 1e6,
                count * per / (total / 1e6));
}

void spawn_command(const Options &options)
{
    if (options.command.empty())
        fail("spawn: no command after --");
    const std::string first = options.get("first");
    measure(options, [&](long i) {
        std::vector<std::string> args = options.command;
        for (auto &arg : args)
            for (size_t at; (at = arg.find("{}")) != std::string::npos;)
                arg.replace(at, 2, nth_ipv4(first, i));
        std::vector<char *> argv;
        for (auto &arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        pid_t pid;
        int err = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (err)
            fail(std::string("spawning ") + argv[0] + ": " + std::strerror(err));
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail(args[0] + " " + (args.size() > 1 ? args[1] : "") + "... failed (address " +
                 nth_ipv4(first, i) + ")");
    });
}

std::string add_request(const std::string &address)
{
    return "{\"command\":\"session.add\",\"sessions\":[\"" + address +
           ",dtls-mtu=1418,tls-mtu=1347,transport=dtls\"]}\n";
}

void add_sessions(const Options &options)
{
    const std::string path = options.get("socket"), first = options.get("first");
    if (options.flag("keep-connection")) {
        Socket s = connect_unix(path);
        LineReader reader(s);
        measure(options, [&](long i) {
            std::string request = add_request(nth_ipv4(first, i));
            s.send_all(request);
            reader.expect_ok(request);
        });
        return;
    }
    measure(options, [&](long i) {
        Socket s = connect_unix(path);
        LineReader reader(s);
        std::string request = add_request(nth_ipv4(first, i));
        s.send_all(request);
        reader.expect_ok(request);
    });
}

void flip_transport(const Options &options)
{
    const std::string path = options.get("socket"), address = options.get("address");
    const long window = options.number("window", "1");
    if (window < 1)
        fail("--window must be at least 1");
    Socket s = connect_unix(path);
    LineReader reader(s);
    auto request = [&](long i) {
        return "{\"command\":\"session.transport\",\"address\":\"" + address +
               "\",\"transport\":\"" + (i % 2 ? "tls" : "dtls") + "\"}\n";
    };
    if (window == 1) {
        measure(options, [&](long i) {
            std::string r = request(i);
            s.send_all(r);
            reader.expect_ok(r);
        });
        return;
    }
    // Pipelined: W requests written at once, then their W answers read; the percentiles are
    // per window, ops_per_s counts flips.
    Options per_window = options;
    const long count = options.number("count");
    if (count % window)
        fail("--count must be a multiple of --window");
    per_window.values["count"] = std::to_string(count / window);
    per_window.values["warmup"] = "1";
    measure(per_window, [&](long w) {
        std::string batch;
        for (long i = 0; i < window; ++i)
            batch += request(w * window + i);
        s.send_all(batch);
        for (long i = 0; i < window; ++i)
            reader.expect_ok("a pipelined session.transport");
    }, window);
}

void scrape(const Options &options)
{
    const int port = options.number("port");
    size_t body_bytes = 0, series = 0;
    measure(options, [&](long) {
        Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(s.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)))
            fail("connecting to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
        s.send_all("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        std::string response;
        while (s.read_more(response)) {
        }
        if (response.compare(0, 12, "HTTP/1.1 200") != 0)
            fail("scrape: " + response.substr(0, response.find('\r')));
        size_t body = response.find("\r\n\r\n");
        if (body == std::string::npos)
            fail("scrape: no header end");
        body_bytes = response.size() - body - 4;
        series = 0;
        for (size_t at = body + 4; at < response.size();) {
            size_t end = response.find('\n', at);
            if (end == std::string::npos)
                end = response.size();
            if (response[at] != '#' && end > at)
                ++series;
            at = end + 1;
        }
    });
    std::printf("body_bytes=%zu series=%zu\n", body_bytes, series);
}

void xdp_query(const Options &options)
{
    const std::string name = options.get("ifname");
    const int ifindex = if_nametoindex(name.c_str());
    if (!ifindex)
        fail(name + ": no such interface");
    measure(options, [&](long) {
        uint32_t id = 0;
        int err = bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id);
        if (err || !id)
            fail("bpf_xdp_query_id(" + name + "): " + (err ? std::strerror(-err) : "no program"));
    });
}

void lookup(const Options &options)
{
    const std::string path = options.get("map"), first = options.get("first");
    const int fd = bpf_obj_get(path.c_str());
    if (fd < 0)
        fail(path + ": " + std::strerror(errno));
    in_addr base;
    if (inet_pton(AF_INET, first.c_str(), &base) != 1)
        fail(first + ": not an IPv4 address");
    uint8_t value[64];
    measure(options, [&](long i) {
        uint32_t key = htonl(ntohl(base.s_addr) + i);
        if (bpf_map_lookup_elem(fd, &key, value))
            fail("lookup of session " + std::to_string(i) + " in " + path + ": " +
                 std::strerror(errno));
    });
    close(fd);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::cerr << "usage: mtuguard_control_bench spawn|add|transport|scrape|xdp-query|lookup "
                     "--count N ...\n(see the comment at the top of bench/control_client.cpp)\n";
        return 2;
    }
    try {
        Options options;
        const std::string what = argv[1];
        for (int i = 2; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg == "--") {
                options.command.assign(argv + i + 1, argv + argc);
                break;
            }
            if (arg.rfind("--", 0) != 0)
                fail("unexpected argument " + arg);
            arg.erase(0, 2);
            if (arg == "keep-connection")
                options.values[arg] = "1";
            else if (i + 1 < argc)
                options.values[arg] = argv[++i];
            else
                fail("--" + arg + " needs a value");
        }
        if (what == "spawn")
            spawn_command(options);
        else if (what == "add")
            add_sessions(options);
        else if (what == "transport")
            flip_transport(options);
        else if (what == "scrape")
            scrape(options);
        else if (what == "xdp-query")
            xdp_query(options);
        else if (what == "lookup")
            lookup(options);
        else
            fail("unknown subcommand " + what);
    } catch (const std::exception &e) {
        std::cerr << "mtuguard_control_bench: FAILED: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
