#include "shared/model/units.hpp"

#include "shared/model/http_token.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace gaetwae::model {

namespace {

struct Unit {
    std::string_view suffix;
    double factor;
};

// Splits "1.5s" into 1.5 and "s"; fails on anything but digits, one optional dot, then letters.
std::optional<std::pair<double, std::string_view>> splitNumber(std::string_view text) {
    std::size_t i = 0;
    bool sawDigit = false;
    bool sawDot = false;
    while (i < text.size()) {
        const char c = text[i];
        if (c >= '0' && c <= '9') {
            sawDigit = true;
        } else if (c == '.' && !sawDot) {
            sawDot = true;
        } else {
            break;
        }
        ++i;
    }
    if (!sawDigit) {
        return std::nullopt;
    }
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
    if (ec != std::errc{} || ptr != text.data() + i) {
        return std::nullopt;
    }
    return std::pair{value, text.substr(i)};
}

// "<number><unit>" -> number * factor, which must be a whole number no larger than `max`.
template <std::size_t N>
std::optional<double> parseWithUnit(std::string_view text, const std::array<Unit, N>& units, double max) {
    const auto split = splitNumber(trimOws(text));
    if (!split) {
        return std::nullopt;
    }
    const auto [value, suffix] = *split;
    for (const auto& unit : units) {
        if (suffix == unit.suffix) {
            const double scaled = value * unit.factor;
            if (scaled > max || scaled != std::floor(scaled)) {
                return std::nullopt;
            }
            return scaled;
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<Duration> parseDuration(std::string_view text) {
    static constexpr std::array<Unit, 4> units{{{"ms", 1.0}, {"s", 1000.0}, {"m", 60'000.0}, {"h", 3'600'000.0}}};
    // Sub-millisecond precision or absurd values are mistakes.
    const auto ms = parseWithUnit(text, units, 1e15);
    return ms ? std::optional<Duration>(Duration{static_cast<Duration::rep>(*ms)}) : std::nullopt;
}

namespace {

// The largest unit (listed largest first) that divides `value` exactly.
template <class Int, std::size_t N>
std::string formatExact(Int value, const std::array<std::pair<Int, std::string_view>, N>& units) {
    for (const auto& [factor, suffix] : units) {
        if (value != 0 && value % factor == 0) {
            return std::to_string(value / factor) + std::string(suffix);
        }
    }
    return std::to_string(value);
}

} // namespace

std::string formatDuration(Duration value) {
    static constexpr std::array<std::pair<Duration::rep, std::string_view>, 4> units{
        {{3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}}};
    return value.count() == 0 ? "0ms" : formatExact(value.count(), units);
}

std::optional<std::uint64_t> parseSize(std::string_view text) {
    static constexpr std::array<Unit, 14> units{{{"", 1.0},
                                                 {"B", 1.0},
                                                 {"KiB", 1024.0},
                                                 {"MiB", 1048576.0},
                                                 {"GiB", 1073741824.0},
                                                 {"k", 1024.0},
                                                 {"K", 1024.0},
                                                 {"m", 1048576.0},
                                                 {"M", 1048576.0},
                                                 {"g", 1073741824.0},
                                                 {"G", 1073741824.0},
                                                 {"KB", 1000.0},
                                                 {"MB", 1e6},
                                                 {"GB", 1e9}}};
    const auto bytes = parseWithUnit(text, units, 1.8e19);
    return bytes ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*bytes)) : std::nullopt;
}

std::string formatSize(std::uint64_t bytes) {
    static constexpr std::array<std::pair<std::uint64_t, std::string_view>, 3> units{
        {{1073741824, "GiB"}, {1048576, "MiB"}, {1024, "KiB"}}};
    return formatExact(bytes, units);
}

} // namespace gaetwae::model
