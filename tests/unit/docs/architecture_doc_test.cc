// docs/architecture.md tells the truth about the tree: every path it names in
// backticks under src/, fuzz/, scripts/ or bench/ exists. Forms understood:
// `src/a/b.cc`, `src/a/b.{h,cc}` (each alternative), `src/a/b.*` (some file
// with that stem), `src/a/` and `src/a` (a folder or file).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

std::vector<std::string> expandBraces(const std::string& p) {
    const auto open = p.find('{');
    const auto close = p.find('}', open);
    if (open == std::string::npos || close == std::string::npos) {
        return {p};
    }
    std::vector<std::string> out;
    std::stringstream alts(p.substr(open + 1, close - open - 1));
    std::string alt;
    while (std::getline(alts, alt, ',')) {
        for (const auto& rest : expandBraces(p.substr(close + 1))) {
            out.push_back(p.substr(0, open) + alt + rest);
        }
    }
    return out;
}

bool exists(const fs::path& root, const std::string& rel) {
    if (rel.size() > 2 && rel.ends_with(".*")) {
        const fs::path stem = root / rel.substr(0, rel.size() - 2);
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(stem.parent_path(), ec)) {
            if (e.path().stem() == stem.filename()) {
                return true;
            }
        }
        return false;
    }
    return fs::exists(root / rel);
}

TEST(ArchitectureDoc, EveryPathItNamesExists) {
    const fs::path root = PINET_SOURCE_DIR;
    std::ifstream in(root / "docs/architecture.md");
    ASSERT_TRUE(in) << "docs/architecture.md missing";
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    const std::regex code("`((src|fuzz|scripts|bench)/[^`\\s<>]*)`");
    std::size_t checked = 0;
    std::vector<std::string> missing;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), code);
         it != std::sregex_iterator(); ++it) {
        for (const auto& path : expandBraces((*it)[1].str())) {
            ++checked;
            if (!exists(root, path)) {
                missing.push_back(path);
            }
        }
    }
    EXPECT_GT(checked, 50u) << "the pattern no longer finds the doc's paths";
    EXPECT_TRUE(missing.empty()) << "docs/architecture.md names paths that do not exist: "
                                 << ::testing::PrintToString(missing);
}

TEST(ArchitectureDoc, BraceAndStemFormsAreExpanded) {
    EXPECT_EQ(expandBraces("src/a/b.{h,cc}"),
              (std::vector<std::string>{"src/a/b.h", "src/a/b.cc"}));
    const fs::path root = PINET_SOURCE_DIR;
    EXPECT_TRUE(exists(root, "src/core/tftp/tftp_engine.*"));
    EXPECT_FALSE(exists(root, "src/core/tftp/no_such_module.*"));
}

}  // namespace
