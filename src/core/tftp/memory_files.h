#pragma once
// A FileSource over content held in memory: what the engine's unit tests and
// its fuzzer serve, and a way to serve generated files without a folder.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tftp/file_source.h"

namespace pinet::core::tftp {

class MemoryFiles final : public FileSource {
public:
    /// Serves @p content at @p path (sanitised form, relative to the root).
    void add(const std::string& path, std::vector<std::uint8_t> content);
    /// @p path answers with @p error instead (a folder, a FIFO, a denied file).
    void setError(const std::string& path, FileError error);
    /// Netascii content is served as stored: conversion is the cache's job.
    tl::expected<std::shared_ptr<const FileContent>, FileError> open(const std::string& relPath,
                                                                     bool netascii) override;
    /// Transfers (or queued datagrams) still holding @p path's content, besides this table.
    [[nodiscard]] long holders(const std::string& path) const;

private:
    std::map<std::string, std::shared_ptr<const FileContent>, std::less<>> files_;
    std::map<std::string, FileError, std::less<>> errors_;
};

}  // namespace pinet::core::tftp
