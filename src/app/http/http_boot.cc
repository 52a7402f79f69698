#include "app/http/http_boot.h"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/http/boot_path.h"
#include "core/tftp/client_dirs.h"
#include "io/fd.h"
#include "io/file_cache.h"
#include "io/fs/file_ops.h"
#include "proto/netboot/ids.h"
#include "proto/text/safe_text.h"

namespace pinet::app::http {

HttpBootServer::HttpBootServer(RootProvider rootProvider, core::BootEventSink* eventSink,
                               HttpBootLimits limits)
    : root_(std::move(rootProvider)),
      sink_(eventSink),
      server_(std::make_unique<io::HttpFileServer>(
          limits, "HTTP_BOOT", [this](const proto::http::Request& req, const io::HttpPeer& peer) {
              return handle(req, peer);
          })) {}

HttpBootServer::~HttpBootServer() {
    stop();
}

// On the server's loop thread: decide, open, and hand the descriptor over. The
// opens are a few system calls on a local directory, not a wait on the network.
io::HttpReply HttpBootServer::handle(const proto::http::Request& req, const io::HttpPeer& peer) {
    core::TransferRecord rec;
    rec.protocol = core::TransferRecord::Protocol::Http;
    rec.start = std::chrono::system_clock::now();
    rec.clientAddr = peer.ip + ":" + std::to_string(peer.port);
    // Percent-decoded by the parser: "%ff" is a raw byte. Made safe before it goes anywhere.
    rec.requestedPath = proto::text::safeText(req.path);
    const auto t0 = std::chrono::steady_clock::now();
    std::string prefix;
    std::string name;
    auto finishEarly = [&](core::TransferRecord::Result result, int status, std::string why) {
        io::HttpReply reply;
        reply.status = status;
        reply.body = why + "\n";
        rec.result = result;
        rec.detail = std::move(why);
        rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - t0);
        spdlog::info("HTTP_BOOT_DENIED client={} path={} status={} reason={}", rec.clientAddr,
                     rec.requestedPath, status, rec.detail);
        if (sink_ != nullptr) {
            sink_->onEvent(rec);
        }
        return reply;
    };
    // An EEPROM rollout's pieeprom.sig / pieeprom.upd for ".../<serial>/<name>", served
    // from the rollout's folder (never the boot root) to the boards it is offered to.
    std::optional<std::string> overlayDir;
    if (overlay_) {
        std::string_view rel = req.path;
        while (!rel.empty() && rel.front() == '/') {
            rel.remove_prefix(1);
        }
        if (auto clean = core::tftp::sanitizePath(rel)) {
            const auto slash = clean->rfind('/');
            if (slash != std::string::npos && slash >= 8) {
                const std::string leaf = clean->substr(slash + 1);
                if (auto serial = proto::netboot::parseSerialDir(clean->substr(slash - 8, 8));
                    serial && (slash == 8 || (*clean)[slash - 9] == '/') &&
                    (leaf == "pieeprom.sig" || leaf == "pieeprom.upd")) {
                    overlayDir = overlay_(*serial, leaf);
                    if (overlayDir) {
                        prefix = clean->substr(0, slash);
                        name = leaf;
                    }
                }
            }
        }
    }
    if (!overlayDir && !parseBootPath(req.path, prefix, name)) {
        return finishEarly(core::TransferRecord::Result::Refused, 403,
                           "only <path>/boot.img and <path>/boot.sig are served");
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
        return finishEarly(core::TransferRecord::Result::NotFound, 404,
                           rec.requestedPath + " not found");
    };
    auto rootFd = io::openDirectory(overlayDir ? *overlayDir : root_());
    if (!rootFd) {
        return notFound();
    }
    auto fd = io::openBeneath(rootFd->get(), overlayDir ? name : rec.requestedPath);
    if (!fd) {
        if (fd.error() == io::OpenError::Escape) {
            return finishEarly(core::TransferRecord::Result::Refused, 403,
                               rec.requestedPath + " leads outside the boot root");
        }
        return notFound();
    }
    auto size = io::fileSize(fd->get());
    if (!size) {
        return notFound();
    }
    rec.fileSize = *size;
    spdlog::debug("HTTP_BOOT_START client={} path={} size={}", rec.clientAddr, rec.requestedPath,
                  *size);
    ++inFlight_;
    io::HttpReply reply;
    reply.file = std::move(*fd);
    reply.fileSize = *size;
    reply.fields.emplace_back("Cache-Control", "no-store");
    reply.finished = [this, rec = std::move(rec), t0](const io::HttpExchangeEnd& x) mutable {
        using R = core::TransferRecord::Result;
        using How = io::HttpExchangeEnd::How;
        rec.bytes = x.bodyBytes;
        rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - t0);
        if (x.head) {
            rec.result = R::SizeQuery;
            rec.detail = "HEAD";
        } else {
            switch (x.how) {
                case How::Complete:
                    if (x.status == 416) {
                        rec.result = R::ClientError;
                        rec.detail = "range not satisfiable";
                    } else {
                        rec.result = R::Ok;
                        if (x.range) {
                            rec.detail = fmt::format("bytes {}-{}/{}", x.range->first,
                                                     x.range->last, rec.fileSize);
                        }
                    }
                    break;
                case How::PeerClosed:
                    rec.result = R::ClientError;
                    rec.detail = fmt::format("connection closed after {} bytes", x.bodyBytes);
                    break;
                case How::Stalled:
                    rec.result = R::Timeout;
                    rec.detail = fmt::format("no progress for {} ms after {} bytes",
                                             server_->limits().ioTimeout.count(), x.bodyBytes);
                    break;
                case How::ReadError:
                    rec.result = R::ServerError;
                    rec.detail = "read error";
                    break;
                case How::Stopped:
                    rec.result = R::ServerError;
                    rec.detail = fmt::format("server stopped after {} bytes", x.bodyBytes);
                    break;
            }
        }
        --inFlight_;
        if (sink_ != nullptr) {
            sink_->onEvent(rec);
        }
    };
    return reply;
}

std::uint64_t HttpBootServer::refusedOverCap() const {
    return server_->counters().refusedOverCap;
}

std::uint64_t HttpBootServer::headerTimeouts() const {
    return server_->counters().headerTimeouts;
}

io::HttpFileServer::Counters HttpBootServer::counters() const {
    return server_->counters();
}

void HttpBootServer::setProgressHook(io::HttpFileServer::ProgressHook hook) {
    server_->setProgressHook(std::move(hook));
}

void HttpBootServer::start(const std::string& host, std::uint16_t port) {
    auto bound = server_->start(host, port);
    if (!bound) {
        throw std::runtime_error("http boot: cannot listen on " + host + ":" +
                                 std::to_string(port) + ": " + bound.error().message);
    }
    port_ = *bound;
}

void HttpBootServer::stop(std::chrono::milliseconds drain) {
    server_->stop(drain);
}

}  // namespace pinet::app::http
