#include "engine/http/header_block.hpp"

namespace gaetwae::engine::http {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = static_cast<char>(x + 32);
        }
        if (y >= 'A' && y <= 'Z') {
            y = static_cast<char>(y + 32);
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

std::optional<std::string_view> HeaderBlock::get(bhttp::field id) const {
    for (const Entry& e : m_entries) {
        if (e.id == id) {
            return text(e.valueOffset, e.valueSize);
        }
    }
    return std::nullopt;
}

std::optional<std::string_view> HeaderBlock::get(std::string_view name) const {
    for (const Entry& e : m_entries) {
        if (equalsIgnoreCase(text(e.nameOffset, e.nameSize), name)) {
            return text(e.valueOffset, e.valueSize);
        }
    }
    return std::nullopt;
}

std::size_t HeaderBlock::count(bhttp::field id) const {
    std::size_t n = 0;
    for (const Entry& e : m_entries) {
        n += e.id == id ? 1 : 0;
    }
    return n;
}

} // namespace gaetwae::engine::http
