#include "engine/admin/token.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace gaetwae::engine::admin {

std::filesystem::path defaultTokenPath() {
    if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
        return std::filesystem::path(state) / "gaetwae" / "admin.token";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        return std::filesystem::path(home) / ".local" / "state" / "gaetwae" / "admin.token";
    }
    return std::filesystem::path("/tmp") / ("gaetwae-" + std::to_string(::getuid())) / "admin.token";
}

std::optional<std::string> readToken(const std::filesystem::path& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "cannot read the admin token file " + path.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) {
        token.pop_back();
    }
    if (token.size() < 16) {
        error = "admin token file " + path.string() + " holds no usable token (at least 16 characters)";
        return std::nullopt;
    }
    return token;
}

std::optional<std::string> loadOrCreateToken(const std::filesystem::path& path, std::string& error) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0) {
        if ((info.st_mode & 077) != 0) {
            spdlog::warn("admin token file {} was readable by others; restricting it to its owner", path.string());
            ::chmod(path.c_str(), 0600);
        }
        return readToken(path, error);
    }
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        ::chmod(path.parent_path().c_str(), 0700);
    }
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) {
        error = "no randomness available for the admin token";
        return std::nullopt;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string token;
    for (const unsigned char byte : random) {
        token += kHex[byte >> 4];
        token += kHex[byte & 15];
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = "cannot create admin token file " + path.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    const std::string line = token + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) {
        error = "cannot write admin token file " + path.string();
        return std::nullopt;
    }
    spdlog::info("admin token created in {} (mode 0600)", path.string());
    return token;
}

bool tokenMatches(std::string_view presented, std::string_view expected) {
    if (presented.size() != expected.size() || expected.empty()) {
        // Length is not secret (tokens have a fixed size); still compare something of equal cost.
        const std::string filler(expected.size(), '\0');
        CRYPTO_memcmp(filler.data(), expected.data(), expected.size());
        return false;
    }
    return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::string_view bearerToken(std::string_view authorization) {
    constexpr std::string_view prefix = "Bearer ";
    if (authorization.size() <= prefix.size()) {
        return {};
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
            return {};
        }
    }
    std::string_view token = authorization.substr(prefix.size());
    while (!token.empty() && token.front() == ' ') {
        token.remove_prefix(1);
    }
    return token;
}

} // namespace gaetwae::engine::admin
