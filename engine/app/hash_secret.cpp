#include "engine/app/hash_secret.hpp"

#include "engine/policy/secret_hash.hpp"
#include "shared/model/auth_codec.hpp"

#include <charconv>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace gaetwae::engine::app {

namespace {

constexpr std::string_view kUsage =
    "Usage: gaetwaed hash-secret --api-key             hash an API key read from stdin\n"
    "       gaetwaed hash-secret --password [--iterations N]\n"
    "                                                  hash a password read from stdin (PBKDF2-SHA256)\n"
    "       gaetwaed hash-secret --new-api-key         print a new random API key, then its hash\n"
    "\n"
    "The secret is the first line of stdin (without its line break). Put the printed hash in the\n"
    "config: consumers[].api_keys or consumers[].basic_auth.password. A PBKDF2 check blocks the\n"
    "worker that makes it (the default 100000 iterations take some 40 ms on a current core); the\n"
    "engine caches credentials it verified, so a client pays it once.\n";

std::optional<std::string> readSecret() {
    std::string line;
    if (!std::getline(std::cin, line)) {
        return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return line;
}

} // namespace

int runHashSecret(int argc, char** argv) {
    std::string_view mode;
    std::uint32_t iterations = policy::kDefaultPbkdf2Iterations;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::cout << kUsage;
            return 0;
        }
        if (arg == "--api-key" || arg == "--password" || arg == "--new-api-key") {
            mode = arg;
        } else if (arg == "--iterations" && i + 1 < argc) {
            const std::string_view text = argv[++i];
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), iterations);
            if (ec != std::errc{} || end != text.data() + text.size() ||
                iterations < model::kMinPbkdf2Iterations || iterations > model::kMaxPbkdf2Iterations) {
                std::cerr << "gaetwaed hash-secret: --iterations expects " << model::kMinPbkdf2Iterations
                          << " to " << model::kMaxPbkdf2Iterations << "\n";
                return 2;
            }
        } else {
            std::cerr << "gaetwaed hash-secret: unknown argument '" << arg << "'\n\n" << kUsage;
            return 2;
        }
    }
    if (mode.empty()) {
        std::cerr << kUsage;
        return 2;
    }
    if (mode == "--new-api-key") {
        const std::string key = policy::generateApiKey();
        if (key.empty()) {
            std::cerr << "gaetwaed hash-secret: no random bytes available\n";
            return 1;
        }
        std::cout << key << "\n" << policy::hashApiKey(key) << "\n";
        return 0;
    }
    const auto secret = readSecret();
    if (!secret || secret->empty()) {
        std::cerr << "gaetwaed hash-secret: expected the secret on stdin\n";
        return 2;
    }
    const std::string hash =
        mode == "--api-key" ? policy::hashApiKey(*secret) : policy::hashPassword(*secret, iterations);
    if (hash.empty()) {
        std::cerr << "gaetwaed hash-secret: hashing failed\n";
        return 1;
    }
    std::cout << hash << "\n";
    return 0;
}

} // namespace gaetwae::engine::app
