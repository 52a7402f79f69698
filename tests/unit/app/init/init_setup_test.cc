#include "app/init/init_setup.h"

#include <gtest/gtest.h>

#include "app/config/config.h"
#include "app/settings.h"
#include "io/file.h"
#include "io/registry/registry.h"

namespace pinet::app::init {
namespace {

namespace cfg = app::config;

// What `ip -j addr show` prints on a machine with an uplink (DHCP-leased, default route)
// and a boot port with a static address (trimmed to the fields init reads).
constexpr const char* kIpAddr = R"([
 {"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],
  "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
  "addr_info":[{"family":"inet","local":"192.168.1.5","prefixlen":24,"dynamic":true},
               {"family":"inet6","local":"fe80::1","prefixlen":64}]},
 {"ifindex":3,"ifname":"eth1","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
  "addr_info":[{"family":"inet6","local":"fe80::2","prefixlen":64},
               {"family":"inet","local":"10.0.0.1","prefixlen":24}]},
 {"ifindex":4,"ifname":"wlan0","flags":["BROADCAST","MULTICAST"],"addr_info":[]}
])";
constexpr const char* kRoutes = R"([{"dst":"default","gateway":"192.168.1.1","dev":"eth0"}])";

InitFacts machine() {
    InitFacts f;
    f.interfaces = parseIpAddrJson(kIpAddr);
    const auto devs = parseDefaultRouteJson(kRoutes);
    for (auto& i : f.interfaces) {
        i.defaultRoute = devs.count(i.name) != 0;
    }
    f.nfs.ganesha = true;
    return f;
}

InitRequest request() {
    InitRequest r;
    r.stateDir = "/var/lib/pinetboot";
    return r;
}

TEST(InitParse, IpAddrJson) {
    const auto f = machine();
    ASSERT_EQ(f.interfaces.size(), 4u);
    EXPECT_TRUE(f.interfaces[0].loopback);
    EXPECT_EQ(f.interfaces[1].name, "eth0");
    EXPECT_EQ(f.interfaces[1].address, "192.168.1.5");
    EXPECT_TRUE(f.interfaces[1].dynamic);
    EXPECT_TRUE(f.interfaces[1].defaultRoute);
    EXPECT_EQ(f.interfaces[2].address, "10.0.0.1");  // the inet entry, not the inet6 one first
    EXPECT_EQ(f.interfaces[2].prefix, 24);
    EXPECT_FALSE(f.interfaces[2].dynamic);
    EXPECT_TRUE(f.interfaces[2].up);
    EXPECT_FALSE(f.interfaces[3].up);
    EXPECT_TRUE(f.interfaces[3].address.empty());
}

TEST(InitParse, HostileJsonIsSkippedNotTrusted) {
    EXPECT_TRUE(parseIpAddrJson("not json").empty());
    EXPECT_TRUE(parseIpAddrJson("{}").empty());
    const auto list = parseIpAddrJson(R"([
      1, "x", {"ifname":5}, {"ifname":"a/b"}, {"ifname":"toolonginterfacename"},
      {"ifname":"ok0","flags":"UP","addr_info":[{"family":"inet","local":"10.0.0.300","prefixlen":24},
         {"family":"inet","local":"10.0.0.9","prefixlen":"24"},
         {"family":"inet","local":"10.0.0.8","prefixlen":40},
         {"family":"inet","local":"10.0.0.7","prefixlen":16,"dynamic":"yes"}]}])");
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].name, "ok0");
    EXPECT_FALSE(list[0].up);  // flags must be an array
    EXPECT_EQ(list[0].address, "10.0.0.7");
    EXPECT_EQ(list[0].prefix, 16);
    EXPECT_FALSE(list[0].dynamic);
    EXPECT_EQ(parseDefaultRouteJson(R"([{"dev":"e\"th0"},{"dev":"eth9"},7])"),
              std::set<std::string>{"eth9"});
}

TEST(InitChoose, ProposesTheOnlyNonUplinkInterface) {
    EXPECT_EQ(proposeInterface(machine().interfaces), "eth1");
    // Two boot ports: not clear, the user must say.
    auto f = machine();
    auto extra = f.interfaces[2];
    extra.name = "eth2";
    extra.address = "10.1.0.1";
    f.interfaces.push_back(extra);
    EXPECT_EQ(proposeInterface(f.interfaces), "");
    // The uplink alone: the one port there is (proxy beside the site's DHCP).
    InitFacts one;
    one.interfaces = {machine().interfaces[1]};
    EXPECT_EQ(proposeInterface(one.interfaces), "eth0");
}

