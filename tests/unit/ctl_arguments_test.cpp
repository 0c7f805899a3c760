// mtuguardctl's command line (userspace/ctl/arguments.cpp): where -o / -j may stand, both
// spellings of the socket, flags without a value, and the usage errors a script meets.
#include <gtest/gtest.h>

#include "ctl/arguments.hpp"

namespace mtuguard::ctl {
namespace {

Invocation parse(std::vector<std::string> argv) { return parse_invocation(argv); }

TEST(CtlArguments, OutputFormatBeforeOrAfterTheCommand)
{
    for (const auto &argv : std::vector<std::vector<std::string>>{{"-o", "json", "session", "list"},
                                                                 {"session", "list", "-o", "json"},
                                                                 {"session", "-j", "list"},
                                                                 {"session", "list", "--json"},
                                                                 {"--output=json", "session", "list"}}) {
        Invocation in = parse(argv);
        EXPECT_TRUE(in.as_json) << argv[0];
        EXPECT_EQ(in.command, "session list");
        EXPECT_TRUE(in.args.words.empty());
    }
    EXPECT_FALSE(parse({"status"}).as_json);
}

TEST(CtlArguments, BothSpellingsOfTheSocket)
{
    EXPECT_EQ(parse({"--socket", "/tmp/a.sock", "status"}).socket_path, "/tmp/a.sock");
    EXPECT_EQ(parse({"--control-socket", "/tmp/b.sock", "status"}).socket_path, "/tmp/b.sock");
    EXPECT_EQ(parse({"--control-socket=/tmp/c.sock", "status"}).socket_path, "/tmp/c.sock");
    EXPECT_EQ(parse({"status"}).socket_path, "/run/mtuguard/control.sock");
}

TEST(CtlArguments, ForceIsAFlagOfDetach)
{
    Invocation in = parse({"detach", "--force", "--pin-path", "/sys/fs/bpf/x"});
    EXPECT_EQ(in.args.get("force"), "yes");
    EXPECT_EQ(in.args.get("pin-path"), "/sys/fs/bpf/x");
    EXPECT_EQ(parse({"detach"}).args.get("force"), std::nullopt);
    EXPECT_THROW(parse({"status", "--force"}), Usage);
}

TEST(CtlArguments, UsageErrorsNameWhatWasWrong)
{
    auto message = [](std::vector<std::string> argv) {
        try {
            parse_invocation(argv);
        } catch (const Usage &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message({}), "no command given");
    EXPECT_EQ(message({"-o", "yaml", "status"}), "-o yaml: expected table or json");
    EXPECT_EQ(message({"frobnicate"}), "unknown command 'frobnicate'");
    EXPECT_EQ(message({"session"}), "session needs add, del, transport or list");
    EXPECT_EQ(message({"session", "list", "--bogus", "1"}), "unknown option --bogus");
    EXPECT_EQ(message({"session", "list", "--limit"}), "--limit needs a value");
    EXPECT_EQ(message({"detach", "--pin-path", "a", "--pin-path", "b"}), "--pin-path given twice");
}

} // namespace
} // namespace mtuguard::ctl
