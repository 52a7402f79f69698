#include "core/virtual_pi/pi_board.h"

#include <gtest/gtest.h>

#include <map>

#include "proto/dhcp/pxe.h"
#include "proto/tftp/packet.h"

namespace pinet::core::virtual_pi {
namespace {

namespace d = proto::dhcp;
namespace t = proto::tftp;
using namespace std::chrono_literals;

constexpr Ip4 kProxy = 0x0a630001;   // 10.99.0.1
constexpr Ip4 kRouter = 0x0a6300fe;  // 10.99.0.254
const Clock::time_point kT0{std::chrono::seconds(1000)};

BoardConfig pi4() {
    BoardConfig c;
    c.model = Model::Pi4;
    c.serial = 0x1234abcd;
    c.mac = {0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03};
    return c;
}

std::vector<SendDhcp> dhcpSends(const std::vector<Action>& acts) {
    std::vector<SendDhcp> out;
    for (const auto& a : acts) {
        if (const auto* s = std::get_if<SendDhcp>(&a)) {
            out.push_back(*s);
        }
    }
    return out;
}

d::Packet reply(const PiBoard& b, d::MessageType type, Ip4 server, Ip4 yiaddr) {
    d::Packet p;
    p.op = d::Op::BootReply;
    p.xid = b.xid();
    p.setMac(b.config().mac);
    p.yiaddr = yiaddr;
    p.setU8(d::opt::MessageType, static_cast<std::uint8_t>(type));
    p.setIp(d::opt::ServerId, server);
    return p;
}

d::Packet proxyOffer(const PiBoard& b, std::string_view menu = "Raspberry Pi Boot") {
    auto p = reply(b, d::MessageType::Offer, kProxy, 0);
    p.setString(d::opt::VendorClass, "PXEClient");
    p.set(d::opt::VendorSpecific, d::buildPxeMenuOption(menu));
    return p;
}

TEST(PiBoard, DiscoverIsExactlyThePiLayout) {
    PiBoard b(pi4(), 0xd383a6ac, 0);
    auto acts = b.start(kT0);
    auto sends = dhcpSends(acts);
    ASSERT_EQ(sends.size(), 1u);
    auto p = d::parse(sends[0].payload);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->flags, 0);  // spec §2.1: broadcast bit not set
    EXPECT_EQ(p->hops, 0);
    EXPECT_EQ(p->secs, 0);
    EXPECT_EQ(p->ciaddr, 0u);
    EXPECT_EQ(p->xid, 0xd383a6acu);
    ASSERT_EQ(p->options.size(), 6u);
    const std::uint8_t order[] = {53, 55, 93, 94, 97, 60};
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(p->options[i].code, order[i]) << i;
    }
    EXPECT_EQ(p->find(55)->data, (std::vector<std::uint8_t>{1, 3, 43, 60, 66, 67, 128, 129, 130,
                                                            131, 132, 133, 134, 135}));
    EXPECT_EQ(p->find(93)->data, (std::vector<std::uint8_t>{0, 0}));
    EXPECT_EQ(p->find(94)->data, (std::vector<std::uint8_t>{1, 2, 1}));
    EXPECT_EQ(*p->stringOption(60), "PXEClient:Arch:00000:UNDI:002001");
    // Option 97: 00 'RPi4' rev LE, mac[2..5], serial LE (spec §2.2).
    const std::vector<std::uint8_t> guid = {0x00, 'R',  'P',  'i',  '4',  0x15, 0x31, 0xc0, 0x00,
                                            0x32, 0x01, 0x02, 0x03, 0xcd, 0xab, 0x34, 0x12};
    EXPECT_EQ(p->find(97)->data, guid);
}

TEST(PiBoard, Pi5SaysRPi5) {
    auto c = pi4();
    c.model = Model::Pi5;
    PiBoard b(c, 1, 0);
    auto g = d::parsePiGuid(b.buildDiscover().find(97)->data);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->model(), "RPi5");
}