TEST(InitChoose, ProxyWhenADhcpServerAnswers) {
    auto f = machine();
    f.dhcpServers = std::set<std::string>{"10.0.0.254 offering 10.0.0.57"};
    auto p = planInit(request(), f);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->interface, "eth1");
    EXPECT_EQ(p->dhcp, "proxy");
    EXPECT_EQ(p->serverIp, "10.0.0.1");
    EXPECT_EQ(p->clientSubnet, "10.0.0.0/24");
    EXPECT_EQ(p->nfsBackend, "ganesha");
    EXPECT_TRUE(p->rangeFirst.empty());
    bool said = false;
    for (const auto& r : p->reasons) {
        said = said || r.find("10.0.0.254 offering 10.0.0.57") != std::string::npos;
    }
    EXPECT_TRUE(said);
}

TEST(InitChoose, FullWithARangeWhenNoneAnswers) {
    auto f = machine();
    f.dhcpServers = std::set<std::string>{};
    f.nfs.kernel = true;
    auto p = planInit(request(), f);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->dhcp, "full");
    EXPECT_EQ(p->rangeFirst, "10.0.0.128");
    EXPECT_EQ(p->rangeLast, "10.0.0.254");
    EXPECT_EQ(p->nfsBackend, "kernel");  // kernel first when both are installed
}

TEST(InitChoose, RangeAvoidsTheServerAndIsBounded) {
    EXPECT_EQ(proposeRange("10.0.0.200", 24),
              std::pair(std::string("10.0.0.1"), std::string("10.0.0.127")));
    // A /16: half would be 32766 addresses; capped at 1000.
    EXPECT_EQ(proposeRange("172.16.0.1", 16),
              std::pair(std::string("172.16.128.0"), std::string("172.16.131.231")));
    EXPECT_EQ(proposeRange("10.0.0.1", 29),
              std::pair(std::string("10.0.0.4"), std::string("10.0.0.6")));
    EXPECT_FALSE(proposeRange("10.0.0.1", 30));
    EXPECT_FALSE(proposeRange("nonsense", 24));
}

TEST(InitChoose, RefusesFullOnTheUplinkUnlessForced) {
    auto f = machine();
    f.dhcpServers = std::set<std::string>{};
    auto r = request();
    r.interface = "eth0";
    r.dhcp = "full";
    auto p = planInit(r, f);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("eth0 carries the default route"), std::string::npos);
    // The leased address is a second problem, reported in the same run.
    EXPECT_NE(p.error().message.find("leased by a DHCP client"), std::string::npos);
    EXPECT_NE(p.error().message.find("2 problems"), std::string::npos);
    r.force = true;
    auto forced = planInit(r, f);
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_EQ(forced->dhcp, "full");
    EXPECT_EQ(forced->warnings.size(), 2u);
}

TEST(InitChoose, EveryProblemAtOnceWithItsFix) {
    auto f = machine();  // not probed
    f.nfs = {};
    auto r = request();
    r.interface = "eth1";
    r.nfsBackend = "kernel";
    r.serverIp = "10.0.0.999";
    r.clientSubnet = "ten";
    auto p = planInit(r, f);
    ASSERT_FALSE(p);
    const auto& m = p.error().message;
    EXPECT_NE(m.find("4 problems"), std::string::npos) << m;
    EXPECT_NE(m.find("cannot tell whether a DHCP server answers on eth1"), std::string::npos);
    EXPECT_NE(m.find("--dhcp proxy"), std::string::npos);
    EXPECT_NE(m.find("apt install nfs-kernel-server"), std::string::npos);
    EXPECT_NE(m.find("--server-ip '10.0.0.999' is not an IPv4 address"), std::string::npos);
    EXPECT_NE(m.find("--client-subnet 'ten'"), std::string::npos);
}

TEST(InitChoose, UnclearOrMissingInterfaceNamesTheCandidates) {
    auto f = machine();
    auto extra = f.interfaces[2];
    extra.name = "eth2";
    extra.address = "10.1.0.1";
    f.interfaces.push_back(extra);
    auto p = planInit(request(), f);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("eth1 (10.0.0.1/24)"), std::string::npos) << p.error().message;
    EXPECT_NE(p.error().message.find("eth2 (10.1.0.1/24)"), std::string::npos);
    EXPECT_NE(p.error().message.find("pass --interface NAME"), std::string::npos);
    auto r = request();
    r.interface = "wlan0";
    r.dhcp = "proxy";
    p = planInit(r, f);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("wlan0 has no IPv4 address"), std::string::npos);
    r.interface = "lo";
    EXPECT_NE(planInit(r, f).error().message.find("loopback"), std::string::npos);
    r.interface = "eth7";
    EXPECT_NE(planInit(r, f).error().message.find("eth7 does not exist here"), std::string::npos);
}

