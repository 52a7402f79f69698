#pragma once
// Handler bodies that stop at the first failed step: must() unwraps a Result or
// throws Failure, and guarded() turns a Failure into "pinetboot: error: <msg>" and
// exit code 1. Shared by the eeprom commands of both programs.

#include <string>
#include <utility>

#include "cli/command.h"
#include "proto/error.h"

namespace pinet::cli {

/// Thrown inside a handler to end it with "pinetboot: error: <msg>" and exit 1.
struct Failure {
    std::string message;
};

template <typename T>
T must(Result<T> r) {
    if (!r) {
        throw Failure{r.error().message};
    }
    return std::move(*r);
}
inline void must(Result<void> r) {
    if (!r) {
        throw Failure{r.error().message};
    }
}

/// Runs a handler body, mapping Failure to an error line and exit code 1.
template <typename F>
void guarded(F&& body) {
    try {
        body();
        setExitCode(kExitOk);
    } catch (const Failure& f) {
        printError(f.message);
        setExitCode(kExitFailure);
    }
}

}  // namespace pinet::cli
