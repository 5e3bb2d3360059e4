#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::model {

// One problem found while decoding or validating a document. `pointer` is a JSON pointer
// (RFC 6901) to the offending value, so the YAML loader can turn it into file:line:column and
// the console can highlight the field in a dialog.
struct Diagnostic {
    std::string pointer;
    std::string message;
    bool atKey = false; // the problem is the key itself (unknown or duplicate), not its value

    bool operator==(const Diagnostic&) const = default;
};

// Collects every problem instead of stopping at the first: users fix a config in one pass.
class Diagnostics {
public:
    void error(std::string pointer, std::string message, bool atKey = false);
    void append(const Diagnostics& other);

    bool empty() const { return m_items.empty(); }
    std::size_t size() const { return m_items.size(); }
    const std::vector<Diagnostic>& items() const { return m_items; }

private:
    std::vector<Diagnostic> m_items;
};

// "/pools/0/instances/1/address" -> "pools[0].instances[1].address"; "" -> "(document)".
std::string displayPath(std::string_view pointer);

// Appends one reference token to a JSON pointer, escaping '~' and '/'.
std::string childPointer(std::string_view parent, std::string_view key);
std::string childPointer(std::string_view parent, std::size_t index);

} // namespace gaetwae::model
