// The learner's view of a set of rollout servers: generation and scoring spread over the replicas
// (ReplicaSet), and weight pushes to every one of them as chunked PushWeights streams. The job's
// policy servers are one pool; a distillation teacher's servers are another (scored, never
// pushed to).
//
// A policy pool keeps its servers in step with the job's weights:
//  - A push is fleet-consistent: the weights are staged on every serving member, then the pool
//    flips its committed version and commits them everywhere. Every request dispatched after the
//    flip carries min_version = the committed version, and a server that has the version staged
//    but not yet committed commits it before serving such a request; so no request started after
//    the commit is served by old weights on any server. A server that fails to stage is dropped
//    from the pool (reported), never left serving the old version beside the new one.
//  - Membership is elastic: entries "dns:NAME:PORT" and "registered" (server_entries.h) are
//    looked at every refresh; a server that appears is brought to the committed weights (a full
//    push) before it gets work; one that disappears is removed (its requests are retried
//    elsewhere, as for any failed server). A down server, fixed or not, is probed and, once it
//    answers, synced and served again.
// A teacher pool does none of this: a failed teacher server is tried again after a backoff of a
// few seconds, and calls wait at most max_outage_seconds while every teacher server is down.
//
// Thread safety: GenerateAll, ScoreAll and PushAll may run concurrently (the producer samples the
// next batch while the learner pushes); the membership thread runs beside them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/parameters.h"
#include "common/rpc/tls.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "learner/servers/fleet_registry.h"
#include "learner/servers/replica_set.h"
#include "learner/servers/server_entries.h"

namespace flywheel::learner {

struct PushResult {
  int servers_updated = 0;
  int64_t bytes = 0;
  double max_swap_pause_seconds = 0.0;
  // Members that failed to stage or commit and were dropped.
  std::vector<std::string> dropped;
  // When the committed version flipped (requests dispatched after it carry the new version).
  std::chrono::steady_clock::time_point committed_at;
};

struct RolloutPoolOptions {
  // Entries as in JobSpec.rollout_servers.
  std::vector<std::string> servers;
  // The served model's name on the servers ("" = each server's first).
  std::string model;
  // Authorises PushWeights and CommitWeights ("" when the servers run without a token).
  std::string bearer_token;
  // TLS of the channels to the servers (plaintext when not enabled).
  rpc::ClientTls tls;
  double timeout_seconds = 120;
  ReplicaSet::EventFn on_event;
  std::string kind = "rollout server";
  // A policy pool (true): stage-then-commit pushes, min_version on requests, weight sync of
  // joining and returning servers. A teacher pool (false): a failed server is tried again after
  // recover_after_seconds.
  bool policy = true;
  double recover_after_seconds = 5.0;
  // While every server of a teacher pool is down, calls wait this long for one to come back
  // before they fail (ReplicaSet::Options).
  double max_outage_seconds = 300;
  // Where "registered" servers come from; may be null when no entry says "registered".
  const FleetRegistry* registry = nullptr;
  // How often membership is looked at (DNS re-resolved, registry read, down servers probed).
  double refresh_seconds = 1.0;
};

class RolloutPool {
 public:
  explicit RolloutPool(RolloutPoolOptions options);
  // A fixed list (entries as above). bearer_token authorises PushWeights ("" when the servers run
  // without a token); tls secures the channels (plaintext when not enabled). `replicas` names the
  // servers in messages and says how a failed one is retried; the default (a policy server) stays
  // down until a push to it succeeds, any other makes a teacher pool.
  RolloutPool(const std::vector<std::string>& addresses, std::string bearer_token,
              const rpc::ClientTls& tls, double timeout_seconds, ReplicaSet::EventFn on_event,
              ReplicaSet::Options replicas = {.kind = "rollout server"});
  // Stops the membership thread.
  ~RolloutPool();
  RolloutPool(const RolloutPool&) = delete;
  RolloutPool& operator=(const RolloutPool&) = delete;

  // Samples every request, in order. Each request runs whole on one server; a server that fails
  // is skipped and its requests run again elsewhere with the same seeds.
  absl::StatusOr<std::vector<v1::GenerateResponse>> GenerateAll(
      const std::vector<v1::GenerateRequest>& requests, const std::atomic<bool>* cancel);

  // Sends `params` (layout's tensors, float32) as `version` to every serving member: staged on
  // all, then committed (see above). Unavailable only when no server took the push; the error of
  // a server that rejects the push as unauthorised or invalid (a configuration problem every
  // later push would repeat).
  absl::StatusOr<PushResult> PushAll(const model::ParameterLayout& layout, const float* params,
                                     int64_t version);

  // The largest weight version any member reports for the pool's model (GetInfo); -1 when none
  // answers. The learner numbers its pushes above it so versions never repeat on a server.
  int64_t MaxServerVersion();

  // Raw logprobs of each item's continuation under the served weights (Score), spread over the
  // servers like GenerateAll. With the policy's own servers this is the self-teacher of
  // distillation; a TeacherPool is a RolloutPool over the teacher's servers.
  absl::StatusOr<std::vector<std::vector<float>>> ScoreAll(const std::vector<v1::ScoreItem>& items,
                                                           const std::atomic<bool>* cancel);

  int64_t retries() const { return replicas_.retries(); }
  // Servers ever taken up (removed ones included).
  int size() const { return replicas_.size(); }
  // Members serving now.
  int serving() const { return replicas_.healthy_count(); }
  // The committed weight version (-1 before the first push).
  int64_t committed_version() const { return committed_version_.load(); }
  // Looks at membership now (what the membership thread does every refresh_seconds).
  void Refresh();

 private:
  using Stub = v1::RolloutService::Stub;
  struct Weights {
    std::shared_ptr<const model::ParameterLayout> layout;
    std::shared_ptr<const std::vector<float>> params;
    int64_t version = -1;
  };

  std::shared_ptr<Stub> StubOf(int server) const;
  // Adds `address` (down until synced, unless nothing has been pushed yet); its index.
  int AddServer(const std::string& address, bool dynamic);
  // One chunked PushWeights stream to `server` (UploadWeights).
  absl::Status PushOne(int server, const model::ParameterLayout& layout, const float* params,
                       int64_t version, bool stage_only, v1::PushWeightsResponse* response);
  absl::Status CommitOne(int server, int64_t version, v1::CommitWeightsResponse* response);
  // One attempt of PushAll over the members serving now.
  absl::StatusOr<PushResult> PushOnce(const model::ParameterLayout& layout, const float* params,
                                      int64_t version);
  // Brings a down or joining member to the committed weights and serves it again.
  void Sync(int server);
  void MembershipLoop();
  void Stamp(v1::GenerateRequest* request) const;

  const RolloutPoolOptions options_;
  ServerEntries entries_;
  ReplicaSet replicas_;
  mutable std::mutex stubs_mu_;
  std::vector<std::shared_ptr<Stub>> stubs_;  // by server index; guarded by stubs_mu_
  std::vector<bool> dynamic_;                 // joined through DNS or the registry; stubs_mu_
  std::mutex refresh_mu_;                     // one Refresh at a time
  // When each down server may be probed next; guarded by refresh_mu_.
  std::map<std::string, std::chrono::steady_clock::time_point> next_probe_;

  // Held across a whole push (stage to commit) and by a sync while it admits its server, so a
  // server never enters between another's stage and commit.
  std::mutex push_mu_;
  Weights committed_;  // guarded by push_mu_
  std::atomic<int64_t> committed_version_{-1};

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;  // guarded by loop_mu_
  std::thread membership_;
};

}  // namespace flywheel::learner
