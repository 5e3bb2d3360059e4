#pragma once

namespace gaetwae::engine::app {

// `gaetwaed hash-secret ...`: prints the stored form of an API key or a password read from stdin,
// or generates a new API key, so configs never hold secrets in clear. argv[0] is "hash-secret".
// Returns the process exit code: 0 done, 1 failure, 2 bad usage.
int runHashSecret(int argc, char** argv);

} // namespace gaetwae::engine::app
