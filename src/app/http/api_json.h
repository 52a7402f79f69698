#pragma once
// The web API's JSON (/api/v1/clients, /api/v1/clients/ID, /api/v1/boots) and
// the small JSON bodies of the live events (SSE), built from the boot
// tracker's records and the registry snapshot. Pure functions: the caller
// (serve's BootMonitor) holds the lock that guards the tracker. Field names
// are the API's and stay stable.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/serve/client_store.h"
#include "core/boot/admission.h"
#include "core/boot/boot_tracker.h"
#include "core/boot_events.h"

namespace pinet::app::http::api {

using Known = std::vector<serve::KnownClient>;

/// {"clients": [...]}: every tracked client, then registry rows never seen.
std::string clientsJson(const core::boot::BootTracker& tracker, const Known& known);
/// {"client": {...}, "boots": [...]} for a key, serial, MAC, IP or registry name.
std::optional<std::string> clientJson(const core::boot::BootTracker& tracker, const Known& known,
                                      const std::string& id);
/// {"boots": [...]}, newest first, at most @p limit, of one client or all.
std::string bootsJson(const core::boot::BootTracker& tracker, std::size_t limit,
                      const std::string& clientId);

/// The registry row of a tracked client (by serial, else MAC), or null.
const serve::KnownClient* matchKnown(const Known& known, const core::boot::ClientInfo& client);
/// Client counts by dashboard state: booting, booted, failed, discovered, known, seen.
std::map<std::string, int> clientStates(const core::boot::BootTracker& tracker, const Known& known);

/// /api/v1/admission: the admission controller's state (docs/api fields: enabled,
/// waiting, admitted, throughput_bytes_per_second, committed_bytes, budget_bytes,
/// plan_bytes, the counters, wait_seconds as a histogram, and the queue's head).
std::string admissionJson(const core::boot::AdmissionSnapshot& snapshot);

/// The live event for one boot event ("dhcp" or "transfer" data); @p update is
/// the tracker's last update for it, when there was one.
std::string eventBrief(const core::BootEvent& event, const core::boot::Update* update);
/// The live "boot" event data for a boot that started or ended.
std::string bootUpdateJson(const core::boot::Update& update);

}  // namespace pinet::app::http::api
