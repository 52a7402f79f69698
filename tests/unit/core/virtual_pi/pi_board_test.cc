#include "core/virtual_pi/pi_board.h"

#include <gtest/gtest.h>

#include <tuple>

#include <map>

#include "app/eeprom/eeprom.h"
#include "lib/eeprom_synth.h"
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
    /// Files with real content (the others are filled with 0x5a).
    std::map<std::string, std::vector<std::uint8_t>> contents;
    std::vector<std::string> requests;
    std::uint16_t nextPort = 40000;
    std::map<int, std::pair<std::string, std::uint16_t>> sessions;  // file, port
    std::map<int, std::size_t> sizes;

    /// The board's reaction to the server's answer to @p s (nothing when there is none).
    std::vector<Action> answer(PiBoard& b, const SendTftp& s, Clock::time_point now) {
        auto pkt = t::parse(s.bytes);
        EXPECT_TRUE(pkt);
        if (!pkt) {
            return {};
        }
        std::vector<std::uint8_t> bytes;
        std::uint16_t port = 0;
        if (const auto* rq = std::get_if<t::Request>(&*pkt)) {
            requests.push_back(rq->filename);
            if (auto c = contents.find(rq->filename); c != contents.end()) {
                files[rq->filename] = c->second.size();
            }
            auto it = files.find(rq->filename);
            port = nextPort++;
            if (it == files.end()) {
                bytes = t::buildError(t::ErrorCode::FileNotFound, "not found");
            } else {
                sessions[s.session] = {rq->filename, port};
                sizes[s.session] = it->second;
                bytes = t::buildOack(
                    {{"tsize", std::to_string(it->second)}, {"blksize", rq->options[1].value}});
            }
        } else if (const auto* ack = std::get_if<t::Ack>(&*pkt)) {
            const std::size_t bs = 1468;
            const std::size_t size = sizes[s.session];
            // Blocks 1..size/bs+1; the last one is short (possibly empty).
            if (ack->block >= size / bs + 1) {
                return {};  // final ACK: transfer over
            }
            const std::size_t off = ack->block * bs;
            std::vector<std::uint8_t> data(std::min(bs, size - off), 0x5a);
            if (auto c = contents.find(sessions[s.session].first); c != contents.end()) {
                std::copy_n(c->second.begin() + static_cast<std::ptrdiff_t>(off), data.size(),
                            data.begin());
            }
            bytes = t::buildData(static_cast<std::uint16_t>(ack->block + 1), data);
            port = sessions[s.session].second;
        } else {
            return {};  // ERROR (early terminate)
        }
        return b.onTftp(s.session, port, bytes, now);
    }

    /// Runs until the board finishes; every request is answered at once.
    void run(PiBoard& b, std::vector<Action> acts, Clock::time_point now) {
        for (int guard = 0; guard < 100000 && !b.finished(); ++guard) {
            if (acts.empty()) {
                now = b.nextDeadline();
                acts = b.onTimer(now);
                continue;
            }
            std::vector<Action> next;
            for (const auto& a : acts) {
                if (const auto* s = std::get_if<SendTftp>(&a)) {
                    auto more = answer(b, *s, now);
                    next.insert(next.end(), more.begin(), more.end());
                }
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

// TFTP_PREFIX 2 (MAC) and 1 (TFTP_PREFIX_STR): the same boot under another prefix.
TEST(PiBoard, TftpPrefixMacAndString) {
    for (const auto& [mode, str, want] :
         {std::tuple{2, std::string(), std::string("dc-a6-32-01-02-03/")},
          std::tuple{1, std::string("tftp_test/"), std::string("tftp_test/")},
          std::tuple{1, std::string(), std::string()}}) {
        FakeServer s;
        for (const char* f : {"start4.elf", "fixup4.dat", "config.txt", "bcm2711-rpi-4-b.dtb",
                              "cmdline.txt", "kernel8.img"}) {
            s.files[want + f] = 3000;
        }
        auto c = pi4();
        c.mac = {0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03};
        c.tftpPrefix = mode;
        c.tftpPrefixStr = str;
        std::vector<Action> acts;
        PiBoard b = bootToTftp(c, acts);
        s.run(b, acts, kT0);
        EXPECT_TRUE(b.booted()) << want << ": " << b.verdict();
        ASSERT_GE(s.requests.size(), 2u);
        EXPECT_EQ(s.requests[0], want + "start4.elf");
        EXPECT_EQ(s.requests[1], want + "config.txt");
        EXPECT_EQ(b.prefix(), want);
    }
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
    std::optional<std::array<std::uint8_t, 32>> seenDigest;
    std::string verifyProblem;

    HttpBoard() {
        cfg.method = BootMethod::Http;
        cfg.httpHost = kProxy;
        cfg.httpPort = 8080;
        cfg.httpPath = "/boards/1234abcd/";
        cfg.verifyBootImage = [this](const BootImage& img, std::string_view sig,
                                     std::string& detail) {
            seenSig = std::string(sig);
            seenImage = img.size;
            seenDigest = img.sha256;
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

TEST(PiBoardHttp, BootImgMayArriveAsItsDigestOnly) {
    HttpBoard h;
    std::optional<HttpGet> get;
    PiBoard b = httpToSig(h, get);
    ASSERT_TRUE(get);
    EXPECT_FALSE(get->digestOnly);  // boot.sig is read whole
    auto img = httpGetOf(b.onHttp(get->request, HttpResult{200, "", {'s', '\n'}}, kT0));
    ASSERT_TRUE(img);
    EXPECT_TRUE(img->digestOnly);
    HttpResult r{200, "", {}};
    r.length = 24000000;
    r.sha256 = std::array<std::uint8_t, 32>{0xab};
    b.onHttp(img->request, r, kT0 + 1s);
    EXPECT_TRUE(b.booted()) << b.verdict();
    EXPECT_EQ(h.seenImage, 24000000u);
    EXPECT_EQ(h.seenDigest, r.sha256);
    EXPECT_EQ(b.bytesFetched(), 24000002u);
    EXPECT_NE(b.verdict().find("boot.sig + boot.img (24000000 bytes)"), std::string::npos)
        << b.verdict();
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

namespace pinet::core::virtual_pi {
namespace {

// A lab for the retry tests: one host that is proxy, DHCP server and TFTP server, each of
// which can be silent for a while; time only moves to the board's own deadlines.
struct RetryLab {
    FakeServer tftp;
    std::function<bool(Clock::time_point)> dhcpUp = [](Clock::time_point) {
        return true;
    };
    std::function<bool(Clock::time_point)> tftpUp = [](Clock::time_point) {
        return true;
    };
    std::vector<std::uint32_t> discoverXids;
    Clock::time_point now = kT0;

    RetryLab() {
        for (const char* f : {"start4.elf", "fixup4.dat", "config.txt", "bcm2711-rpi-4-b.dtb",
                              "cmdline.txt", "kernel8.img"}) {
            tftp.files[std::string("1234abcd/") + f] = 3000;
        }
    }

    std::vector<Action> answerDhcp(PiBoard& b, const SendDhcp& s) {
        auto p = d::parse(s.payload);
        EXPECT_TRUE(p);
        if (!p) {
            return {};
        }
        if (*p->messageType() == d::MessageType::Discover) {
            discoverXids.push_back(p->xid);
        }
        if (!dhcpUp(now)) {
            return {};
        }
        std::vector<Action> out;
        if (*p->messageType() == d::MessageType::Discover) {
            if (p->xid != b.xid()) {
                return {};  // a DISCOVER of an earlier attempt, answered too late
            }
            auto a = b.onDhcp(proxyOffer(b), kProxy, now);
            auto c = b.onDhcp(reply(b, d::MessageType::Offer, kRouter, 0x0a630064), kRouter, now);
            out.insert(out.end(), a.begin(), a.end());
            out.insert(out.end(), c.begin(), c.end());
        } else if (*p->messageType() == d::MessageType::Request) {
            out = b.onDhcp(reply(b, d::MessageType::Ack, kRouter, 0x0a630064), kRouter, now);
        }
        return out;
    }

    void run(PiBoard& b) {
        auto acts = b.start(now);
        for (int guard = 0; guard < 100000 && !b.finished(); ++guard) {
            if (acts.empty()) {
                now = b.nextDeadline();
                acts = b.onTimer(now);
                continue;
            }
            std::vector<Action> next;
            for (const auto& a : acts) {
                std::vector<Action> more;
                if (const auto* s = std::get_if<SendDhcp>(&a)) {
                    more = answerDhcp(b, *s);
                } else if (const auto* t = std::get_if<SendTftp>(&a); t && tftpUp(now)) {
                    more = tftp.answer(b, *t, now);
                }
                next.insert(next.end(), more.begin(), more.end());
            }
            acts = std::move(next);
        }
    }
};

bool timelineHas(const PiBoard& b, std::string_view text) {
    return std::any_of(b.timeline().begin(), b.timeline().end(),
                       [&](const TimelineEntry& e) { return e.text.find(text) != e.text.npos; });
}

TEST(PiBoardRetry, SecondAttemptAfterADhcpTimeout) {
    auto c = pi4();
    c.dhcpTimeout = 10s;
    c.maxAttempts = 2;
    RetryLab lab;
    lab.dhcpUp = [](Clock::time_point now) {
        return now >= kT0 + 12s;
    };  // server starts late
    PiBoard b(c, 0x1111, 0);
    lab.run(b);
    ASSERT_TRUE(b.booted()) << b.verdict();
    EXPECT_EQ(b.attempts(), 2);
    ASSERT_EQ(b.attemptFailures().size(), 1u);
    EXPECT_EQ(b.attemptFailures()[0], "no DHCP offer within 10 s");
    // DHCP_TIMEOUT at 10 s, then the 5 s back-off: the second attempt began at 15 s, with
    // a new xid.
    EXPECT_EQ(b.bootedAttemptStart(), std::optional<Clock::duration>(15s));
    ASSERT_GE(lab.discoverXids.size(), 4u);  // 0, 4, 8 s and 15 s
    EXPECT_EQ(lab.discoverXids.front(), 0x1111u);
    EXPECT_NE(lab.discoverXids.back(), 0x1111u);
    EXPECT_EQ(b.xid(), lab.discoverXids.back());
    ASSERT_TRUE(b.kernelTime());
    EXPECT_EQ(*b.kernelTime(), 15s);  // the fake server answers at once: booted at 15 s
    EXPECT_TRUE(timelineHas(b,
                            "attempt 1 of 2 fails: no DHCP offer within 10 s; the bootloader "
                            "restarts its boot order in 5.0 s"));
    EXPECT_TRUE(timelineHas(b, "attempt 2 of 2: the boot order starts over"));
    EXPECT_NE(b.verdict().find("; on attempt 2 (attempt 1: no DHCP offer within 10 s)"),
              std::string::npos)
        << b.verdict();
}

TEST(PiBoardRetry, SecondAttemptAfterAFileTimeoutForgetsTheFirst) {
    auto c = pi4();
    c.maxAttempts = 2;
    RetryLab lab;
    // TFTP silent for the first 31 s: the start4.elf probe times out at 30 s.
    lab.tftpUp = [](Clock::time_point now) {
        return now >= kT0 + 31s;
    };
    PiBoard b(c, 0x2222, 0);
    lab.run(b);
    ASSERT_TRUE(b.booted()) << b.verdict();
    EXPECT_EQ(b.attempts(), 2);
    ASSERT_EQ(b.attemptFailures().size(), 1u);
    EXPECT_NE(b.attemptFailures()[0].find("TFTP probe 1234abcd/start4.elf from 10.99.0.1: timeout"),
              std::string::npos)
        << b.attemptFailures()[0];
    EXPECT_EQ(b.bootedAttemptStart(), std::optional<Clock::duration>(35s));
    // The second attempt did DHCP again and started over with the prefix probe.
    EXPECT_EQ(lab.tftp.requests.front(), "1234abcd/start4.elf");
    EXPECT_EQ(*b.dhcpTime(), 35s);
    EXPECT_NE(b.verdict().find("prefix '1234abcd/'"), std::string::npos) << b.verdict();
}

TEST(PiBoardRetry, NoRetryWhenMaxAttemptsIsOne) {
    RetryLab lab;
    lab.tftpUp = [](Clock::time_point) {
        return false;
    };
    PiBoard b(pi4(), 0x3333, 0);
    lab.run(b);
    EXPECT_TRUE(b.finished());
    EXPECT_FALSE(b.booted());
    EXPECT_EQ(b.attempts(), 1);
    EXPECT_TRUE(b.attemptFailures().empty());
    EXPECT_EQ(b.nextDeadline(), Clock::time_point::max());
    EXPECT_EQ(lab.now, kT0 + 30s);  // failed at TFTP_FILE_TIMEOUT, nothing after
    EXPECT_EQ(lab.discoverXids.size(), 1u);
    // The verdict is what it was before retries existed.
    EXPECT_EQ(b.verdict(),
              "does not boot: TFTP probe 1234abcd/start4.elf from 10.99.0.1: timeout: no "
              "complete answer within 30 s");
    EXPECT_FALSE(b.bootedAttemptStart());
}

TEST(PiBoardRetry, BackoffIsHonoured) {
    auto c = pi4();
    c.dhcpTimeout = 5s;
    c.maxAttempts = 3;
    c.retryBackoff = 2s;
    PiBoard b(c, 0x4444, 0);
    b.start(kT0);
    b.onTimer(kT0 + 4s);
    EXPECT_TRUE(b.onTimer(kT0 + 5s).empty());  // attempt 1 fails at DHCP_TIMEOUT
    EXPECT_FALSE(b.finished());
    EXPECT_EQ(b.nextDeadline(), kT0 + 7s);
    EXPECT_TRUE(b.onTimer(kT0 + 7s - 1ms).empty());  // nothing during the back-off
    EXPECT_EQ(b.attempts(), 1);
    auto acts = b.onTimer(kT0 + 7s);
    ASSERT_EQ(dhcpSends(acts).size(), 1u);
    EXPECT_EQ(b.attempts(), 2);
    EXPECT_EQ(b.nextDeadline(), kT0 + 11s);  // DHCP_REQ_TIMEOUT of the new attempt
    // The new attempt has its own DHCP_TIMEOUT: 7 + 5 = 12 s.
    b.onTimer(kT0 + 11s);
    b.onTimer(kT0 + 12s);
    EXPECT_EQ(b.nextDeadline(), kT0 + 14s);
    b.onTimer(kT0 + 14s);
    EXPECT_EQ(b.attempts(), 3);
    b.onTimer(kT0 + 18s);
    b.onTimer(kT0 + 19s);
    EXPECT_TRUE(b.finished());
    EXPECT_EQ(b.verdict(), "does not boot: no DHCP offer within 5 s (attempt 3 of 3)");
    EXPECT_EQ(b.attemptFailures().size(), 2u);
    // A late OFFER for the first attempt's xid is not this attempt's.
    auto late = reply(b, d::MessageType::Offer, kRouter, 0x0a630064);
    late.xid = 0x4444;
    EXPECT_TRUE(b.onDhcp(late, kRouter, kT0 + 19s).empty());
}

TEST(PiBoardRetry, FirmwareStageFailureIsAFatalResetWithItsOwnDelay) {
    auto c = pi4();
    c.maxAttempts = 2;
    RetryLab lab;
    lab.tftp.files.erase("1234abcd/kernel8.img");  // start4.elf finds no kernel
    PiBoard b(c, 0x5555, 0);
    lab.run(b);
    EXPECT_FALSE(b.booted());
    EXPECT_EQ(b.attempts(), 2);
    EXPECT_EQ(b.verdict(), "does not boot: kernel8.img not found under 1234abcd/ (attempt 2 of 2)");
    EXPECT_TRUE(timelineHas(b, "fatal error: the board resets and boots again in 20.0 s"));
    // The first attempt failed at 0 s (the fake answers at once); the second began 20 s on.
    EXPECT_EQ(lab.now, kT0 + 20s);
}

TEST(PiBoardRetry, InjectedXidSourceGivesEachAttemptsXid) {
    auto c = pi4();
    c.dhcpTimeout = 5s;
    c.maxAttempts = 3;
    std::uint32_t next = 0xabc0;
    c.nextXid = [&next] {
        return ++next;
    };
    PiBoard b(c, 0x6666, 0);
    b.start(kT0);
    b.onTimer(kT0 + 4s);
    b.onTimer(kT0 + 5s);
    auto acts = b.onTimer(kT0 + 10s);
    ASSERT_EQ(dhcpSends(acts).size(), 1u);
    EXPECT_EQ(d::parse(dhcpSends(acts)[0].payload)->xid, 0xabc1u);
    EXPECT_EQ(b.xid(), 0xabc1u);
}

// ---------------------------------------------------------------- self-update

struct SelfUpdateLab : RetryLab {
    std::vector<std::uint8_t> image = test::minimalImage("[all]\nBOOT_ORDER=0xf21\nX=2\n");

    void offer(std::uint64_t ts, bool corrupt = false) {
        app::eeprom::DigestOptions o;
        o.timestamp = ts;
        const std::string sig = *app::eeprom::makeDigest(image, o);
        tftp.contents["1234abcd/pieeprom.sig"] = {sig.begin(), sig.end()};
        auto upd = image;
        if (corrupt) {
            upd[64] ^= 0xff;
        }
        tftp.contents["1234abcd/pieeprom.upd"] = upd;
    }
    std::size_t count(std::string_view name) const {
        return static_cast<std::size_t>(
            std::count(tftp.requests.begin(), tftp.requests.end(), std::string(name)));
    }
};

BoardConfig selfUpdating(std::uint64_t ts, std::string config = "[all]\nBOOT_ORDER=0xf21\n") {
    BoardConfig c = pi4();
    SelfUpdateConfig su;
    su.eeprom.timestamp = ts;
    su.eeprom.config = std::move(config);
    su.verify = [](std::span<const std::uint8_t> upd, std::string_view sig, std::string& detail) {
        auto r = app::eeprom::verifyDigest(upd, sig, nullptr);
        detail = "sha256 verified";
        return r ? std::string() : r.error().message;
    };
    c.selfUpdate = su;
    return c;
}

TEST(PiBoardSelfUpdate, NewerSigFlashesRebootsAndBootsUpToDate) {
    SelfUpdateLab lab;
    lab.offer(2000);
    PiBoard b(selfUpdating(1000), 7, 0);
    const auto xid0 = b.xid();
    lab.run(b);
    EXPECT_TRUE(b.booted()) << b.verdict();
    EXPECT_EQ(b.flashes(), 1);
    EXPECT_EQ(b.eeprom().timestamp, 2000u);
    EXPECT_EQ(b.eeprom().config, "[all]\nBOOT_ORDER=0xf21\nX=2\n");
    EXPECT_EQ(lab.count("1234abcd/pieeprom.upd"), 1u);  // once: the reboot is up to date
    EXPECT_EQ(lab.count("1234abcd/pieeprom.sig"), 2u);
    // One boot reached the kernel (its size probe + the fetch): the first stopped at the flash.
    EXPECT_EQ(lab.count("1234abcd/kernel8.img"), 2u);
    EXPECT_EQ(b.attempts(), 1);  // a reboot, not a failed attempt
    EXPECT_NE(b.xid(), xid0);
    EXPECT_TRUE(timelineHas(b, "reset after the self-update"));
    EXPECT_TRUE(timelineHas(b, "up to date"));
    // The flash took its time before the board asked for DHCP again.
    ASSERT_TRUE(b.kernelTime());
    EXPECT_GE(*b.kernelTime(), 3s);
}

TEST(PiBoardSelfUpdate, SameTimestampFetchesOnlyTheSig) {
    SelfUpdateLab lab;
    lab.offer(1000);
    PiBoard b(selfUpdating(1000), 7, 0);
    lab.run(b);
    EXPECT_TRUE(b.booted());
    EXPECT_EQ(b.flashes(), 0);
    EXPECT_EQ(lab.count("1234abcd/pieeprom.upd"), 0u);
}

TEST(PiBoardSelfUpdate, BadHashIsRefusedAndTheBoardBootsOnWithItsOldEeprom) {
    SelfUpdateLab lab;
    lab.offer(2000, true);
    PiBoard b(selfUpdating(1000, "OLD=1\nBOOT_ORDER=0xf21\n"), 7, 0);
    lab.run(b);
    EXPECT_TRUE(b.booted()) << b.verdict();
    EXPECT_EQ(b.flashes(), 0);
    EXPECT_EQ(b.eeprom().timestamp, 1000u);
    EXPECT_EQ(b.eeprom().config, "OLD=1\nBOOT_ORDER=0xf21\n");
    ASSERT_EQ(b.refusedUpdates().size(), 1u);
    EXPECT_NE(b.refusedUpdates()[0].find("sha256"), std::string::npos) << b.refusedUpdates()[0];
    EXPECT_EQ(lab.count("1234abcd/pieeprom.upd"), 1u);
    EXPECT_EQ(lab.count("1234abcd/kernel8.img"), 2u);  // probe + fetch, one boot
}

TEST(PiBoardSelfUpdate, DisabledInTheEepromConfigAsksForNoSig) {
    SelfUpdateLab lab;
    lab.offer(2000);
    PiBoard b(selfUpdating(1000, "ENABLE_SELF_UPDATE=0\nBOOT_ORDER=0xf21\n"), 7, 0);
    lab.run(b);
    EXPECT_TRUE(b.booted());
    EXPECT_EQ(lab.count("1234abcd/pieeprom.sig"), 0u);
}

TEST(PiBoardSelfUpdate, FlashedBootOrderWithoutNetworkDoesNotComeBack) {
    SelfUpdateLab lab;
    lab.image = test::minimalImage("[all]\nBOOT_ORDER=0xf41\n");
    lab.offer(2000);
    PiBoard b(selfUpdating(1000), 7, 0);
    lab.run(b);
    EXPECT_FALSE(b.booted());
    EXPECT_EQ(b.flashes(), 1);
    EXPECT_NE(b.verdict().find("no network boot"), std::string::npos) << b.verdict();
}

}  // namespace
}  // namespace pinet::core::virtual_pi
