#pragma once

#include "gui/client/admin_client.hpp"
#include "tests/support/fake_backend.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace gaetwae::test {

// Client timings for tests: quick retries and pings, so reconnects and round trips show up
// within a test's deadlines.
inline console::AdminClient::Options fastClientOptions() {
    console::AdminClient::Options options;
    options.initialBackoffMs = 100;
    options.maxBackoffMs = 400;
    options.pingIntervalMs = 200;
    return options;
}

// One route to one round-robin pool "p" of the given fake backends (ids = their names).
inline std::string onePoolYaml(const std::vector<const FakeBackend*>& backends) {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n"
                       "routes: [{name: all, match: {path_prefix: /}, pool: p}]\n"
                       "pools:\n  - name: p\n    instances:\n";
    for (const auto* backend : backends) {
        yaml += fmt::format("      - {{id: {}, address: \"{}\"}}\n", backend->name(), backend->address());
    }
    return yaml;
}

} // namespace gaetwae::test
