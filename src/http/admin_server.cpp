// AdminServer: one thread, one io_context, one connection handled at a time (Beast's
// synchronous style would do, but async keeps shutdown prompt: stopping the io_context ends
// everything). Bearer-token check when a token is configured.
#include "http/admin_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include "util/log.h"

#include <thread>

namespace oceanus::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// Compares in time that depends only on the lengths, so that the token cannot be guessed a
// byte at a time from how long a 401 takes.
bool SameSecret(beast::string_view given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

}  // namespace

struct AdminServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  config::AdminConfig config;
  AdminHandler handler;
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      Serve(std::move(socket));
      Accept();
    });
  }

  // Reads one request, answers it, closes: admin clients are curl and Prometheus.
  void Serve(tcp::socket socket) {
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<bhttp::request<bhttp::string_body>>();
    stream->expires_after(std::chrono::seconds(10));
    bhttp::async_read(
        *stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec, std::size_t) {
          if (ec) return;
          AdminResponse answer;
          const std::string target(req->target());
          const std::size_t mark = target.find('?');
          AdminRequest request;
          const auto method = req->method_string();
          request.method = std::string_view(method.data(), method.size());
          request.path = target.substr(0, mark);
          request.query = mark == std::string::npos ? "" : target.substr(mark + 1);
          const auto content_type = (*req)[bhttp::field::content_type];
          request.content_type = std::string_view(content_type.data(), content_type.size());
          request.body = req->body();
          const std::string& path = request.path;
          // The page itself is static and holds no data: a browser loads it without the
          // token, and the page then sends the token with each of its API calls. /hc says
          // only "ok", for probes (Kubernetes httpGet) that cannot carry a token.
          const bool open_path = path == "/admin" || path == "/admin/" || path == "/hc";
          request.authenticated =
              !config.token.empty() &&
              SameSecret((*req)[bhttp::field::authorization], "Bearer " + config.token);
          if (!config.token.empty() && !open_path && !request.authenticated) {
            answer = {401, "text/plain", "admin token required\n"};
          } else {
            try {
              answer = handler(request);
            } catch (const std::exception& e) {
              answer = {500, "text/plain", std::string("error: ") + e.what() + "\n"};
            }
          }
          auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
              static_cast<bhttp::status>(answer.status), req->version());
          res->set(bhttp::field::content_type, answer.content_type);
          res->set(bhttp::field::cache_control, "no-store");
          res->keep_alive(false);
          res->body() = std::move(answer.body);
          res->prepare_payload();
          bhttp::async_write(*stream, *res, [stream, res](beast::error_code, std::size_t) {
            beast::error_code ignored;
            stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
  }
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t AdminServer::port() const { return impl_->acceptor.local_endpoint().port(); }

Result<std::unique_ptr<AdminServer>> AdminServer::Start(const config::AdminConfig& config,
                                                        AdminHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->handler = std::move(handler);
  beast::error_code ec;
  const auto address = asio::ip::make_address(config.listen_host, ec);
  if (ec)
    return Status::InvalidArgument("admin listen address '" + config.listen_host +
                                   "': " + ec.message());
  const tcp::endpoint endpoint(address, config.listen_port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(16, ec);
  if (ec) {
    return Status::Unavailable("admin listener on " + config.listen_host + ":" +
                               std::to_string(config.listen_port) + ": " + ec.message());
  }
  Impl* raw = impl.get();
  raw->Accept();
  raw->thread = std::thread([raw] { raw->io.run(); });
  std::unique_ptr<AdminServer> server(new AdminServer(std::move(impl)));
  spdlog::info("admin listening on {}:{} (/rstatus)", config.listen_host, server->port());
  return server;
}

}  // namespace oceanus::http
