#!/usr/bin/env python3
"""The docs against the binaries' own --help, so an option or command without docs fails:

- every option of `mtuguardd --help` is an item of docs/man/mtuguardd.8 (with its default), a
  setting in deploy/mtuguard.conf (at its default) and an item of docs/man/mtuguard.conf.5;
- every command of `mtuguardctl --help` has its section in docs/man/mtuguardctl.8, naming each of
  its options (from the main help and the command's own --help), and the global options too;
- the bash completion offers every command, subcommand and option, and the values of -o,
  --transport and --cipher (the cipher names mtuguardctl itself knows);
- nothing is documented that the binaries do not have.

usage: docs_test.py SOURCE_DIR MTUGUARDD MTUGUARDCTL
"""
import re
import subprocess
import sys

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def run(*argv):
    result = subprocess.run(argv, capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


OPTION = re.compile(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)")


# --- roff ---------------------------------------------------------------------------------------

def roff_text(line):
    """A roff line as plain text: escapes resolved, font changes and macro names dropped."""
    line = re.sub(r"^\.[A-Za-z]+\s?", "", line)
    for escape, plain in (("\\-", "-"), ("\\(en", "-"), ("\\(aq", "'"), ("\\~", " "),
                          ("\\e", "\\"), ("\\(bu", "*"), ("\\&", "")):
        line = line.replace(escape, plain)
    line = re.sub(r"\\f[BIRP]", "", line)
    return line.replace('"', "")


def roff_items(path):
    """The page as (section, subsection, tag, paragraph) for every top-level .TP item, and the
    .SS sections as {title: text}."""
    lines = [l.rstrip("\n") for l in open(path, encoding="utf-8") if not l.startswith('.\\"')]
    items, subsections = [], {}
    section = subsection = None
    depth = 0
    current = None
    for i, line in enumerate(lines):
        if line.startswith(".SH"):
            section, subsection, current, depth = roff_text(line).strip(), None, None, 0
            continue
        if line.startswith(".SS"):
            subsection, current, depth = roff_text(line).strip(), None, 0
            subsections[subsection] = []
            continue
        if subsection is not None:
            subsections[subsection].append(roff_text(line))
        if line.startswith(".RS"):
            depth += 1
        elif line.startswith(".RE"):
            depth -= 1
        elif line.startswith(".TP") and depth == 0 and i + 1 < len(lines):
            current = [section, subsection, roff_text(lines[i + 1]).strip(), []]
            items.append(current)
            continue
        if current is not None and not (current[3] == [] and roff_text(line).strip() == current[2]):
            current[3].append(roff_text(line))
    items = [(s, ss, tag, " ".join(" ".join(p).split())) for s, ss, tag, p in items]
    return items, {t: " ".join(" ".join(p).split()) for t, p in subsections.items()}


# --- mtuguardd ----------------------------------------------------------------------------------

def daemon_options(mtuguardd):
    """{name: default or None} from the option table of --help."""
    code, out, _ = run(mtuguardd, "--help")
    check(code == 0, "mtuguardd --help failed")
    options = {}
    for line in out.splitlines():
        m = re.match(r"^  (?:-\w \[ )?--([a-z0-9-]+)(?: \])?(?:\s+\S+ \(=([^)]*)\)| \S+)?", line)
        if m:
            options[m.group(1)] = m.group(2)
    check(len(options) > 10, f"parsed only {len(options)} options from mtuguardd --help")
    return options


def check_daemon_docs(source, mtuguardd):
    options = daemon_options(mtuguardd)
    command_line_only = {"help", "version", "config", "check-config"}

    # mtuguardd(8): an item per option, with the default
    items, _ = roff_items(f"{source}/docs/man/mtuguardd.8")
    documented = {}
    for section, _, tag, paragraph in items:
        if section == "OPTIONS":
            for name in OPTION.findall(tag):
                documented[name] = paragraph
    for name, default in options.items():
        check(name in documented, f"mtuguardd.8: --{name} is not an item under OPTIONS")
        if name in documented and default is not None:
            check(f"Default: {default}" in documented[name],
                  f"mtuguardd.8: --{name} does not say 'Default: {default}'")
    for name in documented:
        check(name in options, f"mtuguardd.8 documents --{name}, which mtuguardd --help lacks")

    # deploy/mtuguard.conf: one commented setting per option, at its default
    conf = open(f"{source}/deploy/mtuguard.conf", encoding="utf-8").read()
    settings = {}
    for m in re.finditer(r"^#?([a-z][a-z0-9-]*) = (.*)$", conf, re.M):
        settings.setdefault(m.group(1), []).append(m.group(2).strip())
    for name, default in options.items():
        if name in command_line_only:
            check(f"--{name}" in conf, f"mtuguard.conf does not mention --{name}")
            continue
        check(name in settings, f"mtuguard.conf has no '#{name} = ...' line")
        if name in settings and default is not None:
            check(settings[name] == [default],
                  f"mtuguard.conf: {name} = {settings[name]}, but the default is {default}")
            check(f"Default: {default}" in conf, f"mtuguard.conf does not say 'Default: {default}'")
    for name in settings:
        check(name in options and name not in command_line_only,
              f"mtuguard.conf sets {name}, which mtuguardd --help lacks")

    # mtuguard.conf(5): an item per option that the file takes, with the default
    items, _ = roff_items(f"{source}/docs/man/mtuguard.conf.5")
    documented = {}
    for section, _, tag, paragraph in items:
        m = re.match(r"^([a-z][a-z0-9-]*) =", tag)
        if section == "OPTIONS" and m:
            documented[m.group(1)] = paragraph
    for name, default in options.items():
        if name in command_line_only:
            continue
        check(name in documented, f"mtuguard.conf.5: {name} is not an item under OPTIONS")
        if name in documented and default is not None:
            check(f"Default: {default}" in documented[name],
                  f"mtuguard.conf.5: {name} does not say 'Default: {default}'")
    for name in documented:
        check(name in options, f"mtuguard.conf.5 documents {name}, which mtuguardd --help lacks")
    return len(options)


# --- mtuguardctl --------------------------------------------------------------------------------

def ctl_interface(mtuguardctl):
    """({command: set of options}, set of global options) from --help and each COMMAND --help."""
    code, out, _ = run(mtuguardctl, "--help")
    check(code == 0, "mtuguardctl --help failed")
    commands, global_options = {}, set()
    part, command = None, None
    for line in out.splitlines():
        if line in ("Commands:", "Options:"):
            part = line
            continue
        if not line.strip():
            part = None if part == "Options:" else part
            continue
        if part == "Commands:":
            m = re.match(r"^  (\S.*?)(?:\s{2,}|$)", line)
            if m:  # a command line: COMMAND [SUBCOMMAND] usage...  description
                words = m.group(1).split()
                command = words[0]
                if len(words) > 1 and re.fullmatch(r"[a-z]+", words[1]):
                    command += " " + words[1]
                commands.setdefault(command, set())
            if command:
                commands[command] |= set(OPTION.findall(line))
        elif part == "Options:":
            m = re.match(r"^  (-\w, )?--([a-z0-9-]+)", line)
            if m:
                global_options.add(m.group(2))
                if m.group(1):
                    global_options.add(m.group(1)[1])  # the short letter
    check(len(commands) >= 8, f"parsed only {len(commands)} commands from mtuguardctl --help")
    for command in commands:
        code, out, err = run(mtuguardctl, *command.split(), "--help")
        check(code == 0, f"mtuguardctl {command} --help failed: {err.strip()}")
        usage = out.split("\n\n")[0]
        check(usage.startswith("Usage:"), f"mtuguardctl {command} --help has no Usage: line")
        commands[command] |= set(OPTION.findall(usage)) - {"help"}
    return commands, global_options


def ciphers(mtuguardctl):
    _, _, err = run(mtuguardctl, "mtu-calc")
    m = re.search(r"one of: ([^)]*)\)", err)
    check(m is not None, f"mtuguardctl mtu-calc without --cipher does not list the ciphers: {err}")
    return m.group(1).split(", ") if m else []


def check_ctl_docs(source, mtuguardctl):
    commands, global_options = ctl_interface(mtuguardctl)
    items, subsections = roff_items(f"{source}/docs/man/mtuguardctl.8")

    documented_globals = set()
    for section, _, tag, _ in items:
        if section == "OPTIONS":
            documented_globals |= set(OPTION.findall(tag))
            documented_globals |= set(re.findall(r"(?<![\w-])-(\w)\b", tag))
    for name in global_options:
        check(name in documented_globals, f"mtuguardctl.8: global option {name} is not under OPTIONS")

    for command, options in commands.items():
        titles = [t for t in subsections if t == command or t.startswith(command + " ")]
        check(titles, f"mtuguardctl.8: no .SS section for '{command}'")
        tags = set()
        for section, subsection, tag, _ in items:
            if section == "COMMANDS" and subsection in titles:
                tags |= set(OPTION.findall(tag))
        for name in options:
            check(name in tags, f"mtuguardctl.8: '{command}' does not document --{name}")
        for name in tags - options:
            check(False, f"mtuguardctl.8: '{command}' documents --{name}, which its help lacks")
    for title in subsections:
        check(any(title == c or title.startswith(c + " ") for c in commands),
              f"mtuguardctl.8 documents '{title}', which mtuguardctl --help lacks")

    mtu_calc = next((t for c, t in subsections.items() if c.startswith("mtu-calc")), "")
    for cipher in ciphers(mtuguardctl):
        check(cipher in mtu_calc, f"mtuguardctl.8: mtu-calc does not name cipher {cipher}")
    return commands, global_options


def complete(completion, *words):
    """What the completion offers for the command line `words`, the last one being completed."""
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); '
              '_mtuguardctl; printf "%s\\n" "${COMPREPLY[@]}"')
    code, out, err = run("bash", "-c", script, "complete", completion, "mtuguardctl", *words)
    check(code == 0 and not err, f"completion of {' '.join(words)!r} failed: {err}")
    return set(out.split())


