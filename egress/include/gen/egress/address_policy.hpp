// The SSRF rule for outbound requests to URLs that users supply (webhook receivers, the LLM
// endpoint of meta.generate's openai provider): one definition, used by core's AddressPolicy
// and linked statically into plugins, which may not link core.
//
// A URL may be reached when it is http or https, names a host and no user info, and every
// address its host resolves to is public: loopback, private, link-local, CGNAT, multicast,
// unspecified and the other non-global blocks of the IANA special-purpose registries are
// refused (IPv4-mapped IPv6 addresses are judged as IPv4; NAT64 and 6to4 addresses by the
// IPv4 address they embed), unless the operator's allow-list names the host or a CIDR block
// holding the address. The caller connects to an address of `Target::addresses` (never
// resolving the name again, so DNS rebinding cannot swap in another address) and sends the
// host name in the Host header and TLS server name.
//
// Errors are returned as text, never thrown: the callers turn them into their own errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gen::egress {

/// An address in network byte order: 4 bytes (IPv4) or 16 (IPv6).
using Bytes = std::vector<unsigned char>;

/// A literal IPv4 address (dotted forms as inet_aton reads them) or IPv6 address (a "%scope"
/// suffix is ignored); nullopt otherwise.
std::optional<Bytes> parse_address(std::string_view text);
/// The usual text form ("127.0.0.1", "::ffff:127.0.0.1").
std::string format_address(const Bytes& address);

/// Why `address` may not be reached ("a loopback address", "a private address (in a 6to4
/// address)" ...), or "" when it is public. Ignores any allow-list.
std::string internal_kind(const Bytes& address);
/// The same for a literal address; "not an IP address" when `address` is none.
std::string internal_kind(std::string_view address);

/// A parsed http(s) URL.
struct Url {
  std::string scheme;  ///< "http" or "https", lowercased
  std::string host;    ///< as written (brackets of an IPv6 literal removed)
  int port = 0;        ///< the scheme's port when the URL names none
  std::string path;    ///< path and query, at least "/"; the fragment is dropped
};

/// Parses `url`; returns the problem ("must be an http:// or https:// URL; got 'ftp://x'").
std::optional<std::string> parse_url(std::string_view url, Url& out);

/// A URL checked against the rule: where to connect.
struct Target : Url {
  std::vector<std::string> addresses;  ///< resolved and allowed, in resolver order
};

class Policy {
 public:
  /// Allows nothing beyond public addresses.
  Policy() = default;

  /// `allow_list`: comma-separated host names (matched exactly, case-insensitively) and IP
  /// addresses or CIDR blocks ("127.0.0.1/32", "10.0.0.0/8", "::1"), as WEBHOOKS__ALLOW_HOSTS
  /// holds them. Returns the problem with the first malformed entry ("'x!' is neither a host
  /// name nor an IP address or CIDR block").
  static std::optional<std::string> parse(std::string_view allow_list, Policy& out);

  /// Parses `url`, resolves its host (getaddrinfo; a literal address is taken as it is) and
  /// fills `out` when every address may be reached. Returns the reason otherwise; a refused
  /// address reads "refused: host 'h' resolves to 127.0.0.1, a loopback address; <who> reach
  /// such addresses only when WEBHOOKS__ALLOW_HOSTS allows them", `who` being e.g. "outbound
  /// webhooks".
  std::optional<std::string> check(std::string_view url, std::string_view who, Target& out) const;

  /// Whether the allow-list names `host` or holds `address`.
  bool allowed_host(std::string_view host) const;
  bool allowed_address(const Bytes& address) const;

 private:
  struct Block {
    Bytes bytes;  ///< 4 or 16
    int prefix = 0;
  };
  std::vector<std::string> hosts_;  ///< lowercased
  std::vector<Block> blocks_;
};

}  // namespace gen::egress
