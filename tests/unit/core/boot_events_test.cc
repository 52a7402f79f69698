#include "core/boot_events.h"

#include <gtest/gtest.h>

#include <string>

using namespace pinet::core;

namespace {

using R = TransferRecord::Result;

// The result names are the API's `result` field, the /metrics `result` label and the
// dashboard's CSS classes: renaming an enumerator must not change them.
TEST(BootEvents, TransferResultWireNamesAreStable) {
    EXPECT_EQ(std::string(toString(R::Ok)), "ok");
    EXPECT_EQ(std::string(toString(R::SizeQuery)), "probe");
    EXPECT_EQ(std::string(toString(R::NotFound)), "not_found");
    EXPECT_EQ(std::string(toString(R::Refused)), "refused");
    EXPECT_EQ(std::string(toString(R::Timeout)), "timeout");
    EXPECT_EQ(std::string(toString(R::ClientError)), "client_error");
    EXPECT_EQ(std::string(toString(R::ServerError)), "server_error");
}

}  // namespace
