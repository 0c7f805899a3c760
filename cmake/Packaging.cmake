# Install rules for everything but the two binaries (userspace/daemon and userspace/ctl install
# them to sbin) and the Debian package: `cpack -G DEB` in the build tree, or `cmake --build build
# --target package`, writes mtuguard_<version>_<arch>.deb.
#
# Layout (prefix /usr, as in the package):
#   /usr/sbin/mtuguardd, /usr/sbin/mtuguardctl
#   /etc/mtuguard/mtuguard.conf, /etc/default/mtuguard           conffiles
#   /lib/systemd/system/mtuguard.service                         when deploy/systemd has it
#   /usr/libexec/mtuguard/mtuguard-connect                       ocserv connect-script
#   /usr/libexec/mtuguard/mtuguard-stop                          the unit's ExecStop=
#   /usr/share/bash-completion/completions/mtuguardctl
#   /usr/share/man/man8/mtuguardd.8.gz, mtuguardctl.8.gz, man5/mtuguard.conf.5.gz
#   /usr/share/mtuguard/prometheus/{alerts.yml,prometheus.yml,alertmanager.yml}, grafana/mtuguard.json
#   /usr/share/doc/mtuguard/                                     README and docs/*.md
# /etc and the unit directory are absolute: install by hand with DESTDIR (or as root).

include(GNUInstallDirs)

set(MTUGUARD_MAINTAINER "mtuguard maintainers <maintainers@mtuguard.invalid>"
    CACHE STRING "Maintainer field of the Debian package")
set(MTUGUARD_SYSTEMD_UNIT_DIR /lib/systemd/system
    CACHE PATH "Where the systemd unit is installed (Debian 12: /lib/systemd/system)")

set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(mtuguard_deploy ${PROJECT_SOURCE_DIR}/deploy)

# Configuration: the example config with every option commented out, the service's defaults
install(FILES ${mtuguard_deploy}/mtuguard.conf DESTINATION /etc/mtuguard)
install(FILES ${mtuguard_deploy}/default/mtuguard DESTINATION /etc/default)

# The systemd unit is written separately; the package carries it once it exists
install(FILES ${mtuguard_deploy}/systemd/mtuguard.service
        DESTINATION ${MTUGUARD_SYSTEMD_UNIT_DIR} OPTIONAL)
# The unit's ExecStop=: SIGQUIT (stop, keeping everything attached) for a restart
install(PROGRAMS ${mtuguard_deploy}/systemd/mtuguard-stop
        DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mtuguard)

# ocserv connect-script / disconnect-script, bash completion
install(PROGRAMS ${mtuguard_deploy}/ocserv/mtuguard-connect
        DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mtuguard)
install(FILES ${mtuguard_deploy}/bash-completion/mtuguardctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# An example, not active: rsyslog forwards an ASA's syslog to --syslog-listen once copied to
# /etc/rsyslog.d/
install(FILES ${mtuguard_deploy}/rsyslog/mtuguard-asa.conf
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mtuguard/rsyslog)

# Monitoring: alert rules with the example scrape config that loads them, the Alertmanager inhibit
# rules for them, the dashboard
install(FILES ${mtuguard_deploy}/prometheus/alerts.yml ${mtuguard_deploy}/prometheus/prometheus.yml
              ${mtuguard_deploy}/prometheus/alertmanager.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mtuguard/prometheus)
install(FILES ${mtuguard_deploy}/grafana/mtuguard.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mtuguard/grafana)

# Documentation
install(FILES ${PROJECT_SOURCE_DIR}/README.md
              ${PROJECT_SOURCE_DIR}/docs/operator-guide.md
              ${PROJECT_SOURCE_DIR}/docs/metrics.md
              ${PROJECT_SOURCE_DIR}/docs/runbook.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man pages, gzipped (Debian policy), with the project's version in their .TH line
set(mtuguard_man_pages mtuguardd.8 mtuguardctl.8 mtuguard.conf.5)
set(mtuguard_man_outputs "")
foreach(page IN LISTS mtuguard_man_pages)
  string(REGEX MATCH "[0-9]$" section ${page})
  set(source ${PROJECT_SOURCE_DIR}/docs/man/${page})
  set(output ${PROJECT_BINARY_DIR}/man/${page}.gz)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DSOURCE=${source} -DOUTPUT=${output} -DVERSION=${PROJECT_VERSION}
            -P ${PROJECT_SOURCE_DIR}/cmake/ManPage.cmake
    DEPENDS ${source} ${PROJECT_SOURCE_DIR}/cmake/ManPage.cmake
    COMMENT "man page ${page}.gz"
    VERBATIM)
  list(APPEND mtuguard_man_outputs ${output})
  install(FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${mtuguard_man_outputs})

# The Debian package
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mtuguard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${MTUGUARD_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keeps VPN users out of MTU black holes (XDP)")
# The long description; dpkg shows the summary above it
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "mtuguard holds every packet toward a VPN client to the MTU of the tunnel the
client rides now: the DTLS MTU while DTLS is up, the TLS MTU after a fallback.
An XDP program on the gateway drops oversize packets that may not be
fragmented and answers with ICMP fragmentation-needed / Packet Too Big
carrying the right MTU, clamps the MSS of the sessions' TCP handshakes, and
counts every verdict for Prometheus. Sessions come from the configuration, from
mtuguardctl, or from the ocserv connect-script shipped here.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MTUGUARD_MAINTAINER}")
# Depends from the binaries' libraries (libbpf1, libboost-program-options1.74.0,
# libprometheus-cpp-pull1.0, ...), computed by dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ocserv, prometheus, bash-completion")

# Control files: the conffiles list and the maintainer scripts
set(mtuguard_conffiles ${PROJECT_BINARY_DIR}/debian/conffiles)
file(WRITE ${mtuguard_conffiles} "/etc/mtuguard/mtuguard.conf\n/etc/default/mtuguard\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${mtuguard_conffiles}
    ${mtuguard_deploy}/debian/postinst
    ${mtuguard_deploy}/debian/prerm
    ${mtuguard_deploy}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

# `package_source` (a tarball of the tree): without build trees, VCS data or the lab's state
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\.git/" "/build/" "/build-[^/]*/" "/\\.vagrant/")

include(CPack)
