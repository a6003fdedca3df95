#include "gen/egress/address_policy.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <initializer_list>

namespace gen::egress {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4 addresses for every check.
Bytes normalized(Bytes b) {
  if (b.size() == 16) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b.data(), mapped, 12) == 0) return Bytes(b.begin() + 12, b.end());
  }
  return b;
}

bool in_block(const Bytes& b, const Bytes& net, int prefix) {
  if (b.size() != net.size()) return false;
  int full = prefix / 8;
  if (std::memcmp(b.data(), net.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (b[full] & mask) == (net[full] & mask);
}

std::string v4_kind(const Bytes& b) {
  struct Rule {
    Bytes net;
    int prefix;
    const char* kind;
  };
  static const std::vector<Rule> rules = {
      {{0, 0, 0, 0}, 8, "an unspecified (this-network) address"},
      {{10, 0, 0, 0}, 8, "a private address"},
      {{100, 64, 0, 0}, 10, "a shared (CGNAT) address"},
      {{127, 0, 0, 0}, 8, "a loopback address"},
      {{169, 254, 0, 0}, 16, "a link-local address"},
      {{172, 16, 0, 0}, 12, "a private address"},
      {{192, 0, 0, 0}, 24, "a reserved address"},
      {{192, 0, 2, 0}, 24, "a reserved (documentation) address"},
      {{192, 88, 99, 0}, 24, "a reserved (6to4 relay anycast) address"},
      {{192, 168, 0, 0}, 16, "a private address"},
      {{198, 18, 0, 0}, 15, "a reserved (benchmarking) address"},
      {{198, 51, 100, 0}, 24, "a reserved (documentation) address"},
      {{203, 0, 113, 0}, 24, "a reserved (documentation) address"},
      {{224, 0, 0, 0}, 4, "a multicast address"},
      {{240, 0, 0, 0}, 4, "a reserved (or broadcast) address"},
  };
  for (const Rule& r : rules) {
    if (in_block(b, r.net, r.prefix)) return r.kind;
  }
  return {};
}

// The IANA IPv6 Special-Purpose Address Registry (checked 2026-12): every block that is not
// globally reachable is refused, and so is everything outside global unicast (2000::/3) except
// NAT64's well-known prefix, whose embedded IPv4 address is judged as IPv4.
std::string v6_kind(const Bytes& b) {
  Bytes zero(16, 0);
  if (b == zero) return "an unspecified address";
  Bytes one = zero;
  one[15] = 1;
  if (b == one) return "a loopback address";
  auto embedded = [&](std::size_t at) { return Bytes(b.begin() + at, b.begin() + at + 4); };
  auto net = [](std::initializer_list<unsigned char> head) {
    Bytes n(16, 0);
    std::copy(head.begin(), head.end(), n.begin());
    return n;
  };
  // 64:ff9b::/96 (RFC 6052): the IPv4 address in the last 32 bits is the real destination.
  if (in_block(b, net({0, 0x64, 0xff, 0x9b}), 96)) return v4_kind(embedded(12));
  // 2002::/16 6to4 (RFC 3056): bits 16-47 are the IPv4 address of the site's relay.
  if (in_block(b, net({0x20, 0x02}), 16)) {
    std::string kind = v4_kind(embedded(2));
    if (!kind.empty()) return kind + " (in a 6to4 address)";
  }
  struct Rule {
    Bytes net;
    int prefix;
    const char* kind;
  };
  static const std::vector<Rule> rules = {
      // ::/8 holds ::/128, ::1/128, IPv4-compatible ::a.b.c.d (deprecated) and
      // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765); IPv4-mapped ones were judged as IPv4.
      {net({0}), 8, "a reserved (IPv4-compatible or IPv4-translated) address"},
      {net({0, 0x64, 0xff, 0x9b, 0, 1}), 48, "a local-use NAT64 address"},  // RFC 8215
      {net({0x01, 0x00}), 64, "a discard-only address"},                    // 100::/64
      {net({0x01, 0x00, 0, 0, 0, 0, 0, 1}), 64, "a reserved (dummy) address"},
      // 2001::/23, IETF protocol assignments: Teredo 2001::/32 (embeds an IPv4 server and an
      // obfuscated client), benchmarking 2001:2::/48, ORCHID and the rest.
      {net({0x20, 0x01, 0x00, 0x00}), 23, "a reserved (Teredo or IETF protocol) address"},
      {net({0x20, 0x01, 0x0d, 0xb8}), 32, "a reserved (documentation) address"},
      {net({0x3f, 0xff}), 20, "a reserved (documentation) address"},  // RFC 9637
      {net({0x5f, 0x00}), 16, "a reserved (SRv6 segment identifier) address"},
      {net({0xfc, 0x00}), 7, "a private (unique local) address"},
      {net({0xfe, 0x80}), 10, "a link-local address"},
      {net({0xfe, 0xc0}), 10, "a private (site-local) address"},
      {net({0xff, 0x00}), 8, "a multicast address"},
  };
  for (const Rule& r : rules) {
    if (in_block(b, r.net, r.prefix)) return r.kind;
  }
  if (!in_block(b, net({0x20}), 3)) return "a reserved (unallocated) address";
  return {};
}

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

std::optional<Bytes> parse_address(std::string_view text) {
  if (text.empty() || text.size() > 100) return std::nullopt;
  // inet_aton stops at white space and accepts what precedes it: refuse such text whole.
  if (std::any_of(text.begin(), text.end(),
                  [](unsigned char c) { return c <= ' ' || c >= 0x7f; })) {
    return std::nullopt;
  }
  std::string s(text);
  if (s.find(':') != std::string::npos) {
    if (auto percent = s.find('%'); percent != std::string::npos) s.resize(percent);
    Bytes b(16);
    if (inet_pton(AF_INET6, s.c_str(), b.data()) != 1) return std::nullopt;
    return b;
  }
  // inet_aton, like the resolver, reads the classic forms too (127.1, 0x7f000001): a URL
  // naming an address that way is still recognised as that address.
  in_addr v4{};
  if (inet_aton(s.c_str(), &v4) == 0) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(&v4.s_addr);
  return Bytes(p, p + 4);
}

std::string format_address(const Bytes& address) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int family = address.size() == 4 ? AF_INET : AF_INET6;
  if (address.size() != 4 && address.size() != 16) return {};
  if (inet_ntop(family, address.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

std::string internal_kind(const Bytes& address) {
  Bytes b = normalized(address);
  return b.size() == 4 ? v4_kind(b) : v6_kind(b);
}

std::string internal_kind(std::string_view address) {
  std::optional<Bytes> b = parse_address(address);
  if (!b) return "not an IP address";
  return internal_kind(*b);
}

std::optional<std::string> parse_url(std::string_view url, Url& out) {
  const std::string quoted = "'" + std::string(url.substr(0, 2048)) + "'";
  // Control bytes and spaces would end up in the request line or Host header.
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    return quoted + " is not a valid URL (it holds a space or a control character)";
  }
  const std::size_t colon = url.find("://");
  out = Url{};
  out.scheme = colon == std::string_view::npos ? std::string() : lower(url.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") {
    return "must be an http:// or https:// URL; got " + quoted;
  }
  std::string_view rest = url.substr(colon + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return "must not carry user info";
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return quoted + " is not a valid URL (unclosed '[')";
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return quoted + " is not a valid URL (text after ']')";
      port = after.substr(1);
    }
  } else {
    const std::size_t port_colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, port_colon));
    if (port_colon != std::string_view::npos) port = authority.substr(port_colon + 1);
  }
  if (out.host.empty()) return "has no host: " + quoted;
  out.port = out.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    if (!all_digits(port) || port.size() > 5 || std::stoi(std::string(port)) > 65535 ||
        std::stoi(std::string(port)) == 0) {
      return quoted + " is not a valid URL (bad port '" + std::string(port.substr(0, 20)) + "')";
    }
    out.port = std::stoi(std::string(port));
  }
  path = path.substr(0, path.find('#'));
  // Bytes outside ASCII are percent-encoded, as Poco::URI (which parsed webhook URLs before)
  // wrote them: the request line stays ASCII.
  static const char* const hex = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (c < 0x80) {
      out.path += static_cast<char>(c);
    } else {
      out.path += '%';
      out.path += hex[c >> 4];
      out.path += hex[c & 0xF];
    }
  }
  if (out.path.empty() || out.path.front() != '/') out.path = "/" + out.path;
  return std::nullopt;
}

