#pragma once
// Paths and small helpers for tests.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pinet::test {

/// ../shared (spec, testdata, testlab).
std::filesystem::path sharedDir();
/// ../shared/testdata/eeprom
std::filesystem::path eepromTestData();
/// The built pinetboot executable.
std::filesystem::path pinetbootExe();
/// The source tree root.
std::filesystem::path sourceDir();
/// The build tree root.
std::filesystem::path binaryDir();

/// Reads a file whole; fails the current test (and returns {}) if it cannot.
std::vector<std::uint8_t> readAll(const std::filesystem::path& path);
/// A file's content as text ({} and a test failure if it cannot be read).
std::string readText(const std::filesystem::path& path);
/// Writes @p text to @p path, replacing it (a test failure if it cannot).
void writeText(const std::filesystem::path& path, const std::string& text);
/// sha256 as 64 lowercase hex characters.
std::string sha256Hex(const std::vector<std::uint8_t>& data);

struct ProcessResult {
    int exitCode = -1;
    std::string out;
    std::string err;
};

/// Runs a program (no shell) with @p args, capturing stdout and stderr.
/// @p cwd empty = current directory.
ProcessResult run(const std::vector<std::string>& args, const std::filesystem::path& cwd = {});

}  // namespace pinet::test
