#pragma once

#include <boost/intrusive/list_hook.hpp>

namespace gaetwae::engine::net {

// Links a session into its worker's list without allocation; unlinks itself when destroyed.
using SessionHook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

} // namespace gaetwae::engine::net
