#include "app/http/web_server.h"

#include <gtest/gtest.h>

using pinet::app::http::hostAllowed;

// Regression (issue #13 item 10): the dashboard answered any Host, so a page whose
// name was re-pointed at 127.0.0.1 (DNS rebinding) could read the API.
TEST(WebServerHost, OnlyOurNamesAndAddresses) {
    const std::vector<std::string> allowed{"127.0.0.1", "netboot.lab"};
    EXPECT_TRUE(hostAllowed("127.0.0.1:8080", "127.0.0.1", allowed));
    EXPECT_TRUE(hostAllowed("localhost:8080", "127.0.0.1", allowed));
    EXPECT_TRUE(hostAllowed("LocalHost", "127.0.0.1", allowed));
    EXPECT_TRUE(hostAllowed("localhost.", "127.0.0.1", allowed));
    EXPECT_TRUE(hostAllowed("[::1]:8080", "::1", allowed));
    EXPECT_TRUE(hostAllowed("Netboot.Lab:8080", "127.0.0.1", allowed));
    // Listening on 0.0.0.0: the address the request came in on names us.
    EXPECT_TRUE(hostAllowed("10.0.0.1:8080", "10.0.0.1", {"0.0.0.0"}));

    EXPECT_FALSE(hostAllowed("evil.example", "127.0.0.1", allowed));
    EXPECT_FALSE(hostAllowed("evil.example:8080", "127.0.0.1", allowed));
    EXPECT_FALSE(hostAllowed("127.0.0.1.evil.example", "127.0.0.1", allowed));
    EXPECT_FALSE(hostAllowed("localhost.evil.example", "127.0.0.1", allowed));
    EXPECT_FALSE(hostAllowed("10.0.0.2", "10.0.0.1", {"0.0.0.0"}));
    EXPECT_FALSE(hostAllowed("", "127.0.0.1", allowed));
    EXPECT_FALSE(hostAllowed(":8080", "127.0.0.1", allowed));
    EXPECT_FALSE(hostAllowed("[::1", "::1", allowed));
    EXPECT_FALSE(hostAllowed("[::1]x", "::1", allowed));
}
