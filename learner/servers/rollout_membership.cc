// RolloutPool's membership: which servers the pool uses (fixed entries, DNS names re-resolved,
// registered servers), and bringing a joining or returning server to the committed weights
// before it gets work. See rollout_pool.h.
#include <set>

#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "common/rpc/client.h"
#include "common/rpc/probes.h"
#include "learner/servers/rollout_pool.h"

namespace flywheel::learner {
namespace {

using Clock = std::chrono::steady_clock;

// A down server is probed at most this often.
constexpr auto kProbeEvery = std::chrono::seconds(1);
// Deadline of that probe: a live server answers GetInfo in milliseconds.
constexpr double kProbeSeconds = 2.0;
// Syncs that lose the race with a new commit are tried again this often before the next refresh.
constexpr int kSyncAttempts = 3;

}  // namespace

int RolloutPool::AddServer(const std::string& address, bool dynamic) {
  std::lock_guard<std::mutex> push(push_mu_);  // no push is between its stage and its commit
  std::lock_guard<std::mutex> lock(stubs_mu_);
  // Before the first push there is nothing to sync: the first push reaches it like the others.
  const bool up = committed_version_.load() < 0;
  const int index = replicas_.Add(address, up);
  rpc::ChannelOptions channel;
  channel.tls = options_.tls;
  stubs_.push_back(v1::RolloutService::NewStub(rpc::MakeChannel(address, channel)));
  dynamic_.push_back(dynamic);
  if (dynamic && options_.on_event) {
    options_.on_event(absl::StrCat(options_.kind, " ", address, " joined",
                                   up ? "" : "; bringing it to the current weights"));
  }
  return index;
}

void RolloutPool::Refresh() {
  if (!options_.policy) return;
  std::lock_guard<std::mutex> refreshing(refresh_mu_);
  std::set<std::string> wanted;
  bool complete = true;  // every source answered: members it no longer lists may leave
  for (const DnsName& name : entries_.dns) {
    auto found = Resolve(name);
    if (found.ok()) {
      wanted.insert(found->begin(), found->end());
    } else {
      complete = false;
    }
  }
  if (entries_.registered && options_.registry != nullptr) {
    for (auto& a : options_.registry->AddressesServing(options_.model)) wanted.insert(a);
  }
  std::map<std::string, int> members;
  std::vector<bool> dynamic;
  {
    std::lock_guard<std::mutex> lock(stubs_mu_);
    dynamic = dynamic_;
  }
  for (int s = 0; s < static_cast<int>(dynamic.size()); ++s) {
    if (replicas_.member(s)) members[replicas_.address(s)] = s;
  }
  for (const auto& a : wanted) {
    if (!members.count(a)) members[a] = AddServer(a, /*dynamic=*/true);
  }
  if (complete) {
    for (const auto& [address, s] : members) {
      if (s < static_cast<int>(dynamic.size()) && dynamic[s] && !wanted.count(address)) {
        replicas_.Remove(s, "left the pool");
      }
    }
  }
  const auto now = Clock::now();
  for (const auto& [address, s] : members) {
    if (!replicas_.down_until_up(s)) continue;
    auto& next = next_probe_[address];
    if (now < next) continue;
    next = now + kProbeEvery;
    Sync(s);
  }
}

void RolloutPool::Sync(int server) {
  const std::string address = replicas_.address(server);
  auto info = rpc::ProbeRollout(address, kProbeSeconds, options_.bearer_token, options_.tls,
                                options_.model);
  if (!info.ok()) return;  // Still away; probed again later.
  for (int attempt = 0; attempt < kSyncAttempts; ++attempt) {
    Weights w;
    {
      std::lock_guard<std::mutex> lock(push_mu_);
      if (committed_.version < 0) {
        replicas_.MarkUp(server);  // Nothing pushed yet: the first push reaches it.
        return;
      }
      w = committed_;
    }
    v1::PushWeightsResponse response;
    absl::Status st = PushOne(server, *w.layout, w.params->data(), w.version,
                              /*stage_only=*/false, &response);
    if (!st.ok()) {
      FW_LOG(WARNING) << options_.kind << " " << address << ": weight sync failed: " << st;
      return;
    }
    std::lock_guard<std::mutex> lock(push_mu_);
    if (committed_.version == w.version && replicas_.member(server)) {
      replicas_.MarkUp(server);  // Serves from the next dispatch on, at the committed version.
      return;
    }
  }
}

void RolloutPool::MembershipLoop() {
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stop_) {
    loop_cv_.wait_for(lock, std::chrono::duration<double>(options_.refresh_seconds),
                      [&] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Refresh();
    lock.lock();
  }
}

}  // namespace flywheel::learner
