# Installing and the Debian package (docs/architecture.md, "Installing").
#   cmake --build build --target package   ->  build/pinetboot_<version>_<arch>.deb
# CPack's DEB generator packs what `cmake --install` installs, from the build
# tree that the tests already use, so making the package costs seconds, not a
# second build (dpkg-buildpackage would build everything again in its own tree).

# Man pages and completions, generated from the CLI11 tree after every build of
# pinetboot-full (src/cli/docs_gen.h), so they cannot drift from --help.
set(PINET_GEN_DIR "${CMAKE_BINARY_DIR}/generated")
set(PINET_CHANGELOG_GZ "${PINET_GEN_DIR}/changelog.gz")
add_custom_command(OUTPUT "${PINET_GEN_DIR}/docs.stamp"
  COMMAND "${CMAKE_COMMAND}" -E rm -rf "${PINET_GEN_DIR}/man" "${PINET_GEN_DIR}/bash-completion"
    "${PINET_GEN_DIR}/zsh"
  # (In the ASan build a leak report at exit must not fail the build.)
  COMMAND "${CMAKE_COMMAND}" -E env ASAN_OPTIONS=detect_leaks=0
    "$<TARGET_FILE:pinetboot-full>" __docs --out-dir "${PINET_GEN_DIR}"
  # Debian wants gzip -9n (no name or time stamp): reproducible pages.
  COMMAND sh -c "gzip -9nkf '${PINET_GEN_DIR}'/man/*.1"
  COMMAND sh -c "gzip -9nc '${CMAKE_SOURCE_DIR}/packaging/debian/changelog' > '${PINET_CHANGELOG_GZ}'"
  COMMAND "${CMAKE_COMMAND}" -E touch "${PINET_GEN_DIR}/docs.stamp"
  DEPENDS pinetboot-full "${CMAKE_SOURCE_DIR}/packaging/debian/changelog"
  COMMENT "Generating man pages and shell completions from the CLI definitions"
  VERBATIM)
add_custom_target(pinetboot_docs ALL DEPENDS "${PINET_GEN_DIR}/docs.stamp")

include(GNUInstallDirs)
# The unit names the front by its installed path: /usr/local/bin in the source
# (the hand install it documents), the prefix in effect at install time here
# (CPack installs with /usr, `cmake --install --prefix P` with P).
set(pinet_unit_src "${CMAKE_SOURCE_DIR}/packaging/systemd/pinetboot.service")
set(pinet_unit_out "${PINET_GEN_DIR}/install/pinetboot.service")
install(CODE "
  file(READ \"${pinet_unit_src}\" unit)
  string(REPLACE \"/usr/local/bin/\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/\" unit \"\${unit}\")
  file(WRITE \"${pinet_unit_out}\" \"\${unit}\")
")

# Relative to the prefix: /usr/lib/... in the package; under /usr/local, where
# systemd and udev also look, for a hand install.
install(FILES "${pinet_unit_out}" DESTINATION lib/systemd/system)
install(FILES packaging/udev/60-pinetboot.rules DESTINATION lib/udev/rules.d)
install(DIRECTORY "${PINET_GEN_DIR}/man/" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
  FILES_MATCHING PATTERN "*.1.gz")
install(FILES "${PINET_GEN_DIR}/bash-completion/pinetboot"
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions)
install(FILES "${PINET_GEN_DIR}/zsh/_pinetboot"
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions)
# The unit's Documentation= names configuration.md here, uncompressed.
install(FILES docs/configuration.md docs/security.md docs/setup.md docs/usbboot.md README.md
  packaging/debian/copyright "${PINET_CHANGELOG_GZ}"
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/pinetboot.toml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pinetboot)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "pinetboot developers <maintainers@pinetboot.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "network boot server and toolkit for Raspberry Pi 4/5 and CM4/CM5")
# CPack puts the summary on the Description line and indents this below it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "pinetboot serves proxyDHCP or full DHCP with the Raspberry Pi PXE option,
TFTP, HTTP boot, a web dashboard and Prometheus metrics; it edits and signs
bootloader EEPROM images, flashes boards over USB (the rpiboot protocol),
turns OS images into boot and root trees and exports them over NFS.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "")
# Library dependencies come from dpkg-shlibdeps (Debian package names and
# versions of what both programs link); the rest are the programs it runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The unit's ExecReload runs /bin/kill.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nfs-kernel-server | nfs-ganesha, dosfstools, mtools")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
include(CPack)