std::optional<std::string> Policy::parse(std::string_view allow_list, Policy& out) {
  out = Policy{};
  std::size_t start = 0;
  while (start <= allow_list.size()) {
    std::size_t comma = allow_list.find(',', start);
    if (comma == std::string_view::npos) comma = allow_list.size();
    const std::string entry(trim(allow_list.substr(start, comma - start)));
    start = comma + 1;
    if (entry.empty()) continue;
    std::string address = entry;
    int prefix = -1;
    if (auto slash = entry.find('/'); slash != std::string::npos) {
      address = entry.substr(0, slash);
      const std::string bits = entry.substr(slash + 1);
      prefix = all_digits(bits) && bits.size() <= 3 ? std::stoi(bits) : 1000;
    }
    std::optional<Bytes> bytes = parse_address(address);
    if (!bytes) {
      bool hostname = prefix < 0 && std::all_of(entry.begin(), entry.end(), [](unsigned char c) {
                        return std::isalnum(c) || c == '-' || c == '.' || c == '_';
                      });
      if (!hostname) {
        return "'" + entry + "' is neither a host name nor an IP address or CIDR block";
      }
      out.hosts_.push_back(lower(entry));
      continue;
    }
    Bytes b = normalized(*bytes);
    const int max_prefix = static_cast<int>(b.size() * 8);
    if (prefix < 0) prefix = max_prefix;
    if (prefix > max_prefix) {
      return "'" + entry + "' has a prefix length above " + std::to_string(max_prefix);
    }
    out.blocks_.push_back(Block{std::move(b), prefix});
  }
  return std::nullopt;
}

