#include "learner/servers/fleet_registry.h"

#include <algorithm>

namespace flywheel::learner {

bool FleetRegistry::LiveLocked(const Entry& e) const {
  return Clock::now() - e.seen < std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(3 * heartbeat_seconds_));
}

bool FleetRegistry::Register(const RegisteredServer& server) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = servers_.find(server.address);
  const bool fresh = it == servers_.end() || !LiveLocked(it->second);
  servers_[server.address] = {server, Clock::now()};
  return fresh;
}

bool FleetRegistry::Deregister(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  return servers_.erase(address) > 0;
}

std::vector<RegisteredServer> FleetRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RegisteredServer> out;
  for (const auto& [address, e] : servers_) {
    if (LiveLocked(e)) out.push_back(e.server);
  }
  return out;
}

std::vector<std::string> FleetRegistry::AddressesServing(const std::string& model) const {
  std::vector<std::string> out;
  for (const auto& s : List()) {
    if (model.empty() || std::find(s.models.begin(), s.models.end(), model) != s.models.end()) {
      out.push_back(s.address);
    }
  }
  return out;
}

}  // namespace flywheel::learner
