#pragma once
// The read side of the fleet for the web API, beside the boot monitor's live view:
//   GET /api/v1/images   {"images":[...]}    (app/image/image_report, as `image list --json`)
//   GET /api/v1/doctor   {"findings":[...], "skipped":[...], ...} (app/doctor, as `doctor --json`)
// An interface so the web server does not depend on the state directory's code
// (serve implements it in app/serve/fleet_reader.*, tests with fakes). Errors are
// values with a stable code; the web server sends them as
// {"error":{"code":"...","message":"..."}} with their status.

#include <string>

#include <tl/expected.hpp>

namespace pinet::app::http {

struct ApiError {
    int status = 500;
    std::string code;  ///< stable, snake_case: "registry_unavailable", "images_unreadable", ...
    std::string message;
};

template <class T>
using ApiResult = tl::expected<T, ApiError>;

/// {"error":{"code":CODE,"message":MESSAGE}}
std::string apiErrorJson(const ApiError& error);

class FleetReader {
public:
    virtual ~FleetReader() = default;
    /// The body of GET /api/v1/images.
    virtual ApiResult<std::string> imagesJson() = 0;
    /// The body of GET /api/v1/doctor. Never changes anything.
    virtual ApiResult<std::string> doctorJson() = 0;
};

}  // namespace pinet::app::http
