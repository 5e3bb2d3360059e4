#pragma once

namespace gaetwae::engine::app {

// `gaetwaed ctl ...`: a command-line client of the admin API (status, pools, drain, weight,
// apply, events). argv[0] is "ctl". Returns the process exit code: 0 done, 1 the engine refused
// the request, 2 bad usage, 3 no connection to the engine.
int runCtl(int argc, char** argv);

} // namespace gaetwae::engine::app
