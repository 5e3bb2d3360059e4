#pragma once

#include "shared/model/diagnostics.hpp"
#include "shared/model/units.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gaetwae::model {

// What to do with keys a reader was not asked about.
enum class UnknownKeys {
    Reject,   // config files and admin changes: a typo must not be silently ignored; extension
              // fields ("x-team": ...) are kept where the object has room for them
    Preserve, // objects a client reads from a newer engine: keep everything, lose nothing
};

// "x-..." keys: operators' own annotations, kept on pools, routes and instances.
bool isExtensionKey(std::string_view key);

// The config name of `value` in a name table (the one readEnum reads with), "unknown" if absent.
template <class Enum, std::size_t N>
std::string_view nameOf(Enum value, const std::array<std::pair<std::string_view, Enum>, N>& names) {
    for (const auto& [name, v] : names) {
        if (v == value) {
            return name;
        }
    }
    return "unknown";
}

// Strict, error-collecting reader for one JSON object. Every read records a precise diagnostic
// (with a JSON pointer) on a missing field or wrong type and leaves the output untouched, so the
// caller's defaults survive and decoding continues to find further errors.
class ObjectReader {
public:
    ObjectReader(const nlohmann::json& value, std::string pointer, Diagnostics& diagnostics,
                 UnknownKeys unknownKeys = UnknownKeys::Reject);

    // False when the value was not an object (already reported).
    bool valid() const { return m_object != nullptr; }
    const std::string& pointer() const { return m_pointer; }
    std::string pointerOf(std::string_view key) const { return childPointer(m_pointer, key); }
    Diagnostics& diagnostics() { return m_diagnostics; }

    // Marks the key as known and returns its value, or nullptr when absent (or null).
    const nlohmann::json* member(std::string_view key);
    bool has(std::string_view key) const;
    void requireMember(std::string_view key);

    bool readString(std::string_view key, std::string& out, bool required = false);
    bool readBool(std::string_view key, bool& out);
    bool readInteger(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max,
                     bool required = false);
    bool readDouble(std::string_view key, double& out, double min, double max);
    bool readDuration(std::string_view key, Duration& out, Duration min, Duration max);
    bool readSize(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
    bool readStringList(std::string_view key, std::vector<std::string>& out);
    // An object of names to strings, in the document's key order; `expected` names it in the
    // error for a non-object ("a mapping of header names to values"). Non-string values are
    // reported and left out.
    void readStringMap(std::string_view key, std::vector<std::pair<std::string, std::string>>& out,
                       std::string_view expected);

    template <class Int>
    bool readUnsigned(std::string_view key, Int& out, Int min = 0, Int max = std::numeric_limits<Int>::max(),
                      bool required = false) {
        std::int64_t value = 0;
        const auto hi = static_cast<std::int64_t>(std::min<std::uint64_t>(max, std::numeric_limits<std::int64_t>::max()));
        if (!readInteger(key, value, static_cast<std::int64_t>(min), hi, required)) {
            return false;
        }
        out = static_cast<Int>(value);
        return true;
    }

    template <class Enum>
    bool readEnum(std::string_view key, Enum& out, std::span<const std::pair<std::string_view, Enum>> names) {
        std::string text;
        if (!readString(key, text)) {
            return false;
        }
        for (const auto& [name, value] : names) {
            if (name == text) {
                out = value;
                return true;
            }
        }
        std::string allowed;
        for (const auto& [name, value] : names) {
            allowed += allowed.empty() ? "" : ", ";
            allowed += name;
        }
        m_diagnostics.error(pointerOf(key), "unknown value '" + text + "', expected one of: " + allowed);
        return false;
    }

    // Reads a nested mapping member with its own reader; returns false when absent.
    template <class Decode>
    bool readObject(std::string_view key, Decode&& decode) {
        const nlohmann::json* value = member(key);
        if (value == nullptr) {
            return false;
        }
        ObjectReader nested(*value, pointerOf(key), m_diagnostics, m_unknownKeys);
        if (nested.valid()) {
            decode(nested);
        }
        nested.finish();
        return true;
    }

    // Decodes each element of an array member with `decode(const json&, std::string pointer)`.
    template <class T, class Decode>
    bool readList(std::string_view key, std::vector<T>& out, Decode&& decode) {
        const nlohmann::json* value = member(key);
        if (value == nullptr) {
            return false;
        }
        if (!value->is_array()) {
            m_diagnostics.error(pointerOf(key), "expected a list");
            return false;
        }
        out.clear();
        out.reserve(value->size());
        for (std::size_t i = 0; i < value->size(); ++i) {
            out.push_back(decode((*value)[i], childPointer(pointerOf(key), i)));
        }
        return true;
    }

    // Reports unknown keys (Reject) or returns them (Preserve). Call once, after all reads.
    // finishKeepingExtensions() also returns extension keys under Reject: for objects that
    // store them (pools, routes, instances).
    nlohmann::json finish() { return finishWith(false); }
    nlohmann::json finishKeepingExtensions() { return finishWith(true); }

private:
    nlohmann::json finishWith(bool keepExtensions);

    const nlohmann::json* m_object = nullptr;
    std::string m_pointer;
    Diagnostics& m_diagnostics;
    UnknownKeys m_unknownKeys;
    std::vector<std::string> m_known;
};

// Short type name for messages: "a string", "a number", "a list"...
std::string_view describeJsonType(const nlohmann::json& value);

} // namespace gaetwae::model
