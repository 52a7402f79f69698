#pragma once
// Golden files: tests compare text against tests/golden/<name>. Set
// PINET_UPDATE_GOLDEN=1 to rewrite them from the current output instead
// (then review the diff before committing).

#include <string>

namespace pinet::test {

/// EXPECT-style check of @p actual against tests/golden/@p name.
void expectGolden(const std::string& name, const std::string& actual);

}  // namespace pinet::test
