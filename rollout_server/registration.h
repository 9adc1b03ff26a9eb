// Keeps a rollout server registered with a learner (flywheel-rollout --register LEARNER): it
// registers at start and again every heartbeat, so a learner that restarts learns of it within
// one heartbeat, and deregisters when it stops, so jobs drop it at once instead of after a failed
// request. Registering is all it does; the learner decides which jobs use the server and brings
// it to their weights first.
//
// Thread safety: the constructor starts a thread; Stop may be called from any thread, once or
// more.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/rpc/tls.h"

namespace flywheel::rollout {

struct RegistrationOptions {
  std::string learner;              // FleetService address, host:port
  std::string address;              // where the learner reaches this server
  std::vector<std::string> models;  // served model names, in order
  std::string bearer_token;         // the learner's admin token ("" = none)
  rpc::ClientTls tls;               // TLS to the learner (plaintext when not enabled)
  // Longest wait between two registrations (the learner may ask for less).
  double heartbeat_seconds = 5.0;
};

class Registration {
 public:
  explicit Registration(RegistrationOptions options);
  ~Registration();  // Stop()
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  // Deregisters (best effort, a few seconds at most) and ends the thread.
  void Stop();

 private:
  void Run();

  const RegistrationOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// The address to register: `advertise` when given; else `listen` with `port` in place of its
// port and, when it binds every interface (0.0.0.0, [::] or no host), this machine's host name.
std::string AdvertisedAddress(const std::string& advertise, const std::string& listen, int port);

}  // namespace flywheel::rollout