TEST(PiBoard, MergesProxyAndAddressOffersThenRequestsWithoutOption60) {
    PiBoard b(pi4(), 7, 0);
    b.start(kT0);
    // The address offer alone is not enough (no option 43).
    EXPECT_TRUE(
        b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, kT0 + 1ms).empty());
    auto acts = b.onDhcp(proxyOffer(b), kProxy, kT0 + 2ms);
    auto sends = dhcpSends(acts);
    ASSERT_EQ(sends.size(), 1u);
    auto req = d::parse(sends[0].payload);
    ASSERT_TRUE(req);
    EXPECT_EQ(*req->messageType(), d::MessageType::Request);
    EXPECT_EQ(*req->ipOption(d::opt::RequestedIp), 0x0a630064u);
    EXPECT_EQ(*req->ipOption(d::opt::ServerId), kRouter);  // the address server, not the proxy
    EXPECT_EQ(req->find(d::opt::VendorClass), nullptr);    // spec §2.3
    EXPECT_NE(req->find(d::opt::ClientMachineId), nullptr);
}

TEST(PiBoard, TftpServerChoicePrecedence) {
    struct Case {
        bool opt66;
        Ip4 siaddr;
        Ip4 expected;
    };
    const Ip4 kTftp66 = 0x0a630042;
    const Ip4 kSi = 0x0a630043;
    for (const Case& c :
         {Case{true, kSi, kTftp66}, Case{false, kSi, kSi}, Case{false, 0, kProxy}}) {
        PiBoard b(pi4(), 7, 0);
        b.start(kT0);
        auto po = proxyOffer(b);
        po.siaddr = c.siaddr;
        if (c.opt66) {
            po.setString(d::opt::TftpServerName, "10.99.0.66");
        }
        b.onDhcp(po, kProxy, kT0);
        b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, kT0);
        auto acts = b.onDhcp(reply(b, d::MessageType::Ack, kRouter, 0x0a630064), kRouter, kT0);
        EXPECT_EQ(b.tftpServer(), c.expected);
        ASSERT_FALSE(acts.empty());
        const auto* rrq = std::get_if<SendTftp>(&acts[0]);
        ASSERT_NE(rrq, nullptr);
        EXPECT_EQ(rrq->ip, c.expected);
        EXPECT_EQ(rrq->port, 69);
    }
}

// Drives a booted-to-TFTP board with a fake TFTP server holding @p files.
struct FakeServer {
    std::map<std::string, std::size_t> files;
    std::vector<std::string> requests;
    std::uint16_t nextPort = 40000;

    /// Runs until the board finishes; every request is answered at once.
    void run(PiBoard& b, std::vector<Action> acts, Clock::time_point now) {
        std::map<int, std::pair<std::string, std::uint16_t>> sessions;  // file, port
        std::map<int, std::size_t> sizes;
        for (int guard = 0; guard < 100000 && !b.finished(); ++guard) {
            if (acts.empty()) {
                now = b.nextDeadline();
                acts = b.onTimer(now);
                continue;
            }
            std::vector<Action> next;
            for (const auto& a : acts) {
                const auto* s = std::get_if<SendTftp>(&a);
                if (s == nullptr) {
                    continue;
                }
                auto pkt = t::parse(s->bytes);
                ASSERT_TRUE(pkt);
                std::vector<std::uint8_t> answer;
                std::uint16_t port = 0;
                if (const auto* rq = std::get_if<t::Request>(&*pkt)) {
                    requests.push_back(rq->filename);
                    auto it = files.find(rq->filename);
                    port = nextPort++;
                    if (it == files.end()) {
                        answer = t::buildError(t::ErrorCode::FileNotFound, "not found");
                    } else {
                        sessions[s->session] = {rq->filename, port};
                        sizes[s->session] = it->second;
                        answer = t::buildOack({{"tsize", std::to_string(it->second)},
                                               {"blksize", rq->options[1].value}});
                    }
                } else if (const auto* ack = std::get_if<t::Ack>(&*pkt)) {
                    const std::size_t bs = 1468;
                    const std::size_t size = sizes[s->session];
                    // Blocks 1..size/bs+1; the last one is short (possibly empty).
                    if (ack->block >= size / bs + 1) {
                        continue;  // final ACK: transfer over
                    }
                    const std::size_t off = ack->block * bs;
                    std::vector<std::uint8_t> data(std::min(bs, size - off), 0x5a);
                    answer = t::buildData(static_cast<std::uint16_t>(ack->block + 1), data);
                    port = sessions[s->session].second;
                } else {
                    continue;  // ERROR (early terminate)
                }
                auto more = b.onTftp(s->session, port, answer, now);
                next.insert(next.end(), more.begin(), more.end());
            }
            acts = std::move(next);
        }
    }
};

