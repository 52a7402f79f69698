#include "io/net/interface.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <memory>

namespace pinet::io {

Result<InterfaceInfo> interfaceInfo(const std::string& name, bool needIpv4) {
    InterfaceInfo info;
    info.name = name;
    info.index = static_cast<int>(::if_nametoindex(name.c_str()));
    if (info.index == 0) {
        return fail("interface " + name + ": no such interface");
    }
    ifaddrs* raw = nullptr;
    if (::getifaddrs(&raw) != 0) {
        return fail("interface " + name + ": getifaddrs: " + std::strerror(errno));
    }
    std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> list(raw, &::freeifaddrs);
    for (ifaddrs* a = raw; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || name != a->ifa_name) {
            continue;
        }
        if (a->ifa_addr->sa_family == AF_INET && info.ip == 0) {
            sockaddr_in sin{};
            std::memcpy(&sin, a->ifa_addr, sizeof sin);
            info.ip = ntohl(sin.sin_addr.s_addr);
            if (a->ifa_netmask != nullptr) {
                sockaddr_in mask{};
                std::memcpy(&mask, a->ifa_netmask, sizeof mask);
                info.netmask = ntohl(mask.sin_addr.s_addr);
            }
        } else if (a->ifa_addr->sa_family == AF_PACKET) {
            sockaddr_ll ll{};
            std::memcpy(&ll, a->ifa_addr, sizeof ll);
            if (ll.sll_halen == 6) {
                std::memcpy(info.mac.data(), ll.sll_addr, 6);
            }
        }
    }
    if (needIpv4 && info.ip == 0) {
        return fail("interface " + name + ": has no IPv4 address");
    }
    return info;
}

Result<unsigned> interfaceMtu(const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
        return fail("interface " + name + ": not an interface name");
    }
    std::ifstream in("/sys/class/net/" + name + "/mtu");
    unsigned mtu = 0;
    if (!(in >> mtu) || mtu == 0) {
        return fail("interface " + name + ": cannot read its MTU");
    }
    return mtu;
}

}  // namespace pinet::io
