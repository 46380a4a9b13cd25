#pragma once
// A small Beast HTTP/1.1 server: one coroutine per connection, optional TLS, header/body/idle
// timeouts, body-size limit, graceful stop. Requests are handed to a Router.
#include "transport/http/options.hpp"
#include "transport/http/writer.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace mk::transport::http {

using Router = std::function<boost::asio::awaitable<void>(Request&, Writer&)>;

class Listener {
 public:
  Listener(boost::asio::io_context& io, std::string address, unsigned short port, Options opts, Router router);
  // Binds; throws mk::Error with the address on failure.
  void start();
  void stop_accepting();
  std::size_t active_requests() const { return active_; }
  unsigned short bound_port() const { return bound_port_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  template <class Stream>
  boost::asio::awaitable<void> serve(Stream stream);

  boost::asio::io_context& io_;
  std::string address_;
  unsigned short port_;
  unsigned short bound_port_ = 0;
  Options opts_;
  Router router_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::size_t active_ = 0;
};

}  // namespace mk::transport::http
