#include "engine/http/request_id.hpp"

namespace gaetwae::engine::http {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void writeHex(std::uint64_t value, char* out) {
    static constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        out[i] = kDigits[value & 0xf];
        value >>= 4;
    }
}

} // namespace

RequestIdGenerator::RequestIdGenerator(std::uint64_t seed)
    : m_prefix(splitmix64(seed)) {}

std::string_view RequestIdGenerator::next(std::array<char, 32>& out) {
    writeHex(m_prefix, out.data());
    writeHex(splitmix64(++m_counter ^ m_prefix), out.data() + 16);
    return {out.data(), out.size()};
}

} // namespace gaetwae::engine::http
