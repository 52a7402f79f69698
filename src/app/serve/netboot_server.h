#pragma once
// DHCP + TFTP on one interface, sharing one BootEventSink so a boot can be
// followed from DISCOVER to the last file. The minimal `serve` of issue 4;
// the daemon issue adds config file, registry and HTTP around it.

#include <memory>
#include <string>

#include "app/dhcp/dhcp_server.h"
#include "app/tftp/tftp_server.h"

namespace pinet::app {

struct NetbootConfig {
    DhcpServerConfig dhcp;
    /// root must be set; listen defaults to "<interface address>:69".
    TftpServerConfig tftp;
};

class NetbootServer {
public:
    /// @p sink must outlive the server; may be null.
    NetbootServer(NetbootConfig config, core::BootEventSink* sink);
    ~NetbootServer();
    NetbootServer(const NetbootServer&) = delete;
    NetbootServer& operator=(const NetbootServer&) = delete;

    /// Throws std::runtime_error with one clear line on any start-up failure.
    void start();
    void stop();

    [[nodiscard]] DhcpServerCounters dhcpCounters() const { return dhcp_->counters(); }
    [[nodiscard]] TftpCounters tftpCounters() const;
    [[nodiscard]] std::string tftpAddress() const;

private:
    NetbootConfig config_;
    core::BootEventSink* sink_;
    std::unique_ptr<DhcpServer> dhcp_;
    std::unique_ptr<TftpServer> tftp_;
};

}  // namespace pinet::app
