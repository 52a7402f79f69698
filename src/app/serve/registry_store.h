#pragma once
// The daemon's view of the client registry (SQLite in the state directory).

#include <memory>
#include <string>

#include "app/serve/client_store.h"

namespace pinet::app::serve {

/// Opens <stateDir>/ registry. @throw std::runtime_error naming the file on failure.
std::unique_ptr<ClientStore> openRegistryStore(const std::string& stateDir);

}  // namespace pinet::app::serve