def check_completion(source, mtuguardctl, commands, global_options):
    completion = f"{source}/deploy/bash-completion/mtuguardctl"
    top = {c.split()[0] for c in commands}
    got = complete(completion, "")
    check(top <= got, f"completion: commands {sorted(top - got)} missing from {sorted(got)}")
    got = complete(completion, "-")
    wanted = {("--" if len(o) > 1 else "-") + o for o in global_options}
    check(wanted <= got, f"completion: global options {sorted(wanted - got)} missing")
    for group in sorted(top):
        subcommands = {c.split()[1] for c in commands if c.startswith(group + " ")}
        if subcommands:
            got = complete(completion, group, "")
            check(subcommands <= got, f"completion: '{group}' lacks {sorted(subcommands - got)}")
    for command, options in commands.items():
        got = complete(completion, *command.split(), "--")
        wanted = {"--" + o for o in options} | {"--help"}
        check(wanted <= got, f"completion: '{command} --' lacks {sorted(wanted - got)}")
        # after global options too
        got = complete(completion, "--socket", "/tmp/s", "-o", "json", *command.split(), "--")
        check(wanted <= got, f"completion: '-o json {command} --' lacks {sorted(wanted - got)}")
    names = set(ciphers(mtuguardctl))
    for command in ("mtu-calc", "session add"):
        got = complete(completion, *command.split(), "--cipher", "")
        check(names == got, f"completion: '{command} --cipher' offers {sorted(got)}, "
                            f"mtuguardctl knows {sorted(names)}")
    check(complete(completion, "session", "add", "10.8.0.5", "--transport", "") == {"dtls", "tls"},
          "completion: --transport does not offer dtls, tls")
    check(complete(completion, "session", "transport", "10.8.0.5", "") == {"dtls", "tls"},
          "completion: 'session transport ADDR' does not offer dtls, tls")
    check(complete(completion, "-o", "") == {"table", "json"}, "completion: -o does not offer table, json")
    # bash splits "--output=j" at the = (COMP_WORDBREAKS)
    check(complete(completion, "--output", "=", "j") == {"json"}, "completion: --output=j does not offer json")
    check(complete(completion, "mtu-calc", "--cipher", "=", "aes256-g") == {"aes256-gcm"},
          "completion: --cipher=aes256-g does not offer aes256-gcm")


def main():
    source, mtuguardd, mtuguardctl = sys.argv[1:4]
    n = check_daemon_docs(source, mtuguardd)
    commands, global_options = check_ctl_docs(source, mtuguardctl)
    check_completion(source, mtuguardctl, commands, global_options)
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        return 1
    print(f"PASS: {n} mtuguardd options and {len(commands)} mtuguardctl commands documented "
          f"in the man pages, the example config and the completion")
    return 0


if __name__ == "__main__":
    sys.exit(main())
