#include "shared/model/json_reader.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace gaetwae::model {

namespace {

// Lower case without separators, so "pathPrefix", "path-prefix" and "path_prefix" compare equal.
std::string normalizeKey(std::string_view key) {
    std::string out;
    for (const char c : key) {
        if (c != '_' && c != '-') {
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    return out;
}

// Levenshtein distance; keys are short.
std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

} // namespace

std::string_view describeJsonType(const nlohmann::json& value) {
    switch (value.type()) {
    case nlohmann::json::value_t::null:
        return "nothing";
    case nlohmann::json::value_t::object:
        return "a mapping";
    case nlohmann::json::value_t::array:
        return "a list";
    case nlohmann::json::value_t::string:
        return "a string";
    case nlohmann::json::value_t::boolean:
        return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
        return "an integer";
    case nlohmann::json::value_t::number_float:
        return "a number";
    default:
        return "a value";
    }
}

ObjectReader::ObjectReader(const nlohmann::json& value, std::string pointer, Diagnostics& diagnostics,
                           UnknownKeys unknownKeys)
    : m_pointer(std::move(pointer))
    , m_diagnostics(diagnostics)
    , m_unknownKeys(unknownKeys) {
    if (value.is_object()) {
        m_object = &value;
    } else {
        m_diagnostics.error(m_pointer, "expected a mapping, got " + std::string(describeJsonType(value)));
    }
}

bool ObjectReader::has(std::string_view key) const {
    if (m_object == nullptr) {
        return false;
    }
    const auto it = m_object->find(key);
    return it != m_object->end() && !it->is_null();
}

const nlohmann::json* ObjectReader::member(std::string_view key) {
    if (m_object == nullptr) {
        return nullptr;
    }
    m_known.emplace_back(key);
    const auto it = m_object->find(key);
    if (it == m_object->end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

void ObjectReader::requireMember(std::string_view key) {
    if (m_object != nullptr && !has(key)) {
        m_diagnostics.error(m_pointer, "missing required field '" + std::string(key) + "'");
    }
}

bool ObjectReader::readString(std::string_view key, std::string& out, bool required) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        if (required) {
            requireMember(key);
        }
        return false;
    }
    if (!value->is_string()) {
        std::string hint;
        if (value->is_number()) {
            hint = " (quote it to use it as text: \"" + value->dump() + "\")";
        }
        m_diagnostics.error(pointerOf(key), "expected a string, got " + std::string(describeJsonType(*value)) + hint);
        return false;
    }
    out = value->get<std::string>();
    return true;
}

bool ObjectReader::readBool(std::string_view key, bool& out) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        return false;
    }
    if (!value->is_boolean()) {
        m_diagnostics.error(pointerOf(key), "expected true or false, got " + std::string(describeJsonType(*value)));
        return false;
    }
    out = value->get<bool>();
    return true;
}

bool ObjectReader::readInteger(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max,
                               bool required) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        if (required) {
            requireMember(key);
        }
        return false;
    }
    if (!value->is_number_integer()) {
        m_diagnostics.error(pointerOf(key), "expected an integer, got " + std::string(describeJsonType(*value)));
        return false;
    }
    if (value->is_number_unsigned() && value->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
        m_diagnostics.error(pointerOf(key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
        return false;
    }
    const auto v = value->get<std::int64_t>();
    if (v < min || v > max) {
        m_diagnostics.error(pointerOf(key), "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                                                ", got " + std::to_string(v));
        return false;
    }
    out = v;
    return true;
}

bool ObjectReader::readDouble(std::string_view key, double& out, double min, double max) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        return false;
    }
    if (!value->is_number()) {
        m_diagnostics.error(pointerOf(key), "expected a number, got " + std::string(describeJsonType(*value)));
        return false;
    }
    const double v = value->get<double>();
    if (!(v >= min && v <= max)) {
        std::ostringstream message;
        message << "must be between " << min << " and " << max << ", got " << v;
        m_diagnostics.error(pointerOf(key), message.str());
        return false;
    }
    out = v;
    return true;
}

