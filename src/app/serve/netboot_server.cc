#include "app/serve/netboot_server.h"

#include <stdexcept>

#include "io/net/interface.h"
#include "proto/dhcp/dhcp_packet.h"

namespace pinet::app {

NetbootServer::NetbootServer(NetbootConfig config, core::BootEventSink* sink)
    : config_(std::move(config)), sink_(sink) {}

NetbootServer::~NetbootServer() { stop(); }

void NetbootServer::start() {
    auto info = io::interfaceInfo(config_.dhcp.interface, true);
    if (!info) {
        throw std::runtime_error(info.error().message);
    }
    if (config_.tftp.listen.empty() || config_.tftp.listen == "0.0.0.0:69") {
        // TFTP on the served interface's address only, the address DHCP advertises.
        config_.tftp.listen = proto::dhcp::ipToString(info->ip) + ":69";
    }
    auto tftp = TftpServer::create(config_.tftp);
    if (!tftp) {
        throw std::runtime_error("tftp: " + tftp.error().message);
    }
    tftp_ = std::move(*tftp);
    tftp_->setEventSink(sink_);
    tftp_->setResolver(std::make_shared<FolderClientResolver>(config_.tftp.root));
    dhcp_ = std::make_unique<DhcpServer>(config_.dhcp, sink_);
    dhcp_->start();
    tftp_->start();
}

void NetbootServer::stop() {
    if (dhcp_) {
        dhcp_->stop();
    }
    if (tftp_) {
        tftp_->stop(std::chrono::seconds(2));
    }
}

TftpCounters NetbootServer::tftpCounters() const { return tftp_ ? tftp_->counters() : TftpCounters{}; }

std::string NetbootServer::tftpAddress() const { return tftp_ ? tftp_->listenAddress() : ""; }

}  // namespace pinet::app
