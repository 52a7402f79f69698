#include "app/http/api_write.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pinet::app::http {
namespace {

using json = nlohmann::json;

std::string codeOf(const ApiReply& r) {
    return json::parse(r.body)["error"]["code"].get<std::string>();
}

TEST(ApiWrite, EnrolBodyBecomesTheCliRequest) {
    auto p = parseEnrolBody(
        R"({"serial":"9FFEFDEF","mac":"DC:A6:32:01:36:C2","name":"rack1-07","image":"os",)"
        R"("root_mode":"overlay","model":"cm4","address":"10.0.0.7","notes":"n","ssh":true,)"
        R"("apply_nfs":false})");
    ASSERT_TRUE(p.value) << p.refusal.body;
    const auto& r = p.value->request;
    EXPECT_EQ(r.serial, "9FFEFDEF");  // normalised by addClient, as the CLI's --serial
    EXPECT_EQ(r.mac, "DC:A6:32:01:36:C2");
    EXPECT_EQ(r.name, "rack1-07");
    EXPECT_EQ(r.image, "os");
    EXPECT_EQ(r.rootMode, "overlay");
    EXPECT_EQ(r.model, "cm4");
    EXPECT_EQ(r.address, "10.0.0.7");
    EXPECT_EQ(r.notes, "n");
    EXPECT_TRUE(r.enableSsh);
    EXPECT_FALSE(p.value->applyNfs);
    // Defaults: the CLI's (copy root, nfs apply, no MAC).
    auto d = parseEnrolBody(R"({"serial":"9ffefdef","image":"os","mac":""})");
    ASSERT_TRUE(d.value);
    EXPECT_EQ(d.value->request.rootMode, "copy");
    EXPECT_FALSE(d.value->request.mac);
    EXPECT_TRUE(d.value->applyNfs);
}

TEST(ApiWrite, BadBodiesAreRefusedWithACode) {
    auto p = parseEnrolBody("not json");
    EXPECT_FALSE(p.value);
    EXPECT_EQ(p.refusal.status, 400);
    EXPECT_EQ(codeOf(p.refusal), "invalid_json");
    p = parseEnrolBody("[1,2]");
    EXPECT_EQ(codeOf(p.refusal), "invalid_json");
    // Every problem at once: a typo and a wrong type.
    p = parseEnrolBody(R"({"serial":1,"imgae":"os","ssh":"yes"})");
    EXPECT_FALSE(p.value);
    EXPECT_EQ(codeOf(p.refusal), "invalid_request");
    const auto msg = json::parse(p.refusal.body)["error"]["message"].get<std::string>();
    EXPECT_NE(msg.find("3 problems"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown field \"imgae\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"ssh\" must be true or false"), std::string::npos) << msg;
    // Over the limit: 413 before parsing.
    const std::string big = R"({"notes":")" + std::string(kMaxWriteBody, 'x') + R"("})";
    auto q = parsePatchBody("9ffefdef", big);
    EXPECT_FALSE(q.value);
    EXPECT_EQ(q.refusal.status, 413);
    EXPECT_EQ(codeOf(q.refusal), "body_too_large");
}

TEST(ApiWrite, PatchGivesOnlyTheFieldsSent) {
    auto p = parsePatchBody("9ffefdef", R"({"notes":"","reset_root":true})");
    ASSERT_TRUE(p.value);
    const auto& r = p.value->request;
    EXPECT_EQ(r.serial, "9ffefdef");
    EXPECT_EQ(r.notes, "");  // an empty string clears, as `client set --notes ""`
    EXPECT_FALSE(r.name);
    EXPECT_FALSE(r.image);
    EXPECT_FALSE(r.rootMode);
    EXPECT_TRUE(r.resetRoot);
    EXPECT_EQ(codeOf(parsePatchBody("x", R"({"serial":"1"})").refusal), "invalid_request");
    EXPECT_TRUE(parseResetBody("").value.value_or(false));
    EXPECT_FALSE(parseResetBody(R"({"apply_nfs":false})").value.value_or(true));
}

TEST(ApiWrite, ErrorsAndRepliesHaveTheirShape) {
    const auto e = json::parse(errorJson("unknown_image", "no image \"x\""));
    EXPECT_EQ(e["error"]["code"], "unknown_image");
    EXPECT_EQ(e["error"]["message"], "no image \"x\"");
    ActionResult<ActionReport> bad = tl::unexpected(ActionError{"duplicate_mac", "MAC taken", 409});
    const auto r = actionReply(bad);
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(codeOf(r), "duplicate_mac");
    ActionReport rep;
    rep.record.serial = "9ffefdef";
    rep.messages = {"boot tree written"};
    const auto ok = actionReply(ActionResult<ActionReport>(rep), true);
    EXPECT_EQ(ok.status, 201);
    const auto j = json::parse(ok.body);
    EXPECT_EQ(j["client"]["serial"], "9ffefdef");
    EXPECT_EQ(j["client"]["mac"], nullptr);
    EXPECT_EQ(j["messages"][0], "boot tree written");
}

TEST(ApiWrite, ImportBodyNeedsPathAndNameAndNothingElse) {
    auto p = parseImportBody(R"({"path":"/srv/os.img.xz","name":"os"})");
    ASSERT_TRUE(p.value) << p.refusal.body;
    EXPECT_EQ(p.value->path, "/srv/os.img.xz");
    EXPECT_EQ(p.value->name, "os");
    auto none = parseImportBody("{}");
    ASSERT_FALSE(none.value);
    EXPECT_EQ(none.refusal.status, 400);
    EXPECT_EQ(codeOf(none.refusal), "invalid_request");
    // Both missing fields named in one message.
    const auto msg = json::parse(none.refusal.body)["error"]["message"].get<std::string>();
    EXPECT_NE(msg.find("\"path\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"name\""), std::string::npos) << msg;
    auto extra = parseImportBody(R"({"path":"/a","name":"b","force":true})");
    ASSERT_FALSE(extra.value);
    EXPECT_EQ(codeOf(extra.refusal), "invalid_request");
    auto wrongType = parseImportBody(R"({"path":7,"name":"b"})");
    ASSERT_FALSE(wrongType.value);
    EXPECT_EQ(codeOf(wrongType.refusal), "invalid_request");
    EXPECT_EQ(codeOf(parseImportBody("[1]").refusal), "invalid_json");
    EXPECT_EQ(parseImportBody(std::string(kMaxWriteBody + 1, ' ')).refusal.status, 413);
}

}  // namespace
}  // namespace pinet::app::http