PiBoard bootToTftp(BoardConfig c, std::vector<Action>& acts) {
    PiBoard b(c, 7, 0);
    b.start(kT0);
    b.onDhcp(proxyOffer(b), kProxy, kT0);
    b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, kT0);
    acts = b.onDhcp(reply(b, d::MessageType::Ack, kRouter, 0x0a630064), kRouter, kT0);
    return b;
}

TEST(PiBoard, Pi4FileSequenceWithProbeAndAbort) {
    FakeServer s;
    for (const char* f : {"start4.elf", "fixup4.dat", "config.txt", "bcm2711-rpi-4-b.dtb",
                          "cmdline.txt", "kernel8.img"}) {
        s.files[std::string("1234abcd/") + f] = 3000;
    }
    std::vector<Action> acts;
    PiBoard b = bootToTftp(pi4(), acts);
    s.run(b, acts, kT0);
    EXPECT_TRUE(b.booted()) << b.verdict();
    ASSERT_GE(s.requests.size(), 10u);
    EXPECT_EQ(s.requests[0], "1234abcd/start4.elf");  // prefix probe first
    EXPECT_EQ(s.requests[1], "1234abcd/config.txt");
    EXPECT_EQ(s.requests[2], "1234abcd/vl805.sig");  // Pi 4B only
    EXPECT_NE(std::find(s.requests.begin(), s.requests.end(), "1234abcd/kernel8.img"),
              s.requests.end());
    EXPECT_TRUE(b.kernelTime().has_value());
    EXPECT_NE(b.verdict().find("kernel kernel8.img"), std::string::npos);
}

TEST(PiBoard, PrefixFallbackToRootAndMissingFileVerdict) {
    FakeServer s;
    s.files["config.txt"] = 10;  // no start4.elf anywhere
    std::vector<Action> acts;
    auto c = pi4();
    c.model = Model::Cm4;
    PiBoard b = bootToTftp(c, acts);
    s.run(b, acts, kT0);
    EXPECT_FALSE(b.booted());
    EXPECT_EQ(s.requests[0], "1234abcd/start4.elf");
    EXPECT_EQ(s.requests[1], "1234abcd/start.elf");
    EXPECT_EQ(s.requests[2], "config.txt");                                       // prefix cleared
    EXPECT_EQ(std::count(s.requests.begin(), s.requests.end(), "vl805.sig"), 0);  // CM4
    EXPECT_EQ(b.verdict(), "does not boot: start4.elf not found under 1234abcd/ nor /");
}