bool ObjectReader::readDuration(std::string_view key, Duration& out, Duration min, Duration max) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        return false;
    }
    if (!value->is_string()) {
        std::string hint = value->is_number() ? " (add a unit, e.g. \"" + value->dump() + "s\")" : "";
        m_diagnostics.error(pointerOf(key), "expected a duration such as 250ms, 5s or 2m, got " +
                                                std::string(describeJsonType(*value)) + hint);
        return false;
    }
    const auto text = value->get<std::string>();
    const auto parsed = parseDuration(text);
    if (!parsed) {
        m_diagnostics.error(pointerOf(key), "'" + text + "' is not a duration; use a number and a unit: ms, s, m or h");
        return false;
    }
    if (*parsed < min || *parsed > max) {
        m_diagnostics.error(pointerOf(key), "must be between " + formatDuration(min) + " and " + formatDuration(max) +
                                                ", got " + text);
        return false;
    }
    out = *parsed;
    return true;
}

bool ObjectReader::readSize(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        return false;
    }
    std::optional<std::uint64_t> parsed;
    std::string text;
    if (value->is_number_unsigned() || (value->is_number_integer() && value->get<std::int64_t>() >= 0)) {
        parsed = value->get<std::uint64_t>();
        text = value->dump();
    } else if (value->is_string()) {
        text = value->get<std::string>();
        parsed = parseSize(text);
    }
    if (!parsed) {
        m_diagnostics.error(pointerOf(key), "expected a size such as 4096, 16KiB or 10MiB, got " +
                                                (text.empty() ? std::string(describeJsonType(*value)) : "'" + text + "'"));
        return false;
    }
    if (*parsed < min || *parsed > max) {
        m_diagnostics.error(pointerOf(key), "must be between " + formatSize(min) + " and " + formatSize(max) +
                                                ", got " + text);
        return false;
    }
    out = *parsed;
    return true;
}

bool ObjectReader::readStringList(std::string_view key, std::vector<std::string>& out) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        return false;
    }
    if (!value->is_array()) {
        m_diagnostics.error(pointerOf(key), "expected a list of strings, got " + std::string(describeJsonType(*value)));
        return false;
    }
    std::vector<std::string> result;
    bool ok = true;
    for (std::size_t i = 0; i < value->size(); ++i) {
        const auto& item = (*value)[i];
        if (!item.is_string()) {
            m_diagnostics.error(childPointer(pointerOf(key), i),
                                "expected a string, got " + std::string(describeJsonType(item)));
            ok = false;
            continue;
        }
        result.push_back(item.get<std::string>());
    }
    if (ok) {
        out = std::move(result);
    }
    return ok;
}

void ObjectReader::readStringMap(std::string_view key, std::vector<std::pair<std::string, std::string>>& out,
                                 std::string_view expected) {
    const nlohmann::json* value = member(key);
    if (value == nullptr) {
        return;
    }
    if (!value->is_object()) {
        m_diagnostics.error(pointerOf(key), "expected " + std::string(expected) + ", got " +
                                                std::string(describeJsonType(*value)));
        return;
    }
    out.clear();
    for (const auto& [name, item] : value->items()) {
        if (!item.is_string()) {
            m_diagnostics.error(childPointer(pointerOf(key), name),
                                "expected a string, got " + std::string(describeJsonType(item)));
            continue;
        }
        out.emplace_back(name, item.get<std::string>());
    }
}

bool isExtensionKey(std::string_view key) {
    return key.size() > 2 && key.substr(0, 2) == "x-";
}

nlohmann::json ObjectReader::finishWith(bool keepExtensions) {
    nlohmann::json extras = nlohmann::json::object();
    if (m_object == nullptr) {
        return extras;
    }
    for (const auto& [key, value] : m_object->items()) {
        const bool known = std::find(m_known.begin(), m_known.end(), key) != m_known.end();
        if (known) {
            continue;
        }
        if (m_unknownKeys == UnknownKeys::Reject && isExtensionKey(key)) {
            if (keepExtensions) {
                extras[key] = value;
            } else {
                m_diagnostics.error(pointerOf(key), "extension field '" + key +
                                                        "' is not allowed here (only on pools, routes and instances)");
            }
        } else if (m_unknownKeys == UnknownKeys::Reject) {
            std::string hint;
            // Point out near-misses such as "weigth" for "weight" or "pathPrefix" for "path_prefix".
            std::size_t best = 3;
            for (const auto& candidate : m_known) {
                const std::size_t distance = editDistance(normalizeKey(key), normalizeKey(candidate));
                if (distance < best) {
                    best = distance;
                    hint = " (did you mean '" + candidate + "'?)";
                }
            }
            m_diagnostics.error(pointerOf(key), "unknown field '" + key + "'" + hint, true);
        } else {
            extras[key] = value;
        }
    }
    return extras;
}

} // namespace gaetwae::model
