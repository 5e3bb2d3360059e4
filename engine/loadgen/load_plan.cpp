#include "engine/loadgen/load_plan.hpp"

#include "shared/model/units.hpp"

#include <charconv>

namespace gaetwae::engine::loadgen {

std::chrono::milliseconds LoadPlan::length() const {
    if (model == Model::Closed || schedule.empty()) {
        return duration;
    }
    std::chrono::milliseconds total{0};
    for (const auto& step : schedule) {
        total += step.duration;
    }
    return total;
}

double LoadPlan::rateAt(std::chrono::milliseconds offset) const {
    for (const auto& step : schedule) {
        if (offset < step.duration) {
            const double share = step.duration.count() == 0
                                     ? 0.0
                                     : static_cast<double>(offset.count()) / static_cast<double>(step.duration.count());
            return step.fromRps + (step.toRps - step.fromRps) * share;
        }
        offset -= step.duration;
    }
    return 0.0;
}

namespace {

bool parseRate(std::string_view text, double& out) {
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && out >= 0;
}

} // namespace

bool parseSchedule(const std::string& text, std::vector<RateStep>& out, std::string& error) {
    out.clear();
    std::string_view rest(text);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const auto at = item.find('@');
        if (at == std::string_view::npos) {
            error = "'" + std::string(item) + "': expected DURATION@RATE or DURATION@FROM-TO, e.g. 10s@200";
            return false;
        }
        const auto duration = model::parseDuration(item.substr(0, at));
        if (!duration || duration->count() <= 0) {
            error = "'" + std::string(item) + "': bad duration";
            return false;
        }
        RateStep step;
        step.duration = *duration;
        const std::string_view rates = item.substr(at + 1);
        const auto dash = rates.find('-');
        if (!parseRate(rates.substr(0, dash), step.fromRps) ||
            !parseRate(dash == std::string_view::npos ? rates : rates.substr(dash + 1), step.toRps)) {
            error = "'" + std::string(item) + "': bad rate (requests per second)";
            return false;
        }
        out.push_back(step);
    }
    if (out.empty()) {
        error = "the schedule is empty";
        return false;
    }
    return true;
}

} // namespace gaetwae::engine::loadgen
