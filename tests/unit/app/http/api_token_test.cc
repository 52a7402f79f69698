#include "app/http/api_token.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "io/file.h"

namespace pinet::app::http {
namespace {

namespace fs = std::filesystem;

unsigned modeOf(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
}

TEST(ApiToken, MadeOnceMode0600AndRotated) {
    io::TempDir tmp;
    const auto state = tmp.path() / "state";
    auto none = readApiToken(state);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_FALSE(*none);

    bool created = false;
    auto t = ensureApiToken(state, &created);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_TRUE(created);
    EXPECT_EQ(t->size(), 64u);
    EXPECT_EQ(t->find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(modeOf(state / kApiTokenFile), 0600u);
    EXPECT_EQ(modeOf(state), 0700u);

    // The second start reads the same token.
    auto again = ensureApiToken(state, &created);
    ASSERT_TRUE(again);
    EXPECT_FALSE(created);
    EXPECT_EQ(*again, *t);

    auto rotated = rotateApiToken(state);
    ASSERT_TRUE(rotated);
    EXPECT_NE(*rotated, *t);
    EXPECT_EQ(readApiToken(state)->value(), *rotated);
    EXPECT_EQ(modeOf(state / kApiTokenFile), 0600u);
}

TEST(ApiToken, AReadableOrMalformedFileIsRefusedWithTheFix) {
    io::TempDir tmp;
    const auto state = tmp.path();
    ASSERT_TRUE(ensureApiToken(state));
    ASSERT_EQ(::chmod((state / kApiTokenFile).c_str(), 0644), 0);
    auto r = readApiToken(state);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
    EXPECT_FALSE(ensureApiToken(state)) << "a token others may have read is not used";

    ASSERT_TRUE(io::writeFileAtomic(state / kApiTokenFile, "short\n", 0600));
    r = readApiToken(state);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("token rotate"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace pinet::app::http
