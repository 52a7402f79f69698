#pragma once
// The dashboard's static files, compiled in (no CDN, no build step).

#include <string_view>

namespace pinet::app::http {

/// index.html; contains the marker kInitialDataMarker where the server puts the
/// first snapshot (so the page renders before any fetch completes).
std::string_view dashboardHtml();
std::string_view dashboardJs();
std::string_view dashboardCss();
/// /dashboard-fleet.js: the Images and Doctor views (GET /api/v1/images, /api/v1/doctor).
std::string_view dashboardFleetJs();
/// The write side (sign-in, enrol, edit, reset, remove): dashboard_admin.cc.
std::string_view dashboardAdminJs();
std::string_view dashboardAdminCss();
inline constexpr std::string_view kInitialDataMarker = "/*INITIAL_DATA*/null";

}  // namespace pinet::app::http
