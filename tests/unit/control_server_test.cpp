// The control socket's framing and fairness, with a trivial handler: no daemon, no root.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "daemon/control_server.hpp"

namespace mtuguard {
namespace {

class ControlServerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char dir[] = "/tmp/mtuguard-control-XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        directory = dir;
        path = directory + "/run/control.sock"; // the server creates the missing directory
        ASSERT_EQ(pipe(stop), 0);
    }
    void TearDown() override
    {
        if (thread.joinable()) {
            (void)!write(stop[1], "x", 1);
            thread.join();
        }
        close(stop[0]);
        close(stop[1]);
        rmdir((directory + "/run").c_str());
        rmdir(directory.c_str());
    }

    void start(ControlLimits limits = {})
    {
        server = std::make_unique<ControlServer>(path, limits);
        thread = std::thread([this] {
            server->serve(
                stop[0],
                [this](std::string_view request) {
                    ++handled;
                    return ControlServer::Reply{"{\"echo\":" + std::to_string(request.size()) + "}",
                                                request == "stop"};
                },
                [](std::string_view reason) { return "{\"refused\":\"" + std::string(reason) + "\"}"; });
        });
    }

    Fd connect_client()
    {
        Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
        EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)), 0);
        return fd;
    }

    static std::string read_line(int fd, int timeout_ms = 2000)
    {
        std::string line;
        char c;
        while (true) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, timeout_ms) != 1)
                return "(timeout)";
            if (read(fd, &c, 1) != 1)
                return line.empty() ? "(closed)" : line;
            if (c == '\n')
                return line;
            line += c;
        }
    }

    static void send_all(int fd, const std::string &data)
    {
        for (size_t sent = 0; sent < data.size();) {
            ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            ASSERT_GT(n, 0);
            sent += n;
        }
    }

    std::string directory, path;
    int stop[2];
    std::unique_ptr<ControlServer> server;
    std::thread thread;
    std::atomic<int> handled{0};
};

TEST_F(ControlServerTest, SocketIsPrivateWithoutTheOperatorGroup)
{
    start();
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    if (!getgrnam("mtuguard"))
        EXPECT_EQ(st.st_mode & 0777, 0600);
    else
        EXPECT_EQ(st.st_mode & 0777, 0660);
}

TEST_F(ControlServerTest, OneAnswerPerLineInOrder)
{
    start();
    Fd client = connect_client();
    send_all(client.get(), "a\nbb\nccc\n");
    EXPECT_EQ(read_line(client.get()), "{\"echo\":1}");
    EXPECT_EQ(read_line(client.get()), "{\"echo\":2}");
    EXPECT_EQ(read_line(client.get()), "{\"echo\":3}");
}

TEST_F(ControlServerTest, AStalledClientDoesNotBlockOthers)
{
    start();
    Fd stalled = connect_client();
    send_all(stalled.get(), "{\"command\": \"sta"); // half a request, then nothing
    Fd other = connect_client();
    send_all(other.get(), "ping\n");
    EXPECT_EQ(read_line(other.get(), 1000), "{\"echo\":4}");
}

TEST_F(ControlServerTest, AStalledClientIsDroppedAfterTheIdleTimeout)
{
    ControlLimits limits;
    limits.idle_timeout = std::chrono::milliseconds(300);
    start(limits);
    Fd stalled = connect_client();
    send_all(stalled.get(), "half");
    EXPECT_EQ(read_line(stalled.get(), 3000), "(closed)");
}

TEST_F(ControlServerTest, OversizedRequestsAreRefusedAndTheConnectionClosed)
{
    ControlLimits limits;
    limits.max_request = 1024;
    start(limits);
    Fd client = connect_client();
    send_all(client.get(), std::string(4096, 'x')); // no newline: never a request
    std::string answer = read_line(client.get());
    EXPECT_NE(answer.find("refused"), std::string::npos) << answer;
    EXPECT_EQ(read_line(client.get()), "(closed)");
    EXPECT_EQ(handled.load(), 0) << "the handler never saw it";

    Fd next = connect_client(); // the server is still there
    send_all(next.get(), std::string(1000, 'y') + "\n");
    EXPECT_EQ(read_line(next.get()), "{\"echo\":1000}");
}

