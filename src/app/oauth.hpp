#pragma once
// Builds the OAuth authorization server from the configuration (--enable-oauth).
#include "app/config.hpp"
#include "auth/server.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace mk {

// Throws Errc::invalid_argument with the flag at fault.
std::unique_ptr<auth::AuthServer> make_auth_server(boost::asio::any_io_executor ex, const Config& c,
                                                   const std::string& endpoint);

}  // namespace mk
