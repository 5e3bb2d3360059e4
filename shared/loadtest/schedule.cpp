#include "shared/loadtest/schedule.hpp"

#include "shared/model/http_token.hpp"
#include "shared/model/json_reader.hpp"

#include <algorithm>
#include <cctype>
#include <istream>
#include <ostream>

namespace gaetwae::loadtest {

nlohmann::json toJson(const ScheduleEntry& entry) {
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : entry.headers) {
        headers[name] = value;
    }
    return {{"offsetUs", entry.offsetUs},
            {"method", entry.method},
            {"target", entry.target},
            {"headers", std::move(headers)},
            {"bodyBytes", entry.bodyBytes}};
}

bool fromJson(const nlohmann::json& value, ScheduleEntry& out, const std::string& pointer,
              model::Diagnostics& diagnostics) {
    const auto before = diagnostics.size();
    model::ObjectReader reader(value, pointer, diagnostics);
    if (!reader.valid()) {
        return false;
    }
    reader.readInteger("offsetUs", out.offsetUs, 0, std::int64_t{86'400} * 1'000'000 * 366, true);
    if (reader.readString("method", out.method, true) && !model::isToken(out.method)) {
        diagnostics.error(reader.pointerOf("method"), "not an HTTP method: '" + out.method + "'");
    }
    if (reader.readString("target", out.target, true) && (out.target.empty() || out.target[0] != '/' ||
                                                          out.target.find_first_of(" \r\n") != std::string::npos)) {
        diagnostics.error(reader.pointerOf("target"), "expected an origin-form target such as /path?query");
    }
    if (const auto* headers = reader.member("headers")) {
        if (!headers->is_object()) {
            diagnostics.error(reader.pointerOf("headers"), "expected an object of header names to values");
        } else {
            out.headers.clear();
            for (const auto& [name, v] : headers->items()) {
                if (!model::isToken(name) || !v.is_string() ||
                    v.get<std::string>().find_first_of("\r\n") != std::string::npos) {
                    diagnostics.error(model::childPointer(reader.pointerOf("headers"), name),
                                      "expected a header name with a one-line string value");
                    continue;
                }
                out.headers.emplace_back(name, v.get<std::string>());
            }
        }
    }
    reader.readSize("bodyBytes", out.bodyBytes, 0, std::uint64_t{1} << 30);
    reader.finish();
    return diagnostics.size() == before;
}

void writeSchedule(std::ostream& out, const std::vector<ScheduleEntry>& entries) {
    for (const auto& entry : entries) {
        out << toJson(entry).dump() << '\n';
    }
}

bool readSchedule(std::istream& in, std::vector<ScheduleEntry>& out, std::string& error) {
    out.clear();
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        const auto value = nlohmann::json::parse(line, nullptr, false);
        if (value.is_discarded()) {
            error = "line " + std::to_string(number) + ": not a JSON object";
            return false;
        }
        model::Diagnostics diagnostics;
        ScheduleEntry entry;
        if (!fromJson(value, entry, "", diagnostics)) {
            const auto& first = diagnostics.items().front();
            error = "line " + std::to_string(number) + ": " + model::displayPath(first.pointer) + ": " + first.message;
            return false;
        }
        out.push_back(std::move(entry));
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.offsetUs < b.offsetUs; });
    return true;
}

} // namespace gaetwae::loadtest
