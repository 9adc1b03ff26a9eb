// The rollout servers that announced themselves to this learner (flywheel-rollout --register),
// with the models each serves. Jobs whose spec lists "registered" take them up (RolloutPool);
// FleetService (learner/jobs/fleet_service.h) fills it. A server is forgotten when it
// deregisters, or when it has not re-registered for `expire_seconds` (it died without saying so).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace flywheel::learner {

struct RegisteredServer {
  std::string address;
  std::vector<std::string> models;  // the first is the server's default
};

class FleetRegistry {
 public:
  // Servers re-register every heartbeat_seconds; one silent for three heartbeats is forgotten.
  explicit FleetRegistry(double heartbeat_seconds = 2.0) : heartbeat_seconds_(heartbeat_seconds) {}

  double heartbeat_seconds() const { return heartbeat_seconds_; }
  // Adds or refreshes a server. True when it is new.
  bool Register(const RegisteredServer& server);
  // Forgets a server. True when it was known.
  bool Deregister(const std::string& address);
  // The live servers (registered within three heartbeats), by address.
  std::vector<RegisteredServer> List() const;
  // The live servers that serve `model` ("" = any server, by its default model).
  std::vector<std::string> AddressesServing(const std::string& model) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    RegisteredServer server;
    Clock::time_point seen;
  };
  bool LiveLocked(const Entry& e) const;

  const double heartbeat_seconds_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> servers_;  // guarded by mu_
};

}  // namespace flywheel::learner
