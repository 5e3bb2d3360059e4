#include "shared/model/units.hpp"

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

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

} // namespace

std::optional<Duration> parseDuration(std::string_view text) {
    static constexpr std::array<Unit, 4> units{{{"ms", 1.0}, {"s", 1000.0}, {"m", 60'000.0}, {"h", 3'600'000.0}}};
    const auto split = splitNumber(trim(text));
    if (!split) {
        return std::nullopt;
    }
    const auto [value, suffix] = *split;
    for (const auto& unit : units) {
        if (suffix == unit.suffix) {
            const double ms = value * unit.factor;
            if (ms > 1e15 || ms != std::floor(ms)) {
                return std::nullopt; // sub-millisecond precision or absurd values are mistakes
            }
            return Duration{static_cast<Duration::rep>(ms)};
        }
    }
    return std::nullopt;
}

std::string formatDuration(Duration value) {
    const auto ms = value.count();
    if (ms != 0 && ms % 3'600'000 == 0) {
        return std::to_string(ms / 3'600'000) + "h";
    }
    if (ms != 0 && ms % 60'000 == 0) {
        return std::to_string(ms / 60'000) + "m";
    }
    if (ms != 0 && ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    return std::to_string(ms) + "ms";
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
    const auto split = splitNumber(trim(text));
    if (!split) {
        return std::nullopt;
    }
    const auto [value, suffix] = *split;
    for (const auto& unit : units) {
        if (suffix == unit.suffix) {
            const double bytes = value * unit.factor;
            if (bytes > 1.8e19 || bytes != std::floor(bytes)) {
                return std::nullopt;
            }
            return static_cast<std::uint64_t>(bytes);
        }
    }
    return std::nullopt;
}

std::string formatSize(std::uint64_t bytes) {
    if (bytes != 0 && bytes % 1073741824 == 0) {
        return std::to_string(bytes / 1073741824) + "GiB";
    }
    if (bytes != 0 && bytes % 1048576 == 0) {
        return std::to_string(bytes / 1048576) + "MiB";
    }
    if (bytes != 0 && bytes % 1024 == 0) {
        return std::to_string(bytes / 1024) + "KiB";
    }
    return std::to_string(bytes);
}

} // namespace gaetwae::model
