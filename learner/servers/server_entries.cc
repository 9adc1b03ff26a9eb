#include "learner/servers/server_entries.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flywheel::learner {
namespace {

constexpr char kDnsPrefix[] = "dns:";
constexpr char kRegistered[] = "registered";

// "host:port" with a non-empty host and a port in 1..65535; IPv6 hosts in brackets.
bool SplitHostPort(const std::string& s, std::string* host, int* port) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int p = 0;
  if (!absl::SimpleAtoi(s.substr(colon + 1), &p) || p < 1 || p > 65535) return false;
  *host = s.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  *port = p;
  return !host->empty();
}

}  // namespace

absl::StatusOr<ServerEntries> ParseServerEntries(const std::vector<std::string>& entries) {
  ServerEntries out;
  for (const auto& e : entries) {
    std::string host;
    int port = 0;
    if (e == kRegistered) {
      out.registered = true;
    } else if (absl::StartsWith(e, kDnsPrefix)) {
      if (!SplitHostPort(e.substr(sizeof(kDnsPrefix) - 1), &host, &port)) {
        return absl::InvalidArgumentError(absl::StrCat("\"", e, "\" is not dns:NAME:PORT"));
      }
      out.dns.push_back({host, port});
    } else if (SplitHostPort(e, &host, &port)) {
      out.fixed.push_back(e);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", e, "\" is not host:port, dns:NAME:PORT or \"registered\""));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Resolve(const DnsName& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(name.host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", name.host, ": ", gai_strerror(rc)));
  }
  std::vector<std::string> out;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text, sizeof(text));
      out.push_back(absl::StrCat(text, ":", name.port));
    } else if (a->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, text,
                sizeof(text));
      out.push_back(absl::StrCat("[", text, "]:", name.port));
    }
  }
  freeaddrinfo(found);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace flywheel::learner
