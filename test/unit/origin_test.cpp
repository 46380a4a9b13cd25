// DNS-rebinding checks: Host and Origin values are parsed; only loopback IP literals and the
// exact name `localhost` count as loopback.
#include "transport/http/origin.hpp"

#include <gtest/gtest.h>

using namespace mk::transport::http;

TEST(Origin, LoopbackHostHeaders) {
  for (const char* h :
       {"localhost", "localhost:8080", "LOCALHOST:1", "LocalHost", "127.0.0.1", "127.0.0.1:8080", "127.255.255.254:9",
        "127.1.2.3", "[::1]", "[::1]:8080", "[0:0:0:0:0:0:0:1]:80", "[::ffff:127.0.0.1]:8080", "[::FFFF:127.0.0.2]"})
    EXPECT_TRUE(is_loopback_host(h)) << h;
}

TEST(Origin, HostileHostHeadersAreNotLoopback) {
  for (const char* h : {"127.0.0.1.rebind.example:8080",  // the reported bypass
                        "127.0.0.1.nip.io",
                        "127.0.0.1.nip.io:8080",
                        "localhost.evil",
                        "localhost.evil:8080",
                        "localhost.",
                        "localhost.:8080",
                        "127.0.0.1.",
                        "127.0.0.1.:80",
                        "evil.localhost",
                        "xlocalhost",
                        "localhostx",
                        "user@localhost",
                        "localhost@evil.example",
                        "evil.example@127.0.0.1",
                        "127.0.0.1@evil",
                        "localhost:8080@evil",
                        "localhost:80:80",
                        "localhost:",
                        "localhost:abc",
                        "localhost:99999",
                        "localhost:-1",
                        "localhost:+80",
                        "localhost :80",
                        " localhost",
                        "localhost/",
                        "localhost/x",
                        "localhost#",
                        "localhost?",
                        "127.1",
                        "127.0.1",
                        "0x7f.0.0.1",
                        "0177.0.0.1",
                        "127.000.000.001",
                        "2130706433",
                        "127.0.0.256",
                        "127.0.0.1.1",
                        "[::1",
                        "::1",
                        "::1:8080",
                        "[::1]x",
                        "[::1]:",
                        "[::1]:8080:1",
                        "[::1%lo]",
                        "[::1%25lo]:80",
                        "[v1.fe]",
                        "[::2]",
                        "[::]",
                        "[::ffff:10.0.0.1]",
                        "[fe80::1]",
                        "[127.0.0.1]",
                        "[localhost]",
                        "0.0.0.0",
                        "10.0.0.1",
                        "evil.example",
                        "",
                        ":8080",
                        "[]",
                        "[]:80",
                        "localhost\r\nX: y"})
    EXPECT_FALSE(is_loopback_host(h)) << h;
  EXPECT_FALSE(is_loopback_host(std::string(300, 'a')));
  EXPECT_FALSE(is_loopback_host(std::string_view("localhost\0.evil", 15)));
}

TEST(Origin, ParsesHostPort) {
  auto hp = parse_host_port("[::1]:8080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "::1");
  EXPECT_TRUE(hp->ipv6);
  EXPECT_EQ(hp->port, 8080);
  hp = parse_host_port("Example.COM");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "example.com");
  EXPECT_FALSE(hp->port);
  EXPECT_FALSE(parse_host_port("a b"));
  EXPECT_FALSE(parse_host_port("host:65536"));
}

TEST(Origin, ListenAddresses) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("::1"));  // `--http-addr [::1]:8080` once split
  EXPECT_TRUE(is_loopback_address("[::1]"));
  EXPECT_TRUE(is_loopback_address("localhost"));
  EXPECT_FALSE(is_loopback_address("::"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("192.168.1.2"));
  EXPECT_FALSE(is_loopback_address("127.0.0.1.nip.io"));
}

TEST(Origin, OriginsAreParsed) {
  std::vector<std::string> none;
  for (const char* o : {"http://localhost", "http://localhost:6274", "https://127.0.0.1:8443", "http://[::1]:3000",
                        "HTTP://LOCALHOST:1"})
    EXPECT_TRUE(origin_allowed(o, none)) << o;
  for (const char* o : {"http://127.0.0.1.rebind.example:8080",
                        "http://localhost.evil",
                        "http://localhost.",
                        "http://127.0.0.1.nip.io",
                        "http://evil.example",
                        "null",
                        "file://",
                        "ftp://localhost",
                        "localhost",
                        "//localhost",
                        "http://user@localhost",
                        "http://localhost@evil.example",
                        "http://evil.example#@localhost",
                        "http://localhost/",
                        "http://localhost/path",
                        "http://localhost:80/x",
                        "http://localhost?x",
                        "http://localhost:abc",
                        "http://[::1",
                        "http://[::2]",
                        "http://127.1",
                        "http://",
                        "http:/localhost",
                        "javascript:localhost"})
    EXPECT_FALSE(origin_allowed(o, none)) << o;
  EXPECT_TRUE(origin_allowed("", none));  // non-browser clients send none
}

TEST(Origin, ConfiguredOrigins) {
  std::vector<std::string> allowed{"https://app.example.com", "http://tool.example:8080"};
  EXPECT_TRUE(origin_allowed("https://app.example.com", allowed));
  EXPECT_TRUE(origin_allowed("https://APP.example.com:443", allowed));
  EXPECT_TRUE(origin_allowed("http://tool.example:8080", allowed));
  EXPECT_FALSE(origin_allowed("http://tool.example", allowed));
  EXPECT_FALSE(origin_allowed("http://app.example.com", allowed));
  EXPECT_FALSE(origin_allowed("https://app.example.com.evil", allowed));
  EXPECT_FALSE(origin_allowed("https://evil.app.example.com", allowed));
  EXPECT_TRUE(origin_allowed("https://anything.example", {"*"}));
}
