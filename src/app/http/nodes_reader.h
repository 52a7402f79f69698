#pragma once
// Several nodes (issue #19), for the web API:
//   GET /api/v1/nodes         {"self":ID,"nodes":[...],...} every node, live or not,
//                             and the DHCP buckets each owns
//   GET /api/v1/nodes/boots   {"boots":[...]} the boots every node finished, newest
//                             first, with the node that served each
// An interface so the web server does not depend on serve's node thread
// (app/serve/node_service.*). Both answer from the node thread's last read of the
// store: a request never waits for the database.

#include <cstddef>
#include <string>

namespace pinet::app::http {

class NodesReader {
public:
    virtual ~NodesReader() = default;
    [[nodiscard]] virtual std::string nodesJson() const = 0;
    [[nodiscard]] virtual std::string nodeBootsJson(std::size_t limit) const = 0;
};

}  // namespace pinet::app::http
