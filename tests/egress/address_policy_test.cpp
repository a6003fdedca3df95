// gen::egress, the SSRF rule shared by the webhooks (core's AddressPolicy, whose own tests are
// in tests/core/webhooks and tests/security) and meta.generate's openai provider: URL parsing
// and the refusal messages, which core's tests do not see.
#include <gtest/gtest.h>

#include <gen/egress/address_policy.hpp>

namespace gen::egress {
namespace {

TEST(EgressUrl, ParsesSchemeHostPortAndPath) {
  Url u;
  ASSERT_FALSE(parse_url("HTTPS://api.example.com/v1/chat/completions?x=1#frag", u));
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "api.example.com");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.path, "/v1/chat/completions?x=1");
  ASSERT_FALSE(parse_url("http://[2606:4700::1111]:8080", u));
  EXPECT_EQ(u.host, "2606:4700::1111");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.path, "/");
  ASSERT_FALSE(parse_url("http://h/caf\xc3\xa9?q=%20", u));
  EXPECT_EQ(u.path, "/caf%C3%A9?q=%20");
  ASSERT_FALSE(parse_url("http://h?q", u));
  EXPECT_EQ(u.path, "/?q");
  EXPECT_EQ(u.port, 80);
}

TEST(EgressUrl, RefusesWhatIsNotAPlainHttpUrl) {
  Url u;
  const std::pair<const char*, const char*> bad[] = {
      {"ftp://8.8.8.8/", "must be an http:// or https:// URL"},
      {"not a url", "holds a space or a control character"},
      {"api.example.com/v1", "must be an http:// or https:// URL"},
      {"http://u:p@8.8.8.8/", "must not carry user info"},
      {"http:///path", "has no host"},
      {"http://8.8.8.8:99999/", "bad port '99999'"},
      {"http://8.8.8.8:0/", "bad port '0'"},
      {"http://8.8.8.8:8x/", "bad port '8x'"},
      {"http://[::1/", "unclosed '['"},
      {"http://8.8.8.8/a\r\nHost: evil", "control character"},
  };
  for (const auto& [url, reason] : bad) {
    auto problem = parse_url(url, u);
    ASSERT_TRUE(problem.has_value()) << url;
    EXPECT_NE(problem->find(reason), std::string::npos) << url << ": " << *problem;
  }
}

TEST(EgressPolicy, RefusesInternalAddressesNamingWhoAndTheAllowList) {
  Policy strict;
  Target t;
  auto problem = strict.check("http://127.0.0.1:8080/v1", "LLM endpoints", t);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(*problem,
            "refused: host '127.0.0.1' resolves to 127.0.0.1, a loopback address; LLM endpoints "
            "reach such addresses only when WEBHOOKS__ALLOW_HOSTS allows them");
  // Classic forms of an IPv4 address are the address they name.
  for (const char* url : {"http://127.1/", "http://0x7f000001/", "http://2130706433/",
                          "http://[::ffff:169.254.169.254]/", "http://localhost/"}) {
    EXPECT_TRUE(strict.check(url, "x", t).has_value()) << url;
  }
  ASSERT_FALSE(strict.check("https://8.8.8.8/a", "x", t));
  EXPECT_EQ(t.addresses, std::vector<std::string>{"8.8.8.8"});
  EXPECT_EQ(format_address(*parse_address("::ffff:7f00:1")), "::ffff:127.0.0.1");
  EXPECT_EQ(internal_kind(std::string_view("nonsense")), "not an IP address");
}

TEST(EgressPolicy, AllowListParsesHostsAddressesAndBlocks) {
  Policy p;
  ASSERT_FALSE(Policy::parse(" LocalHost , 10.0.0.0/8,::1 ,", p));
  EXPECT_TRUE(p.allowed_host("localhost"));
  EXPECT_TRUE(p.allowed_address(*parse_address("10.9.8.7")));
  EXPECT_TRUE(p.allowed_address(*parse_address("::ffff:10.0.0.1")));  // mapped: as IPv4
  EXPECT_TRUE(p.allowed_address(*parse_address("::1")));
  EXPECT_FALSE(p.allowed_address(*parse_address("11.0.0.1")));
  Target t;
  EXPECT_FALSE(p.check("http://10.1.2.3/", "x", t));
  EXPECT_EQ(*Policy::parse("10.0.0.0/33", p), "'10.0.0.0/33' has a prefix length above 32");
  EXPECT_EQ(*Policy::parse("not a host!", p),
            "'not a host!' is neither a host name nor an IP address or CIDR block");
  EXPECT_TRUE(Policy::parse("1.2.3.4/x", p).has_value());
}

}  // namespace
}  // namespace gen::egress
