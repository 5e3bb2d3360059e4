#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace gaetwae::engine::http {

// Unique request ids without locks or syscalls: a random 64-bit worker prefix and a counter
// scrambled by a bijective mix (splitmix64), printed as 32 lower-case hex digits.
class RequestIdGenerator {
public:
    explicit RequestIdGenerator(std::uint64_t seed);

    // Writes the next id into `out` and returns a view of it.
    std::string_view next(std::array<char, 32>& out);

private:
    std::uint64_t m_prefix;
    std::uint64_t m_counter = 0;
};

} // namespace gaetwae::engine::http
