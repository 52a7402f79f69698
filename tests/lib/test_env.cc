#include "lib/test_env.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "io/fd.h"
#include "proto/hex.h"

namespace pinet::test {

namespace fs = std::filesystem;

fs::path sharedDir() {
    return fs::path(PINET_SHARED_DIR);
}
fs::path eepromTestData() {
    return sharedDir() / "testdata" / "eeprom";
}
fs::path pinetbootExe() {
    return fs::path(PINET_EXE);
}
fs::path sourceDir() {
    return fs::path(PINET_SOURCE_DIR);
}
fs::path binaryDir() {
    return fs::path(PINET_BINARY_DIR);
}

std::vector<std::uint8_t> readAll(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot read " << path;
        return {};
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string readText(const fs::path& path) {
    const auto d = readAll(path);
    return {d.begin(), d.end()};
}

void writeText(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
        ADD_FAILURE() << "cannot write " << path;
    }
}

std::string sha256Hex(const std::vector<std::uint8_t>& data) {
    std::array<std::uint8_t, 32> md{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
    return proto::toHex(md);
}

namespace {
std::string drain(int fd) {
    std::string out;
    std::array<char, 4096> buf{};
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n <= 0) {
            break;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
}
}  // namespace

ProcessResult run(const std::vector<std::string>& args, const fs::path& cwd) {
    // stdout and stderr go to temp files: no pipe deadlock on large output.
    char outName[] = "/tmp/pinet-test-out.XXXXXX";
    char errName[] = "/tmp/pinet-test-err.XXXXXX";
    io::Fd outFd(::mkstemp(outName));
    io::Fd errFd(::mkstemp(errName));
    ::unlink(outName);
    ::unlink(errName);
    ProcessResult r;
    pid_t pid = ::fork();
    if (pid == 0) {
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            ::_exit(127);
        }
        ::dup2(outFd.get(), 1);
        ::dup2(errFd.get(), 2);
        std::vector<char*> argv;
        for (const auto& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    ::lseek(outFd.get(), 0, SEEK_SET);
    ::lseek(errFd.get(), 0, SEEK_SET);
    r.out = drain(outFd.get());
    r.err = drain(errFd.get());
    return r;
}

}  // namespace pinet::test
