#pragma once

#include <boost/beast/http/field.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::http {

namespace bhttp = boost::beast::http;

// Header fields of one message, copied into a reused arena as they are parsed (Beast only lends
// its views for the duration of a callback). No per-field allocation after warm-up.
class HeaderBlock {
public:
    struct Field {
        bhttp::field id; // bhttp::field::unknown for names Beast does not know
        std::string_view name;
        std::string_view value;
    };

    HeaderBlock() {
        m_arena.reserve(2048);
        m_entries.reserve(32);
    }

    void clear() {
        m_arena.clear();
        m_entries.clear();
    }

    void add(bhttp::field id, std::string_view name, std::string_view value) {
        const auto nameOffset = store(name);
        const auto valueOffset = store(value);
        m_entries.push_back(Entry{id, nameOffset, static_cast<std::uint32_t>(name.size()), valueOffset,
                                  static_cast<std::uint32_t>(value.size())});
    }

    // Copies text into the arena; the returned offset stays valid until clear().
    std::uint32_t store(std::string_view text) {
        const auto offset = static_cast<std::uint32_t>(m_arena.size());
        m_arena.append(text);
        return offset;
    }
    std::string_view text(std::uint32_t offset, std::uint32_t size) const { return {m_arena.data() + offset, size}; }

    std::size_t size() const { return m_entries.size(); }
    Field operator[](std::size_t i) const {
        const Entry& e = m_entries[i];
        return Field{e.id, text(e.nameOffset, e.nameSize), text(e.valueOffset, e.valueSize)};
    }

    // Drops the fields `pred(Field)` selects. Their text stays in the arena until clear(), so
    // views handed out earlier stay valid.
    template <class Pred>
    void eraseIf(Pred&& pred) {
        std::erase_if(m_entries, [&](const Entry& e) {
            return pred(Field{e.id, text(e.nameOffset, e.nameSize), text(e.valueOffset, e.valueSize)});
        });
    }

    // First value by known id, or by case-insensitive name.
    std::optional<std::string_view> get(bhttp::field id) const;
    std::optional<std::string_view> get(std::string_view name) const;
    std::size_t count(bhttp::field id) const;

private:
    struct Entry {
        bhttp::field id;
        std::uint32_t nameOffset;
        std::uint32_t nameSize;
        std::uint32_t valueOffset;
        std::uint32_t valueSize;
    };

    std::string m_arena;
    std::vector<Entry> m_entries;
};

// ASCII case-insensitive comparison for header names and tokens.
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Calls `fn(token)` for each comma-separated token of a list header value, trimmed of OWS.
template <class Fn>
void forEachToken(std::string_view value, Fn&& fn) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view token = value.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
            token.remove_prefix(1);
        }
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
            token.remove_suffix(1);
        }
        if (!token.empty()) {
            fn(token);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
}

} // namespace gaetwae::engine::http
