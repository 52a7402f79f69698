#pragma once
// The common error value. Data-path code returns Result<T> (never throws);
// modules that need to count errors by reason add their own enum and keep a
// message for humans.

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace pinet {

struct Error {
    std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string message) {
    return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace pinet