TEST(PiBoard, Pi5FallsBackToKernel8AndUses1468) {
    FakeServer s;
    for (const char* f : {"config.txt", "bcm2712-rpi-5-b.dtb", "kernel8.img"}) {
        s.files[std::string("1234abcd/") + f] = 5000;
    }
    std::vector<Action> acts;
    auto c = pi4();
    c.model = Model::Pi5;
    c.bootloader = Bootloader::V2020;  // the 2712 always asks for 1468
    PiBoard b = bootToTftp(c, acts);
    const auto* rrq = std::get_if<SendTftp>(&acts[0]);
    ASSERT_NE(rrq, nullptr);
    auto req = std::get<t::Request>(*t::parse(rrq->bytes));
    EXPECT_EQ(req.options[0], (t::Option{"tsize", "0"}));
    EXPECT_EQ(req.options[1], (t::Option{"blksize", "1468"}));
    s.run(b, acts, kT0);
    EXPECT_TRUE(b.booted()) << b.verdict();
    EXPECT_NE(std::find(s.requests.begin(), s.requests.end(), "1234abcd/kernel_2712.img"),
              s.requests.end());
    EXPECT_NE(b.verdict().find("kernel kernel8.img"), std::string::npos);
}

TEST(PiBoard, Bootloader2020AsksBlksize1024) {
    auto c = pi4();
    c.bootloader = Bootloader::V2020;
    std::vector<Action> acts;
    PiBoard b = bootToTftp(c, acts);
    auto req = std::get<t::Request>(*t::parse(std::get<SendTftp>(acts[0]).bytes));
    EXPECT_EQ(req.filename, "1234abcd/start4.elf");
    EXPECT_EQ(req.options[1].value, "1024");
}

TEST(PiBoard, RrqRetransmittedEvery2sAndFileTimeout30s) {
    std::vector<Action> acts;
    PiBoard b = bootToTftp(pi4(), acts);
    EXPECT_EQ(b.nextDeadline(), kT0 + 2s);
    auto again = b.onTimer(kT0 + 2s);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(std::get<SendTftp>(again[0]).bytes, std::get<SendTftp>(acts[0]).bytes);
    for (auto now = kT0 + 4s; now < kT0 + 30s; now += 2s) {
        b.onTimer(now);
    }
    EXPECT_FALSE(b.finished());
    b.onTimer(kT0 + 30s);
    EXPECT_TRUE(b.finished());
    EXPECT_NE(b.verdict().find("TFTP probe 1234abcd/start4.elf from 10.99.0.1: timeout"),
              std::string::npos)
        << b.verdict();
}

TEST(PiBoard, DhcpVerdicts) {
    auto c = pi4();
    c.dhcpTimeout = 10s;
    {
        PiBoard b(c, 1, 0);
        b.start(kT0);
        EXPECT_EQ(b.nextDeadline(), kT0 + 4s);  // DHCP_REQ_TIMEOUT
        auto re = dhcpSends(b.onTimer(kT0 + 4s));
        EXPECT_EQ(re.size(), 1u);  // DISCOVER re-sent
        b.onTimer(kT0 + 8s);
        b.onTimer(kT0 + 10s);
        EXPECT_EQ(b.verdict(), "does not boot: no DHCP offer within 10 s");
    }
    {
        PiBoard b(c, 1, 0);
        b.start(kT0);
        b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, kT0);
        for (auto t = kT0 + 4s; t <= kT0 + 12s; t += 4s) {
            b.onTimer(std::min(t, kT0 + 10s));
        }
        EXPECT_EQ(b.verdict(),
                  "does not boot: no PXE offer: option 43 missing in the offer from 10.99.0.254");
    }
    {
        PiBoard b(c, 1, 0);
        b.start(kT0);
        b.onDhcp(proxyOffer(b, "Other OS"), kProxy, kT0);
        b.onTimer(kT0 + 4s);
        b.onTimer(kT0 + 8s);
        b.onTimer(kT0 + 10s);
        EXPECT_EQ(b.verdict(),
                  "does not boot: no PXE offer: option 43 from 10.99.0.1 has no menu item "
                  "containing 'Raspberry Pi Boot' (menu: 'Other OS')");
    }
    {
        PiBoard b(c, 1, 0);
        b.start(kT0);
        b.onDhcp(proxyOffer(b), kProxy, kT0);
        b.onTimer(kT0 + 4s);
        b.onTimer(kT0 + 8s);
        b.onTimer(kT0 + 10s);
        EXPECT_NE(b.verdict().find("no address offer: only a proxy offer"), std::string::npos);
    }
}

