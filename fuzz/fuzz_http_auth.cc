// Fuzz target: the dashboard's credential headers (any bytes a client sends):
// `Authorization` through bearerToken, `Cookie` through cookieValue, both
// compared in constant time against a live session. Whatever the bytes, a token
// is a whitespace-free piece of the header, a cookie value a piece of its header,
// the comparison agrees with ==, and no forged cookie opens a session.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/http/auth.h"

namespace {

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pinet::core::http;
    const std::string in(reinterpret_cast<const char*>(data), size);
    const auto nl = in.find('\n');
    const std::string authorization = in.substr(0, nl);
    const std::string cookie = nl == std::string::npos ? std::string() : in.substr(nl + 1);

    if (auto t = bearerToken(authorization)) {
        check(!t->empty());
        check(t->find_first_of(" \t") == std::string_view::npos);
        check(authorization.find(*t) != std::string::npos);
    }
    const std::string live(64, 'a');
    if (auto v = cookieValue(cookie, "pinetboot_session")) {
        check(cookie.find(*v) != std::string::npos);
        check(constantTimeEqual(*v, live) == (*v == live));
        SessionTable sessions;
        sessions.add(live, "csrf", AuthClock::time_point{});
        check(sessions.use(*v, AuthClock::time_point{}).has_value() == (*v == live));
    }
    check(constantTimeEqual(authorization, cookie) == (authorization == cookie));
    check(constantTimeEqual(authorization, authorization));
    return 0;
}
