// Job specs before a job is accepted: a check that finds every problem with a spec at once (model
// directories, datasets, hyper-parameters, server addresses, and live probes of the rollout,
// reward and teacher servers), so SubmitJob can answer INVALID_ARGUMENT with the whole list
// instead of failing minutes into a run. Defaults and the conversion into trainer and loss
// options live in job_spec.h; this check validates through them.
//
// Thread safety: free functions with no shared state; any thread may call them.
#pragma once

#include <string>
#include <vector>

#include "common/rpc/tls.h"
#include "flywheel/v1/learner.pb.h"

namespace flywheel::learner {

struct SpecCheckOptions {
  // Ask each rollout and teacher server for GetInfo and each reward server for ListVerifiers.
  bool probe_servers = true;
  // Deadline of each probe; the probes run concurrently, so the whole check waits about this long
  // at most however many servers are down.
  double probe_timeout_seconds = 3.0;
  // Sent as "authorization: Bearer ..." on probes (empty: none).
  std::string bearer_token;
  // TLS of the probes' channels (the learner's --tls-ca and certificate); plaintext by default.
  rpc::ClientTls tls;
};

// Every problem with `spec` after ApplyJobDefaults, one human-readable line each; empty when the
// spec is valid. Reads the model directories (config.json, tokenizer.json, the names of the
// *.safetensors files, not their contents) and both datasets in full.
std::vector<std::string> CheckJobSpec(const flywheel::v1::JobSpec& spec,
                                      const SpecCheckOptions& options);

}  // namespace flywheel::learner