TEST_F(ControlServerTest, ManyClientsAtOnce)
{
    start();
    std::vector<Fd> clients;
    for (int i = 0; i < 500; ++i) {
        clients.push_back(connect_client());
        send_all(clients.back().get(), std::string(i % 7 + 1, 'z') + "\n");
    }
    for (int i = 0; i < 500; ++i)
        ASSERT_EQ(read_line(clients[i].get(), 5000), "{\"echo\":" + std::to_string(i % 7 + 1) + "}") << i;
}

TEST_F(ControlServerTest, AnswerThenStopWhenTheReplySaysSo)
{
    start();
    Fd client = connect_client();
    send_all(client.get(), "stop\n");
    EXPECT_EQ(read_line(client.get()), "{\"echo\":4}");
    thread.join();
    struct stat st;
    server.reset();
    EXPECT_NE(stat(path.c_str(), &st), 0) << "the socket file is removed";
}

TEST_F(ControlServerTest, ASecondServerOnALiveSocketIsRefused)
{
    start();
    EXPECT_THROW(ControlServer second(path), std::runtime_error);
    Fd client = connect_client(); // and the first one still answers
    send_all(client.get(), "x\n");
    EXPECT_EQ(read_line(client.get()), "{\"echo\":1}");
}

// The daemon's own descriptor (its signalfd) and the watchdog tick share the clients' loop: an
// event that does not stop serving leaves the connections as they are, and the tick comes at
// least every tick_interval while nothing happens.
TEST_F(ControlServerTest, EventsAndTicksShareTheLoop)
{
    server = std::make_unique<ControlServer>(path);
    std::atomic<int> ticks{0}, hups{0};
    ControlServer::Events events{stop[0],
                                 [&] {
                                     char c = 0;
                                     if (read(stop[0], &c, 1) == 1 && c == 'h') {
                                         ++hups;
                                         return true; // a reload: keep serving
                                     }
                                     return false;
                                 },
                                 [&] { ++ticks; }, std::chrono::milliseconds(20)};
    thread = std::thread([&] {
        server->serve(
            events, [](std::string_view request) { return ControlServer::Reply{std::string(request), false}; },
            [](std::string_view reason) { return std::string(reason); });
    });
    Fd client = connect_client();
    send_all(client.get(), "before\n");
    EXPECT_EQ(read_line(client.get()), "before");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_GE(ticks.load(), 5) << "an idle loop still ticks every 20 ms";

    ASSERT_EQ(write(stop[1], "h", 1), 1);
    for (int i = 0; i < 100 && hups.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(hups.load(), 1);
    send_all(client.get(), "after\n");
    EXPECT_EQ(read_line(client.get()), "after") << "the same connection, still served";

    ASSERT_EQ(write(stop[1], "q", 1), 1);
    thread.join();
}

} // namespace
// A large request arrives in many reads; each byte is looked at for a newline once, not again at
// every read (which made a 16 MiB bulk load scan gigabytes on the thread that feeds the watchdog).
TEST_F(ControlServerTest, ALargeRequestIsScannedOnce)
{
    start();
    Fd client = connect_client();
    const std::string request(4 << 20, 'x');
    for (size_t sent = 0; sent < request.size(); sent += 16384) {
        send_all(client.get(), request.substr(sent, 16384));
        usleep(200); // let the server read what there is: many reads, as from a slow client
    }
    send_all(client.get(), "\n");
    EXPECT_EQ(read_line(client.get()), "{\"echo\":" + std::to_string(request.size()) + "}");
    EXPECT_EQ(server->bytes_searched(), request.size() + 1);
}

} // namespace mtuguard
