#include "shared/model/diagnostics.hpp"

#include <cctype>

namespace gaetwae::model {

void Diagnostics::error(std::string pointer, std::string message, bool atKey) {
    m_items.push_back(Diagnostic{std::move(pointer), std::move(message), atKey});
}

void Diagnostics::append(const Diagnostics& other) {
    m_items.insert(m_items.end(), other.m_items.begin(), other.m_items.end());
}

std::string displayPath(std::string_view pointer) {
    if (pointer.empty()) {
        return "(document)";
    }
    std::string out;
    std::size_t pos = 1;
    while (pos <= pointer.size()) {
        const auto next = pointer.find('/', pos);
        std::string token(pointer.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
        // Unescape ~1 and ~0 (in that order, per RFC 6901).
        for (std::size_t i = 0; (i = token.find("~1", i)) != std::string::npos;) {
            token.replace(i, 2, "/");
        }
        for (std::size_t i = 0; (i = token.find("~0", i)) != std::string::npos;) {
            token.replace(i, 2, "~");
        }
        const bool isIndex = !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
        if (isIndex) {
            out += "[" + token + "]";
        } else {
            if (!out.empty()) {
                out += '.';
            }
            out += token;
        }
        if (next == std::string_view::npos) {
            break;
        }
        pos = next + 1;
    }
    return out;
}

std::string childPointer(std::string_view parent, std::string_view key) {
    std::string out(parent);
    out += '/';
    for (const char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string childPointer(std::string_view parent, std::size_t index) {
    return std::string(parent) + "/" + std::to_string(index);
}

} // namespace gaetwae::model
