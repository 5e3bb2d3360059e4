#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gaetwae::model {

using Duration = std::chrono::milliseconds;

// Parses "250ms", "5s", "1.5s", "2m", "1h" (a number followed by one unit). A bare number is
// rejected on purpose: "timeout: 5" is ambiguous between seconds and milliseconds.
std::optional<Duration> parseDuration(std::string_view text);

// The shortest exact spelling: 1500ms -> "1500ms", 2000ms -> "2s", 120000ms -> "2m".
std::string formatDuration(Duration value);

// Parses a byte size: "512", "16KiB", "10MiB", "1GiB", "64k"/"8m"/"1g" (binary, nginx style),
// "10KB"/"10MB"/"1GB" (decimal).
std::optional<std::uint64_t> parseSize(std::string_view text);

// The shortest exact binary spelling: 16384 -> "16KiB", 1000 -> "1000".
std::string formatSize(std::uint64_t bytes);

} // namespace gaetwae::model
