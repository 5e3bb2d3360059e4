#include "engine/config/yaml_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <vector>
#include <cstring>
#include <fcntl.h>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

namespace gaetwae::engine::config {

namespace {

// Whether a string must be quoted to survive a YAML round trip as a string.
bool needsQuotes(const std::string& s) {
    if (s.empty()) {
        return true;
    }
    static const std::regex special(R"(^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|no|on|off|y|n|)"
                                    R"([-+]?[0-9][0-9_]*|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|\.inf|\.nan)$)");
    if (std::regex_match(s, special)) {
        return true;
    }
    const std::string leading = "-?:,[]{}#&*!|>'\"%@`";
    if (leading.find(s.front()) != std::string::npos || s.front() == ' ' || s.back() == ' ') {
        return true;
    }
    return s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':' ||
           s.find_first_of("\n\t\r") != std::string::npos;
}

std::string scalar(const nlohmann::json& value) {
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        return needsQuotes(s) ? value.dump() : s; // JSON string syntax is valid YAML double-quoted
    }
    if (value.is_null()) {
        return "null";
    }
    return value.dump();
}

bool isScalar(const nlohmann::json& value) {
    return !value.is_object() && !value.is_array();
}

bool isFlowable(const nlohmann::json& value) {
    // Short lists of scalars read best inline: [GET, POST].
    if (!value.is_array()) {
        return false;
    }
    for (const auto& item : value) {
        if (!isScalar(item)) {
            return false;
        }
    }
    return value.size() <= 8;
}

std::string flow(const nlohmann::json& array) {
    std::string out = "[";
    for (std::size_t i = 0; i < array.size(); ++i) {
        out += (i == 0 ? "" : ", ") + scalar(array[i]);
    }
    return out + "]";
}

void emit(const nlohmann::json& value, int indent, std::string& out);

// nlohmann::json keeps keys sorted; a config reads better in its usual order: identity first,
// then the main settings, alphabetical for the rest.
int keyRank(const std::string& key) {
    static const std::vector<std::string> order{
        "workers", "listeners", "admin", "limits",   "timeouts", "headers", "upstream", "access_log", "decision_log",
        "routes",  "pools",     "name",  "id",       "address",  "weight",  "state",    "match",      "hosts",
        "path_prefix", "methods", "pool", "strip_prefix", "rewrite_prefix", "strategy", "instances"};
    const auto it = std::find(order.begin(), order.end(), key);
    return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

void emitMapping(const nlohmann::json& object, int indent, std::string& out, bool firstInline) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : object.items()) {
        keys.push_back(key);
    }
    std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
        const int ra = keyRank(a);
        const int rb = keyRank(b);
        return ra != rb ? ra < rb : a < b;
    });
    // "instances" comes last in a pool: the policies above it, the long list below.
    if (const auto it = std::find(keys.begin(), keys.end(), "instances"); it != keys.end()) {
        keys.erase(it);
        keys.push_back("instances");
    }
    bool first = true;
    for (const auto& key : keys) {
        const auto& value = object[key];
        if (!(first && firstInline)) {
            out.append(static_cast<std::size_t>(indent), ' ');
        }
        first = false;
        out += (needsQuotes(key) ? nlohmann::json(key).dump() : key) + ":";
        if (isScalar(value)) {
            out += " " + scalar(value) + "\n";
        } else if (isFlowable(value)) {
            out += " " + flow(value) + "\n";
        } else if (value.empty()) {
            out += value.is_array() ? " []\n" : " {}\n";
        } else {
            out += "\n";
            emit(value, indent + 2, out);
        }
    }
}

void emit(const nlohmann::json& value, int indent, std::string& out) {
    if (value.is_object()) {
        emitMapping(value, indent, out, false);
        return;
    }
    for (const auto& item : value) { // array
        out.append(static_cast<std::size_t>(indent), ' ');
        out += "- ";
        if (isScalar(item)) {
            out += scalar(item) + "\n";
        } else if (isFlowable(item)) {
            out += flow(item) + "\n";
        } else if (item.is_object() && !item.empty()) {
            emitMapping(item, indent + 2, out, true);
        } else if (item.empty()) {
            out += item.is_array() ? "[]\n" : "{}\n";
        } else {
            out += "\n";
            emit(item, indent + 2, out);
        }
    }
}

} // namespace

std::string toYaml(const nlohmann::json& document, const std::string& header) {
    std::string out;
    if (!header.empty()) {
        out += header;
        if (header.back() != '\n') {
            out += '\n';
        }
    }
    emit(document, 0, out);
    return out;
}

bool writeFileAtomically(const std::filesystem::path& path, const std::string& content, std::string& error) {
    const std::filesystem::path temp = path.string() + ".tmp-" + std::to_string(::getpid());
    mode_t mode = 0644;
    struct stat existing {};
    if (::stat(path.c_str(), &existing) == 0) {
        mode = existing.st_mode & 07777;
    }
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        error = "cannot write " + temp.string() + ": " + std::strerror(errno);
        return false;
    }
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error = "cannot write " + temp.string() + ": " + std::strerror(errno);
            ::close(fd);
            ::unlink(temp.c_str());
            return false;
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        error = "cannot flush " + temp.string() + ": " + std::strerror(errno);
        ::unlink(temp.c_str());
        return false;
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        error = "cannot replace " + path.string() + ": " + std::strerror(errno);
        ::unlink(temp.c_str());
        return false;
    }
    // Make the rename itself durable.
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const int dirFd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
    return true;
}

} // namespace gaetwae::engine::config
