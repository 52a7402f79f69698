# Every dependency is a Debian 12 package (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(tl-expected REQUIRED)
find_package(GTest REQUIRED)
pkg_check_modules(LIBUSB REQUIRED IMPORTED_TARGET libusb-1.0)
pkg_check_modules(EXT2FS REQUIRED IMPORTED_TARGET ext2fs com_err)
pkg_check_modules(LZMA REQUIRED IMPORTED_TARGET liblzma)
# .img.gz and .zip images (image import): zlib1g-dev, libzip-dev.
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
# io_uring for the TFTP server's sockets (2.3 in Debian 12; the kernel decides at run time).
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing>=2.3)
# The registry's PostgreSQL store ([store] backend = "postgresql"): libpq-dev.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)

# Standalone asio is header-only and ships no CMake config.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(pinet_asio INTERFACE)
target_include_directories(pinet_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
target_compile_definitions(pinet_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
target_link_libraries(pinet_asio INTERFACE Threads::Threads)

# cpp-httplib.
# Debian builds it as a shared library with OpenSSL/zlib/brotli: take the
# defines from its pkg-config file so they match the library (ODR).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(pinet_httplib INTERFACE)
target_link_libraries(pinet_httplib INTERFACE PkgConfig::HTTPLIB)
target_link_libraries(pinet_httplib INTERFACE Threads::Threads)
