#include "app/http/http_boot.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/http/boot_path.h"
#include "io/fd.h"
#include "io/file_cache.h"
#include "io/fs/file_ops.h"
#include "io/net/guarded_http_server.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app::http {

namespace {

/// Per-response state shared by the content provider and the releaser.
struct Transfer {
    io::Fd fd;
    std::uint64_t size = 0;
    std::uint64_t sent = 0;
    core::TransferRecord record;
    std::chrono::steady_clock::time_point started;
    bool head = false;
};

}  // namespace

HttpBootServer::HttpBootServer(RootProvider rootProvider, core::BootEventSink* eventSink,
                               HttpBootLimits limits)
    : root_(std::move(rootProvider)),
      sink_(eventSink),
      server_(std::make_unique<io::GuardedHttpServer>(limits, "HTTP_BOOT")) {
    // A Pi fetches boot.sig then boot.img (sometimes twice, spec 5): the workers are
    // about the boards booting at once; a connection that stalls is bounded by limits.
    const auto workers = std::max<std::size_t>(limits.workers, 1);
    server_->new_task_queue = [workers] {
        return new httplib::ThreadPool(workers);
    };
    // httplib's accept loop sets these as SO_RCVTIMEO/SO_SNDTIMEO; GuardedStream polls
    // with the same bound before each read and write.
    const auto io = std::chrono::duration_cast<std::chrono::seconds>(limits.ioTimeout);
    server_->set_read_timeout(std::max<std::int64_t>(io.count(), 1), 0);
    server_->set_write_timeout(std::max<std::int64_t>(io.count(), 1), 0);
    server_->set_payload_max_length(4096);
    server_->Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
        core::TransferRecord rec;
        rec.protocol = core::TransferRecord::Protocol::Http;
        rec.start = std::chrono::system_clock::now();
        rec.clientAddr = req.remote_addr + ":" + std::to_string(req.remote_port);
        // Decoded by httplib: "%ff" is a raw byte. Made safe before it goes anywhere.
        rec.requestedPath = proto::text::safeText(req.path);
        const auto t0 = std::chrono::steady_clock::now();
        std::string prefix;
        std::string name;
        auto finishEarly = [&](core::TransferRecord::Result result, int status, std::string why) {
            res.status = status;
            res.set_content(why + "\n", "text/plain");
            rec.result = result;
            rec.detail = why;
            rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0);
            spdlog::info("HTTP_BOOT_DENIED client={} path={} status={} reason={}", rec.clientAddr,
                         req.path, status, why);
            if (sink_ != nullptr) {
                sink_->onEvent(rec);
            }
        };
        if (!parseBootPath(req.path, prefix, name)) {
            finishEarly(core::TransferRecord::Result::Refused, 403,
                        "only <path>/boot.img and <path>/boot.sig are served");
            return;
        }
        rec.requestedPath = prefix.empty() ? name : prefix + "/" + name;
        const auto last =
            prefix.substr(prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/') + 1);
        if (auto serial = proto::netboot::parseSerialDir(last)) {
            rec.serial = std::move(*serial);
        } else if (auto mac = proto::netboot::parseMacDir(last)) {
            rec.mac = std::move(*mac);
        }
        // Resolved beneath the root in the kernel (as TFTP): a symlink that leads out of
        // the root is refused, whatever the path string looked like.
        auto notFound = [&] {
            finishEarly(core::TransferRecord::Result::NotFound, 404,
                        rec.requestedPath + " not found");
        };
        auto rootFd = io::openDirectory(root_());
        if (!rootFd) {
            notFound();
            return;
        }
        auto fd = io::openBeneath(rootFd->get(), rec.requestedPath);
        if (!fd) {
            if (fd.error() == io::OpenError::Escape) {
                finishEarly(core::TransferRecord::Result::Refused, 403,
                            rec.requestedPath + " leads outside the boot root");
            } else {
                notFound();
            }
            return;
        }
        auto size = io::fileSize(fd->get());
        if (!size) {
            notFound();
            return;
        }
        auto t = std::make_shared<Transfer>();
        t->fd = std::move(*fd);
        t->size = *size;
        t->record = rec;
        t->record.fileSize = t->size;
        t->started = t0;
        t->head = req.method == "HEAD";
        ++inFlight_;
        spdlog::debug("HTTP_BOOT_START client={} path={} size={}", rec.clientAddr,
                      rec.requestedPath, t->size);
        res.set_header("Cache-Control", "no-store");
        // Content-Length from the size: never chunked (spec 5).
        res.set_content_provider(
            t->size, "application/octet-stream",
            [t](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                // 64 KiB reads: few syscalls, small per-connection buffer.
                std::array<std::uint8_t, 65536> buf;
                const auto want = std::min<std::size_t>(length, buf.size());
                const auto n = io::readAt(t->fd.get(), std::span(buf.data(), want), offset);
                if (!n || *n == 0) {
                    t->record.detail = "read error";
                    return false;
                }
                if (!sink.write(reinterpret_cast<const char*>(buf.data()), *n)) {
                    return false;
                }
                t->sent = offset + *n;
                return true;
            },
            [this, t](bool success) {
                auto& r = t->record;
                r.bytes = t->sent;
                r.duration = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - t->started);
                using R = core::TransferRecord::Result;
                r.result = t->head                         ? R::SizeQuery
                           : success && t->sent == t->size ? R::Ok
                           : r.detail == "read error"      ? R::ServerError
                                                           : R::ClientError;
                if (r.result == R::SizeQuery) {
                    r.detail = "HEAD";
                } else if (r.result == R::ClientError) {
                    r.detail = "connection closed after " + std::to_string(t->sent) + " bytes";
                }
                --inFlight_;
                if (sink_ != nullptr) {
                    sink_->onEvent(r);
                }
            });
    });
}

HttpBootServer::~HttpBootServer() {
    stop();
}

std::uint64_t HttpBootServer::refusedOverCap() const {
    return server_->refusedOverCap();
}

std::uint64_t HttpBootServer::headerTimeouts() const {
    return server_->headerTimeouts();
}

void HttpBootServer::start(const std::string& host, std::uint16_t port) {
    int bound = 0;
    if (port == 0) {
        bound = server_->bind_to_any_port(host);
    } else {
        bound = server_->bind_to_port(host, port) ? port : -1;
    }
    if (bound <= 0) {
        throw std::runtime_error("http boot: cannot listen on " + host + ":" +
                                 std::to_string(port));
    }
    port_ = static_cast<std::uint16_t>(bound);
    server_->widenBacklog();
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void HttpBootServer::stop() {
    if (thread_.joinable()) {
        server_->stop();
        thread_.join();
    }
}

}  // namespace pinet::app::http