TEST(PiBoard, NakRestartsDiscovery) {
    PiBoard b(pi4(), 7, 0);
    b.start(kT0);
    b.onDhcp(proxyOffer(b), kProxy, kT0);
    b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, kT0);
    auto acts = b.onDhcp(reply(b, d::MessageType::Nak, kRouter, 0), kRouter, kT0 + 1ms);
    auto sends = dhcpSends(acts);
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(*d::parse(sends[0].payload)->messageType(), d::MessageType::Discover);
    // Replies for another xid or MAC are ignored.
    auto other = reply(b, d::MessageType::Offer, kRouter, 0x0a630065);
    other.xid = 8;
    EXPECT_TRUE(b.onDhcp(other, kRouter, kT0).empty());
}

}  // namespace
}  // namespace pinet::core::virtual_pi

namespace pinet::core::virtual_pi {
namespace {

TEST(PiBoard, NextHopIsTheServerOnLinkAndTheRouterOffLink) {
    PiBoard b(pi4(), 9, 0);
    b.start(kT0);
    b.onDhcp(proxyOffer(b), kProxy, kT0);
    b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, kT0);
    auto ack = reply(b, d::MessageType::Ack, kRouter, 0x0a630064);
    ack.setIp(d::opt::SubnetMask, 0xffffff00);  // 10.99.0.0/24
    ack.setIp(d::opt::Router, kRouter);
    b.onDhcp(ack, kRouter, kT0);
    ASSERT_EQ(b.address(), 0x0a630064u);
    EXPECT_EQ(b.nextHop(kProxy), kProxy);       // same /24: ARP for the server itself
    EXPECT_EQ(b.nextHop(0x0a640001), kRouter);  // 10.100.0.1: through the router
}

TEST(PiBoard, NextHopWithoutMaskTreatsEverythingAsOnLink) {
    std::vector<Action> acts;
    PiBoard b = bootToTftp(pi4(), acts);
    EXPECT_EQ(b.nextHop(0x0a640001), 0x0a640001u);
}

}  // namespace
}  // namespace pinet::core::virtual_pi

namespace pinet::core::virtual_pi {
namespace {

std::optional<HttpGet> httpGetOf(const std::vector<Action>& acts) {
    for (const auto& a : acts) {
        if (const auto* g = std::get_if<HttpGet>(&a)) {
            return *g;
        }
    }
    return std::nullopt;
}

struct HttpBoard {
    BoardConfig cfg = pi4();
    std::string seenSig;
    std::size_t seenImage = 0;
    std::string verifyProblem;

