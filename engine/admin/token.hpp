#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gaetwae::engine::admin {

// Where the admin token lives when the config does not say: $XDG_STATE_HOME/gaetwae/admin.token,
// else ~/.local/state/gaetwae/admin.token. The console and `gaetwaed ctl` look in the same place,
// so a local setup needs no configuration at all.
std::filesystem::path defaultTokenPath();

// Reads the token in `path` (its first line, at least 16 characters).
std::optional<std::string> readToken(const std::filesystem::path& path, std::string& error);

// Reads the token from `path`, creating the file (mode 0600, directories 0700) with 256 random
// bits when it does not exist. A file readable by others is tightened to 0600 with a warning.
std::optional<std::string> loadOrCreateToken(const std::filesystem::path& path, std::string& error);

// Constant-time comparison, so response timing does not reveal how much of a guess was right.
bool tokenMatches(std::string_view presented, std::string_view expected);

// The token from an "Authorization: Bearer <token>" header value, or empty.
std::string_view bearerToken(std::string_view authorization);

} // namespace gaetwae::engine::admin
