#include "app/http/http_boot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "io/fd.h"

namespace pinet::app::http {

namespace {

bool plainName(const std::string& s) {
    if (s.empty() || s == "." || s == ".." || s.size() > 128) {
        return false;
    }
    for (unsigned char c : s) {
        if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

bool isSerial(const std::string& s) {
    if (s.size() != 8) {
        return false;
    }
    for (unsigned char c : s) {
        if (!std::isxdigit(c)) {
            return false;
        }
    }
    return true;
}

bool isDashMac(const std::string& s) {
    if (s.size() != 17) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i % 3 == 2 ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    return true;
}

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

bool parseBootPath(const std::string& path, std::string& prefix, std::string& name) {
    if (path.empty() || path[0] != '/') {
        return false;
    }
    const auto slash = path.rfind('/');
    name = path.substr(slash + 1);
    if (name != "boot.img" && name != "boot.sig") {
        return false;
    }
    prefix.clear();
    std::size_t pos = 1;
    while (pos < slash) {
        auto next = path.find('/', pos);
        const auto part = path.substr(pos, next - pos);
        if (part.empty()) {  // tolerate "//"
            pos = next + 1;
            continue;
        }
        if (!plainName(part)) {
            return false;
        }
        prefix += prefix.empty() ? part : "/" + part;
        pos = next + 1;
    }
    return true;
}

HttpBootServer::HttpBootServer(RootProvider rootProvider, core::BootEventSink* eventSink)
    : root_(std::move(rootProvider)), sink_(eventSink), server_(std::make_unique<httplib::Server>()) {
    // A Pi fetches boot.sig then boot.img (sometimes twice, spec 5); 16 workers
    // serve a room of boards at once.
    server_->new_task_queue = [] { return new httplib::ThreadPool(16); };
    server_->set_read_timeout(30, 0);
    server_->set_write_timeout(30, 0);
    server_->set_payload_max_length(4096);
    server_->Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
        core::TransferRecord rec;
        rec.protocol = core::TransferRecord::Protocol::Http;
        rec.start = std::chrono::system_clock::now();
        rec.clientAddr = req.remote_addr + ":" + std::to_string(req.remote_port);
        rec.requestedPath = req.path;
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
        const auto last = prefix.substr(prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/') + 1);
        if (isSerial(last)) {
            rec.serial = last;
            for (auto& c : *rec.serial) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
        } else if (isDashMac(last)) {
            rec.mac = last;
        }
        const std::string root = root_();
        const std::string file = root + "/" + rec.requestedPath;
        io::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st {};
        if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
            finishEarly(core::TransferRecord::Result::NotFound, 404, rec.requestedPath + " not found");
            return;
        }
        auto t = std::make_shared<Transfer>();
        t->fd = std::move(fd);
        t->size = static_cast<std::uint64_t>(st.st_size);
        t->record = rec;
        t->record.fileSize = t->size;
        t->started = t0;
        t->head = req.method == "HEAD";
        ++inFlight_;
        spdlog::debug("HTTP_BOOT_START client={} path={} size={}", rec.clientAddr, rec.requestedPath,
                      t->size);
        res.set_header("Cache-Control", "no-store");
        // Content-Length from the size: never chunked (spec 5).
        res.set_content_provider(
            t->size, "application/octet-stream",
            [t](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                // 64 KiB reads: few syscalls, small per-connection buffer.
                char buf[65536];
                const auto want = std::min<std::size_t>(length, sizeof(buf));
                const auto n = ::pread(t->fd.get(), buf, want, static_cast<off_t>(offset));
                if (n <= 0) {
                    t->record.detail = "read error";
                    return false;
                }
                if (!sink.write(buf, static_cast<std::size_t>(n))) {
                    return false;
                }
                t->sent = offset + static_cast<std::uint64_t>(n);
                return true;
            },
            [this, t](bool success) {
                auto& r = t->record;
                r.bytes = t->sent;
                r.duration = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - t->started);
                using R = core::TransferRecord::Result;
                r.result = t->head                              ? R::Probe
                           : success && t->sent == t->size ? R::Ok
                           : r.detail == "read error"    ? R::ServerError
                                                         : R::ClientError;
                if (r.result == R::Probe) {
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

HttpBootServer::~HttpBootServer() { stop(); }

void HttpBootServer::start(const std::string& host, std::uint16_t port) {
    int bound = 0;
    if (port == 0) {
        bound = server_->bind_to_any_port(host);
    } else {
        bound = server_->bind_to_port(host, port) ? port : -1;
    }
    if (bound <= 0) {
        throw std::runtime_error("http boot: cannot listen on " + host + ":" + std::to_string(port));
    }
    port_ = static_cast<std::uint16_t>(bound);
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