    HttpBoard() {
        cfg.method = BootMethod::Http;
        cfg.httpHost = kProxy;
        cfg.httpPort = 8080;
        cfg.httpPath = "/boards/1234abcd/";
        cfg.verifyBootImage = [this](std::span<const std::uint8_t> img, std::string_view sig,
                                     std::string& detail) {
            seenSig = std::string(sig);
            seenImage = img.size();
            detail = "checked by the test";
            return verifyProblem;
        };
    }
};

// Mode 7 needs an address only: no option 43, then boot.sig, then boot.img (spec §5).
PiBoard httpToSig(HttpBoard& h, std::optional<HttpGet>& get) {
    PiBoard b(h.cfg, 11, 0);
    b.start(kT0);
    auto acts = b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, kT0);
    EXPECT_EQ(dhcpSends(acts).size(), 1u);  // REQUEST at once: no PXE offer needed
    acts = b.onDhcp(reply(b, d::MessageType::Ack, kRouter, 0x0a630064), kRouter, kT0 + 1ms);
    get = httpGetOf(acts);
    return b;
}

TEST(PiBoardHttp, AddressOnlyThenSigThenImageThenVerify) {
    HttpBoard h;
    std::optional<HttpGet> get;
    PiBoard b = httpToSig(h, get);
    ASSERT_TRUE(get);
    EXPECT_EQ(get->ip, kProxy);
    EXPECT_EQ(get->port, 8080);
    EXPECT_EQ(get->path, "/boards/1234abcd/boot.sig");
    HttpResult sig{200, "", {'a', 'b', 'c', '\n'}};
    auto acts = b.onHttp(get->request, sig, kT0 + 2ms);
    auto img = httpGetOf(acts);
    ASSERT_TRUE(img);
    EXPECT_EQ(img->path, "/boards/1234abcd/boot.img");
    EXPECT_NE(img->request, get->request);
    // A late answer to the first request changes nothing.
    EXPECT_TRUE(b.onHttp(get->request, sig, kT0 + 3ms).empty());
    EXPECT_FALSE(b.finished());
    b.onHttp(img->request, HttpResult{200, "", std::vector<std::uint8_t>(5000, 7)}, kT0 + 50ms);
    EXPECT_TRUE(b.booted());
    EXPECT_EQ(h.seenSig, "abc\n");
    EXPECT_EQ(h.seenImage, 5000u);
    EXPECT_NE(b.verdict().find("boot.sig + boot.img (5000 bytes) over HTTP from 10.99.0.1, "
                               "signature checked by the test"),
              std::string::npos)
        << b.verdict();
    ASSERT_TRUE(b.kernelTime());
    EXPECT_EQ(*b.kernelTime(), 50ms);
}

TEST(PiBoardHttp, VerifierRejectionFailsTheBoot) {
    HttpBoard h;
    h.verifyProblem = "sha256 mismatch";
    std::optional<HttpGet> get;
    PiBoard b = httpToSig(h, get);
    ASSERT_TRUE(get);
    auto img = httpGetOf(b.onHttp(get->request, HttpResult{200, "", {'x'}}, kT0));
    ASSERT_TRUE(img);
    b.onHttp(img->request, HttpResult{200, "", {'y'}}, kT0);
    EXPECT_TRUE(b.finished());
    EXPECT_FALSE(b.booted());
    EXPECT_EQ(b.verdict(), "does not boot: boot.img rejected: sha256 mismatch");
}

TEST(PiBoardHttp, RedirectErrorStatusAndSilenceAreVerdicts) {
    {
        HttpBoard h;
        std::optional<HttpGet> get;
        PiBoard b = httpToSig(h, get);
        HttpResult r{302, "", {}};
        r.redirect = true;
        b.onHttp(get->request, r, kT0);
        EXPECT_NE(b.verdict().find("302 redirect, which the bootloader does not follow"),
                  std::string::npos)
            << b.verdict();
    }
    {
        HttpBoard h;
        std::optional<HttpGet> get;
        PiBoard b = httpToSig(h, get);
        b.onHttp(get->request, HttpResult{404, "", {}}, kT0);
        EXPECT_EQ(
            b.verdict(),
            "does not boot: HTTP GET http://10.99.0.1:8080/boards/1234abcd/boot.sig: HTTP 404");
    }
    {
        HttpBoard h;
        std::optional<HttpGet> get;
        PiBoard b = httpToSig(h, get);
        EXPECT_TRUE(b.onTimer(kT0 + h.cfg.httpTimeout).empty());
        EXPECT_FALSE(b.finished());  // the app's own timeout answers first
        b.onTimer(kT0 + h.cfg.httpTimeout + 6s);
        EXPECT_TRUE(b.finished());
        EXPECT_NE(b.verdict().find("no answer within 120 s"), std::string::npos) << b.verdict();
    }
}

}  // namespace
}  // namespace pinet::core::virtual_pi
