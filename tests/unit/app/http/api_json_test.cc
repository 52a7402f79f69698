#include "app/http/api_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pinet::app::http::api {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

core::DhcpEvent event(core::DhcpEvent::Kind kind, core::WallTime t) {
    core::DhcpEvent e;
    e.kind = kind;
    e.time = t;
    e.mac = "dc:a6:32:01:02:03";
    e.serial = "d9780558";
    e.model = "RPi4";
    return e;
}

TEST(ApiJson, DhcpStepsCarryTheDropReason) {
    core::boot::BootTracker tracker;
    const auto t = core::WallTime{} + 1'000'000s;
    tracker.onEvent(event(core::DhcpEvent::Kind::Discover, t));
    auto req = event(core::DhcpEvent::Kind::Request, t + 1s);
    req.drop = core::dhcp::Drop::ProxyNoAck;
    tracker.onEvent(req);
    const auto body = clientJson(tracker, {}, "DC-A6-32-01-02-03");
    ASSERT_TRUE(body);
    const auto steps = json::parse(*body)["boots"][0]["dhcp"];
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0]["kind"], "discover");
    EXPECT_TRUE(steps[0]["drop"].is_null());
    EXPECT_EQ(steps[1]["kind"], "request");
    EXPECT_EQ(steps[1]["drop"], "proxy_no_ack");
    EXPECT_EQ(json::parse(eventBrief(req, nullptr))["drop"], "proxy_no_ack");
}

TEST(ApiJson, RegistryRowsAreFoundAndCountedByState) {
    core::boot::BootTracker tracker;
    serve::KnownClient k;
    k.serial = "aaaa0001";
    k.mac = "dc:a6:32:aa:aa:01";
    k.name = "rack1";
    k.discovered = true;
    const Known known{k};
    EXPECT_TRUE(clientJson(tracker, known, "rack1"));
    EXPECT_TRUE(clientJson(tracker, known, "DC-A6-32-AA-AA-01"));
    EXPECT_FALSE(clientJson(tracker, known, "ffffffff"));
    const auto states = clientStates(tracker, known);
    EXPECT_EQ(states.at("discovered"), 1);
    EXPECT_EQ(states.at("booting"), 0);
}

TEST(ApiJson, ModelIsTheBestSignOfTrackerAndRegistry) {
    core::boot::BootTracker tracker;
    const auto t = core::WallTime{} + 1'000'000s;
    auto cm4 = event(core::DhcpEvent::Kind::Discover, t);
    cm4.boardRevision = 0x00c03141;  // type 0x14: CM4, though option 97 says "RPi4"
    tracker.onEvent(cm4);
    auto pi4 = event(core::DhcpEvent::Kind::Discover, t);
    pi4.serial = "d9780559";
    pi4.mac = "dc:a6:32:01:02:04";
    pi4.boardRevision = 0x00c03115;
    tracker.onEvent(pi4);
    auto plain = event(core::DhcpEvent::Kind::Discover, t);
    plain.serial = "d978055a";
    plain.mac = "dc:a6:32:01:02:05";
    tracker.onEvent(plain);
    serve::KnownClient enrolledCm4;  // the registry knows better than the fourcc
    enrolledCm4.serial = "d978055a";
    enrolledCm4.model = "cm4";
    serve::KnownClient old;  // a row an older version stored
    old.serial = "aaaa0001";
    old.model = "RPi4";
    old.discovered = true;
    const auto list = json::parse(clientsJson(tracker, {enrolledCm4, old}))["clients"];
    std::map<std::string, json> bySerial;
    for (const auto& c : list) {
        bySerial[c["serial"].get<std::string>()] = c;
    }
    EXPECT_EQ(bySerial["d9780558"]["model"], "cm4");
    EXPECT_EQ(bySerial["d9780558"]["model_name"], "CM4");
    EXPECT_EQ(bySerial["d9780558"]["model_source"], "revision");
    EXPECT_EQ(bySerial["d9780559"]["model_name"], "Pi 4");
    EXPECT_EQ(bySerial["d978055a"]["model_name"], "CM4");
    EXPECT_EQ(bySerial["d978055a"]["model_source"], "registry");
    EXPECT_EQ(bySerial["aaaa0001"]["model"], "pi4-family");
    EXPECT_EQ(bySerial["aaaa0001"]["model_name"], "Pi 4 family");
}

}  // namespace
}  // namespace pinet::app::http::api