TEST(InitChoose, ARangeOutsideTheSubnetIsRefused) {
    auto f = machine();
    f.dhcpServers = std::set<std::string>{};
    auto r = request();
    r.rangeFirst = "10.0.0.1";  // the server's own address
    r.rangeLast = "10.0.1.20";
    auto p = planInit(r, f);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("outside eth1's subnet"), std::string::npos);
    EXPECT_NE(p.error().message.find("own address"), std::string::npos);
}

TEST(InitChoose, FillDefaultsGivesThePromptsTheirDefaults) {
    auto f = machine();
    f.dhcpServers = std::set<std::string>{};
    const auto d = fillDefaults(request(), f);
    EXPECT_EQ(d.interface, "eth1");
    EXPECT_EQ(d.dhcp, "full");
    EXPECT_EQ(d.rangeFirst, "10.0.0.128");
    EXPECT_EQ(d.serverIp, "10.0.0.1");
    EXPECT_EQ(d.clientSubnet, "10.0.0.0/24");
    EXPECT_EQ(d.nfsBackend, "ganesha");
}

/// The written file passes check-config's parser and rules, and means what the plan says.
void expectAccepted(const InitPlan& p) {
    const auto text = renderConfig(p);
    auto checked = cfg::checkConfigText(text, "init.toml");
    EXPECT_TRUE(checked.errors.empty()) << cfg::joinErrors(checked.errors) << "\n" << text;
    EXPECT_TRUE(cfg::validationErrors(checked.config).empty()) << text;
    const auto& c = checked.config;
    ASSERT_EQ(c.interfaces.size(), 1u);
    EXPECT_EQ(c.interfaces[0].name, p.interface);
    EXPECT_EQ(c.interfaces[0].dhcp, p.dhcp == "full" ? cfg::DhcpMode::Full : cfg::DhcpMode::Proxy);
    EXPECT_EQ(c.interfaces[0].rangeFirst, p.rangeFirst);
    EXPECT_EQ(c.interfaces[0].rangeLast, p.rangeLast);
    EXPECT_EQ(c.stateDir, p.stateDir);
    EXPECT_EQ(c.tftpRoot, p.stateDir);
    EXPECT_EQ(c.nfsServer, p.serverIp);
    EXPECT_EQ(c.nfsBackend, p.nfsBackend);
    EXPECT_EQ(c.httpListen.text(), "127.0.0.1:8080");
}

TEST(InitConfig, RenderedFilePassesCheckConfig) {
    auto f = machine();
    f.dhcpServers = std::set<std::string>{"10.0.0.254 offering 10.0.0.57"};
    auto proxy = planInit(request(), f);
    ASSERT_TRUE(proxy);
    expectAccepted(*proxy);
    f.dhcpServers = std::set<std::string>{};
    auto full = planInit(request(), f);
    ASSERT_TRUE(full);
    expectAccepted(*full);
    const auto text = renderConfig(*full);
    EXPECT_NE(text.find("# Why init chose these values:"), std::string::npos);
    EXPECT_NE(text.find("no DHCP server answered on eth1"), std::string::npos);
}

TEST(InitConfig, OddStateDirIsEscaped) {
    auto f = machine();
    f.dhcpServers = std::set<std::string>{};
    auto r = request();
    r.stateDir = "/srv/a \"b\" \\c\td";
    auto p = planInit(r, f);
    ASSERT_TRUE(p);
    expectAccepted(*p);
}

TEST(InitApply, WritesTheFileAndStoresTheSettingsNeverReplacing) {
    io::TempDir tmp("init-test");
    auto f = machine();
    f.dhcpServers = std::set<std::string>{};
    auto r = request();
    r.stateDir = (tmp.path() / "state").string();
    auto p = planInit(r, f);
    ASSERT_TRUE(p);
    const auto file = tmp.path() / "pinetboot.toml";
    auto done = applyInit(*p, file, "first\n", false);
    ASSERT_TRUE(done) << done.error().message;
    auto reg = io::Registry::open(r.stateDir);
    ASSERT_TRUE(reg);
    auto s = loadSettings(*reg);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->serverIp, "10.0.0.1");
    EXPECT_EQ(s->clientSubnet, "10.0.0.0/24");
    EXPECT_EQ(s->nfsBackend, "ganesha");
    EXPECT_EQ(s->interface, "eth1");
    // Again without overwrite: refused, the file is unchanged.
    auto again = applyInit(*p, file, "second\n", false);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("already exists"), std::string::npos);
    auto bytes = io::readFile(file);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(std::string(bytes->begin(), bytes->end()), "first\n");
    ASSERT_TRUE(applyInit(*p, file, "second\n", true));
    bytes = io::readFile(file);
    EXPECT_EQ(std::string(bytes->begin(), bytes->end()), "second\n");
}

}  // namespace
}  // namespace pinet::app::init
