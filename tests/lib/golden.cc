#include "lib/golden.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "lib/test_env.h"

namespace pinet::test {

void expectGolden(const std::string& name, const std::string& actual) {
    const auto path = sourceDir() / "tests" / "golden" / name;
    if (const char* env = std::getenv("PINET_UPDATE_GOLDEN"); env != nullptr && *env == '1') {
        std::filesystem::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << actual;
        ASSERT_TRUE(out.good()) << "cannot write " << path;
        return;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing golden file " << path
                           << " (run with PINET_UPDATE_GOLDEN=1 to create it)";
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), actual) << "transcript differs from " << path
                                << " (PINET_UPDATE_GOLDEN=1 regenerates it)";
}

}  // namespace pinet::test