bool Policy::allowed_host(std::string_view host) const {
  return std::find(hosts_.begin(), hosts_.end(), lower(host)) != hosts_.end();
}

bool Policy::allowed_address(const Bytes& address) const {
  Bytes b = normalized(address);
  return std::any_of(blocks_.begin(), blocks_.end(),
                     [&](const Block& block) { return in_block(b, block.bytes, block.prefix); });
}

std::optional<std::string> Policy::check(std::string_view url, std::string_view who,
                                         Target& out) const {
  out = Target{};
  if (auto problem = parse_url(url, out)) return problem;

  std::vector<Bytes> resolved;
  if (std::optional<Bytes> literal = parse_address(out.host)) {
    resolved.push_back(*literal);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;  // as Poco's DNS::hostByName, which the webhooks used
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(out.host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
      return "cannot resolve host '" + out.host + "' (" + gai_strerror(rc) + ")";
    }
    for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
      Bytes b;
      if (a->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
        const auto* p = reinterpret_cast<const unsigned char*>(&in->sin_addr);
        b.assign(p, p + 4);
      } else if (a->ai_family == AF_INET6) {
        const auto* in = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
        const auto* p = reinterpret_cast<const unsigned char*>(&in->sin6_addr);
        b.assign(p, p + 16);
      } else {
        continue;
      }
      if (std::find(resolved.begin(), resolved.end(), b) == resolved.end()) resolved.push_back(b);
    }
    freeaddrinfo(list);
  }
  if (resolved.empty()) return "host '" + out.host + "' has no address";
  const bool host_allowed = allowed_host(out.host);
  for (const Bytes& b : resolved) {
    const std::string text = format_address(b);
    const std::string kind = internal_kind(b);
    if (!kind.empty() && !host_allowed && !allowed_address(b)) {
      return "refused: host '" + out.host + "' resolves to " + text + ", " + kind + "; " +
             std::string(who) + " reach such addresses only when WEBHOOKS__ALLOW_HOSTS allows them";
    }
    out.addresses.push_back(text);
  }
  return std::nullopt;
}

}  // namespace gen::egress
