#pragma once

#include "shared/model/diagnostics.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace gaetwae::loadtest {

// One request of a captured schedule: when it arrived (microseconds after the capture
// started), what it asked for and how big its body was. The engine's traffic capture
// (`capture.get`) returns these, the console stores them, and `gaetwae-load` replays them at
// their original timing (or N times faster). Header values are only those the capture was
// asked to keep; credentials are never captured. Bodies are not kept: a replay sends
// `bodyBytes` filler bytes.
struct ScheduleEntry {
    std::int64_t offsetUs = 0;
    std::string method = "GET";
    std::string target = "/"; // origin form: path and query
    std::vector<std::pair<std::string, std::string>> headers;
    std::uint64_t bodyBytes = 0;

    bool operator==(const ScheduleEntry&) const = default;
};

// {"offsetUs": 1250, "method": "POST", "target": "/api/orders?x=1",
//  "headers": {"content-type": "application/json"}, "bodyBytes": 312}
nlohmann::json toJson(const ScheduleEntry& entry);
bool fromJson(const nlohmann::json& value, ScheduleEntry& out, const std::string& pointer,
              model::Diagnostics& diagnostics);

// A schedule file holds one entry per line (JSON lines), in offset order. readSchedule reports
// problems as "line N: field: message" and sorts entries by offset (stable).
void writeSchedule(std::ostream& out, const std::vector<ScheduleEntry>& entries);
bool readSchedule(std::istream& in, std::vector<ScheduleEntry>& out, std::string& error);

} // namespace gaetwae::loadtest
