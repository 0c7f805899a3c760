#!/bin/bash
# The Debian package: cpack builds it from the build tree into a scratch directory; its metadata
# and file list are checked, it is unpacked into a scratch root with `dpkg-deb -x`, and the
# unpacked binaries, scripts and man pages are run from there. No root needed: nothing is
# installed on this machine.
set -euo pipefail

build=${MTUGUARD_BUILD_DIR:?}
source=${MTUGUARD_SOURCE_DIR:?}
version=${MTUGUARD_VERSION:?}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$scratch/out") >"$scratch/cpack.log" 2>&1 ||
    { cat "$scratch/cpack.log"; fail "cpack failed"; }
arch=$(dpkg --print-architecture)
deb="$scratch/out/mtuguard_${version}_${arch}.deb"
[ -f "$deb" ] || { ls -l "$scratch/out"; fail "no $(basename "$deb")"; }
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

echo "== dpkg-deb -I: metadata"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = mtuguard ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
description=$(field Description)
[[ ${description%%$'\n'*} == *MTU* ]] || fail "Description: ${description%%$'\n'*}"
[ "$(wc -l <<<"$description")" -gt 2 ] || fail "no long description"
depends=$(field Depends)
echo "Depends: $depends"
# The libraries the binaries link, as dpkg-shlibdeps names them
depends_names=$(awk -F'[,|]' '{for (i = 1; i <= NF; i++) {split($i, word, " "); print word[1]}}' <<<"$depends")
for library in libbpf1 libboost-program-options1.74.0 libprometheus-cpp-pull1.0 libc6 libstdc++6; do
    grep -qxF "$library" <<<"$depends_names" || fail "Depends lacks $library"
done
dpkg-deb -I "$deb" conffiles >"$scratch/conffiles"
for conffile in /etc/mtuguard/mtuguard.conf /etc/default/mtuguard; do
    grep -qx "$conffile" "$scratch/conffiles" || fail "$conffile is not a conffile"
done
for script in postinst prerm postrm; do
    dpkg-deb -I "$deb" "$script" >"$scratch/$script" || fail "no $script"
    sh -n "$scratch/$script" || fail "$script: syntax"
done

echo "== dpkg-deb -c: contents"
dpkg-deb -c "$deb" >"$scratch/contents"
expected=(
    ./usr/sbin/mtuguardd
    ./usr/sbin/mtuguardctl
    ./etc/mtuguard/mtuguard.conf
    ./etc/default/mtuguard
    ./usr/libexec/mtuguard/mtuguard-connect
    ./usr/libexec/mtuguard/mtuguard-stop
    ./usr/share/bash-completion/completions/mtuguardctl
    ./usr/share/man/man8/mtuguardd.8.gz
    ./usr/share/man/man8/mtuguardctl.8.gz
    ./usr/share/man/man5/mtuguard.conf.5.gz
    ./usr/share/mtuguard/prometheus/alerts.yml
    ./usr/share/mtuguard/prometheus/prometheus.yml
    ./usr/share/mtuguard/prometheus/alertmanager.yml
    ./usr/share/mtuguard/grafana/mtuguard.json
    ./usr/share/doc/mtuguard/README.md
    ./usr/share/doc/mtuguard/operator-guide.md
)
# The unit is written apart from the packaging; once it exists, the package must carry it
if [ -f "$source/deploy/systemd/mtuguard.service" ]; then
    expected+=(./lib/systemd/system/mtuguard.service)
else
    echo "note: deploy/systemd/mtuguard.service does not exist yet: not expected in the package"
fi
for path in "${expected[@]}"; do
    awk '{print $NF}' "$scratch/contents" | grep -qxF "$path" || fail "the package lacks $path"
done
# Owned by root, executables executable
grep -v ' root/root ' "$scratch/contents" && fail "files not owned by root/root"
for path in ./usr/sbin/mtuguardd ./usr/sbin/mtuguardctl ./usr/libexec/mtuguard/mtuguard-connect \
    ./usr/libexec/mtuguard/mtuguard-stop; do
    grep -E "^-rwxr-xr-x .* $path\$" "$scratch/contents" >/dev/null || fail "$path is not mode 0755"
done
echo "${#expected[@]} expected files present"

echo "== dpkg-deb -x: run what was unpacked"
root="$scratch/root"
dpkg-deb -x "$deb" "$root"
out=$("$root/usr/sbin/mtuguardd" --version)
[ "$out" = "mtuguardd $version" ] || fail "mtuguardd --version: '$out'"
out=$("$root/usr/sbin/mtuguardctl" --version)
[ "$out" = "mtuguardctl $version" ] || fail "mtuguardctl --version: '$out'"
echo "mtuguardd and mtuguardctl --version: $version"
# The shipped example config is one the shipped daemon reads (option names are checked while
# parsing, before --version answers)
"$root/usr/sbin/mtuguardd" --config "$root/etc/mtuguard/mtuguard.conf" --version >/dev/null ||
    fail "mtuguardd does not read the shipped mtuguard.conf"
"$root/usr/sbin/mtuguardctl" mtu-calc --cipher aes256-gcm --link-mtu 1500 >/dev/null ||
    fail "mtuguardctl mtu-calc from the package"
# The man pages are gzipped roff that man renders, with the version in their header
for page in man8/mtuguardd.8.gz man8/mtuguardctl.8.gz man5/mtuguard.conf.5.gz; do
    text=$(zcat "$root/usr/share/man/$page")
    grep -q "^\.TH .*\"mtuguard $version\"" <<<"$text" || fail "$page: no .TH with version $version"
    if command -v groff >/dev/null; then
        warnings=$(groff -man -ww -z -Tutf8 <<<"$text" 2>&1)
        [ -z "$warnings" ] || fail "$page: groff warnings: $warnings"
    fi
done
sh -n "$root/usr/libexec/mtuguard/mtuguard-connect" || fail "connect-script syntax"
bash -n "$root/usr/share/bash-completion/completions/mtuguardctl" || fail "completion syntax"
echo "PASS: $(basename "$deb")"
