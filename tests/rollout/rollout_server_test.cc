// flywheel-rollout as deployed: the real daemon on 127.0.0.1 (port 0), real gRPC clients in
// parallel, weight pushes good and bad, /metrics checked by Debian's promtool, the CLI pipeline
// `flywheel generate --json | flywheel logprobs`, and SIGTERM.
#include <signal.h>

#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/crc32c.h"
#include "common/model/transformer.h"
#include "common/rpc/auth.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "rollout_server/kv_budget.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"

namespace flywheel {
namespace {

namespace v1 = ::flywheel::v1;

constexpr char kToken[] = "s3cret-token";

model::ModelConfig ServerConfig() {
  model::ModelConfig c = testing::TinyConfig();
  c.max_position_embeddings = 256;
  return c;
}

class RolloutServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = testing::PerturbedModel(ServerConfig(), 21);
    new_ = testing::PerturbedModel(ServerConfig(), 22);
    ASSERT_TRUE(model::SaveModelDir(dir_.File("model"), old_.config, old_.params.data()).ok());
    std::ofstream(dir_.File("token")) << kToken << "\n";
    auto d = testing::DaemonProcess::Start({FLYWHEEL_ROLLOUT_BIN, "--model", dir_.File("model"),
                                            "--listen", "127.0.0.1:0", "--metrics-listen",
                                            "127.0.0.1:0", "--threads", "2", "--kv-blocks", "256",
                                            "--auth-token-file", dir_.File("token")});
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = std::move(*d);
    stub_ = v1::RolloutService::NewStub(
        grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Generate(const v1::GenerateRequest& req, v1::GenerateResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    return stub_->Generate(&ctx, req, resp);
  }

  static v1::GenerateRequest Request(std::vector<int32_t> prompt, int n, int max_tokens,
                                     uint64_t seed) {
    v1::GenerateRequest req;
    req.mutable_prompt_ids()->Assign(prompt.begin(), prompt.end());
    req.set_n(n);
    req.mutable_sampling()->set_max_tokens(max_tokens);
    req.mutable_sampling()->set_seed(seed);
    return req;
  }

  // The chunks of a push of `params` as `version`, 4 KiB each.
  std::vector<v1::WeightChunk> Chunks(const std::vector<float>& params, int64_t version) {
    std::vector<v1::WeightChunk> out;
    model::ParameterLayout layout(ServerConfig());
    for (const auto& t : layout.tensors()) {
      const char* base = reinterpret_cast<const char*>(params.data() + t.offset);
      for (int64_t off = 0; off < t.numel * 4; off += 4096) {
        v1::WeightChunk c;
        c.set_version(version);
        c.set_tensor(t.name);
        c.set_offset(off);
        c.set_data(std::string(base + off, std::min<int64_t>(4096, t.numel * 4 - off)));
        c.set_crc32c(Crc32c(c.data().data(), c.data().size()));
        out.push_back(std::move(c));
      }
    }
    return out;
  }

  grpc::Status Push(const std::vector<v1::WeightChunk>& chunks, const std::string& token,
                    v1::PushWeightsResponse* resp) {
    grpc::ClientContext ctx;
    rpc::AddBearer(&ctx, token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto writer = stub_->PushWeights(&ctx, resp);
    for (const auto& c : chunks) {
      if (!writer->Write(c)) break;  // The server rejected the push early.
    }
    writer->WritesDone();
    return writer->Finish();
  }

  int64_t Version() {
    grpc::ClientContext ctx;
    v1::GetInfoResponse info;
    EXPECT_TRUE(stub_->GetInfo(&ctx, {}, &info).ok());
    return info.version();
  }

  // Logprobs the model core computes for prompt + completion's tokens.
  static std::vector<float> CoreLogprobs(const model::ModelWeights& w,
                                         const v1::GenerateResponse& resp,
                                         const v1::Completion& c) {
    auto tf = model::Transformer::Create(w);
    std::vector<int32_t> seq(resp.prompt_ids().begin(), resp.prompt_ids().end());
    seq.insert(seq.end(), c.token_ids().begin(), c.token_ids().end());
    model::ForwardResult r;
    EXPECT_TRUE((*tf)->Forward({seq}, {}, &r, nullptr, nullptr).ok());
    return std::vector<float>(r.logprobs[0].begin() + (resp.prompt_ids_size() - 1),
                              r.logprobs[0].end());
  }

  static bool SameBits(const std::vector<float>& a,
                       const google::protobuf::RepeatedField<float>& b) {
    return static_cast<int>(a.size()) == b.size() &&
           std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
  }

  testing::TempDir dir_;
  model::ModelWeights old_, new_;
  std::unique_ptr<testing::DaemonProcess> daemon_;
  std::unique_ptr<v1::RolloutService::Stub> stub_;
};

TEST_F(RolloutServerTest, ConcurrentClientsGetBitwiseOnPolicyLogprobs) {
  std::vector<std::thread> clients;
  std::vector<v1::GenerateResponse> resps(8);
  std::vector<grpc::Status> statuses(8);
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      auto prompt = testing::RandomSequences({3 + 11 * i}, ServerConfig().vocab_size, 100 + i)[0];
      statuses[i] = Generate(Request(prompt, 1 + i % 4, 5 + 6 * i, i), &resps[i]);
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    ASSERT_EQ(resps[i].completions_size(), 1 + i % 4);
    for (const auto& c : resps[i].completions()) {
      EXPECT_TRUE(SameBits(CoreLogprobs(old_, resps[i], c), c.logprobs())) << "client " << i;
      EXPECT_EQ(c.token_ids_size(), 5 + 6 * i);
      EXPECT_EQ(c.finish_reason(), "length");
    }
  }
}

TEST_F(RolloutServerTest, BadRequestsGetInvalidArgumentAndServingContinues) {
  struct Case {
    v1::GenerateRequest req;
    const char* words;
  };
  std::vector<Case> cases;
  cases.push_back({Request(std::vector<int32_t>(300, 1), 1, 0, 0), "leaves no room"});
  cases.push_back({Request({1, 2}, 0, 5, 0), "n must be in"});
  cases.push_back({Request({1, 2}, 1 << 20, 5, 0), "n must be in"});
  cases.push_back({Request({1, 2}, 1, 1000, 0), "exceeds the context"});
  cases.push_back({Request({1, 61}, 1, 5, 0), "outside the vocabulary"});
  auto neg = Request({1, 2}, 1, 5, 0);
  neg.mutable_sampling()->set_temperature(-1);
  cases.push_back({neg, "temperature"});
  auto top_p = Request({1, 2}, 1, 5, 0);
  top_p.mutable_sampling()->set_top_p(0);
  cases.push_back({top_p, "top_p"});
  top_p.mutable_sampling()->set_top_p(1.5f);
  cases.push_back({top_p, "top_p"});
  cases.push_back({v1::GenerateRequest(), "neither prompt_ids nor prompt_text"});
  for (const auto& c : cases) {
    v1::GenerateResponse resp;
    grpc::Status st = Generate(c.req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.words;
    EXPECT_NE(st.error_message().find(c.words), std::string::npos) << st.error_message();
  }
  v1::GenerateResponse ok;
  EXPECT_TRUE(Generate(Request({1, 2, 3}, 2, 4, 0), &ok).ok());
}

TEST_F(RolloutServerTest, WeightPushesGoodAndBad) {
  v1::PushWeightsResponse pr;
  // Rejected pushes leave version 0 in service.
  auto chunks = Chunks(new_.params, 7);
  EXPECT_EQ(Push(chunks, "wrong", &pr).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Push(chunks, "", &pr).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto bad_crc = chunks;
  bad_crc[5].set_crc32c(bad_crc[5].crc32c() ^ 1);
  EXPECT_EQ(Push(bad_crc, kToken, &pr).error_code(), grpc::StatusCode::DATA_LOSS);
  auto missing = chunks;
  missing.pop_back();
  grpc::Status st = Push(missing, kToken, &pr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("incomplete"), std::string::npos) << st.error_message();
  auto wrong_shape = chunks;
  wrong_shape[0].set_data(wrong_shape[0].data() + std::string(4 * 1000000, '\0'));
  wrong_shape[0].set_crc32c(Crc32c(wrong_shape[0].data().data(), wrong_shape[0].data().size()));
  st = Push(wrong_shape, kToken, &pr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("does not fit"), std::string::npos) << st.error_message();
  auto unknown = chunks;
  unknown[0].set_tensor("model.layers.99.mlp.up_proj.weight");
  EXPECT_EQ(Push(unknown, kToken, &pr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Version(), 0);
  v1::GenerateResponse before;
  ASSERT_TRUE(Generate(Request({4, 5, 6}, 1, 6, 1), &before).ok());
  EXPECT_TRUE(SameBits(CoreLogprobs(old_, before, before.completions(0)),
                       before.completions(0).logprobs()));

  // A good push during a long generation (64 samples x 250 tokens, far longer than the 30 ms
  // before the push): it completes, and its tokens switch version.
  v1::GenerateResponse during;
  grpc::Status during_status;
  std::thread gen([&] { during_status = Generate(Request({7, 8}, 64, 250, 2), &during); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_TRUE(Push(chunks, kToken, &pr).ok());
  EXPECT_EQ(pr.version(), 7);
  EXPECT_EQ(pr.bytes(), static_cast<int64_t>(new_.params.size() * 4));
  gen.join();
  ASSERT_TRUE(during_status.ok()) << during_status.error_message();
  const auto& versions = during.completions(0).versions();
  EXPECT_EQ(versions.size(), 250);
  EXPECT_EQ(versions[versions.size() - 1], 7);
  EXPECT_TRUE(std::is_sorted(versions.begin(), versions.end()));
  EXPECT_EQ(Version(), 7);
  v1::GenerateResponse after;
  ASSERT_TRUE(Generate(Request({4, 5, 6}, 1, 6, 1), &after).ok());
  EXPECT_TRUE(
      SameBits(CoreLogprobs(new_, after, after.completions(0)), after.completions(0).logprobs()));
  for (int64_t v : after.completions(0).versions()) EXPECT_EQ(v, 7);

  // The next push is received into the buffer of the weights the last one replaced (old_'s,
  // Engine::TakeStagingBuffer): every value must be the pushed one, none left from before.
  const model::ModelWeights third = testing::PerturbedModel(ServerConfig(), 23);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // The staging thread frees old_.
  ASSERT_TRUE(Push(Chunks(third.params, 8), kToken, &pr).ok());
  v1::GenerateResponse recycled;
  ASSERT_TRUE(Generate(Request({4, 5, 6}, 1, 6, 1), &recycled).ok());
  EXPECT_TRUE(SameBits(CoreLogprobs(third, recycled, recycled.completions(0)),
                       recycled.completions(0).logprobs()));
  for (int64_t v : recycled.completions(0).versions()) EXPECT_EQ(v, 8);
}

TEST_F(RolloutServerTest, MetricsPassPromtoolAndCliPipelineIsBitwise) {
  v1::GenerateResponse resp;
  ASSERT_TRUE(Generate(Request({1, 2, 3}, 3, 8, 4), &resp).ok());
  // generate --json | logprobs: the CLI's independent check that the server is on-policy.
  const std::string cmd =
      absl::StrCat(FLYWHEEL_CLI, " generate --server ", daemon_->address(),
                   " --prompt-ids '[5,6,7]' -n 4 --max-tokens 12 --seed 9 --json | ", FLYWHEEL_CLI,
                   " logprobs --model ", dir_.File("model"));
  std::string gen_out, check_out;
  ASSERT_EQ(testing::RunCommand(
                absl::StrCat(FLYWHEEL_CLI, " generate --server ", daemon_->address(),
                             " --prompt-ids '[5,6,7]' -n 4 --max-tokens 12 --seed 9 --json"),
                &gen_out),
            0)
      << gen_out;
  ASSERT_EQ(testing::RunCommand(cmd, &check_out), 0) << check_out;
  std::stringstream g(gen_out), c(check_out);
  std::string gl, cl;
  int lines = 0;
  while (std::getline(g, gl) && std::getline(c, cl)) {
    auto gj = nlohmann::json::parse(gl), cj = nlohmann::json::parse(cl);
    EXPECT_EQ(gj["logprobs"].dump(), cj["logprobs"].dump())
        << "printed with %.9g: equal text is equal bits";
    ++lines;
  }
  EXPECT_EQ(lines, 4);

  auto body = testing::HttpGet(daemon_->metrics_address(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  for (const char* name :
       {"flywheel_rollout_generated_tokens_total", "flywheel_rollout_prefill_tokens_total",
        "flywheel_rollout_running_sequences", "flywheel_rollout_waiting_sequences",
        "flywheel_rollout_kv_blocks_used", "flywheel_rollout_kv_blocks_free",
        "flywheel_rollout_preemptions_total", "flywheel_rollout_weight_version",
        "flywheel_rollout_weight_swap_pause_seconds",
        "flywheel_rollout_step_duration_seconds_bucket",
        "flywheel_rollout_rpcs_total{code=\"OK\",method=\"Generate\"}"}) {
    EXPECT_NE(body->find(name), std::string::npos) << name;
  }
  std::ofstream(dir_.File("metrics.txt")) << *body;
  std::string out;
  EXPECT_EQ(testing::RunCommand("promtool check metrics < " + dir_.File("metrics.txt"), &out), 0)
      << out;
}

// Writes a tiny model with its byte-level tokenizer (flywheel init-model) to DIR/m.
absl::Status WriteTinyModel(const testing::TempDir& dir, int seed) {
  std::string out;
  const std::string cmd = absl::StrCat(FLYWHEEL_CLI, " init-model --preset tiny --seed ", seed,
                                       " --out ", dir.File("m"));
  if (testing::RunCommand(cmd, &out) != 0) return absl::InternalError(cmd + ": " + out);
  return absl::OkStatus();
}

// Writes a tiny model (WriteTinyModel), adds a generation_config.json when one is given, and
// starts the daemon on it.
absl::StatusOr<std::unique_ptr<testing::DaemonProcess>> StartOnTinyModel(
    const testing::TempDir& dir, int seed, const std::string& generation_config = "") {
  if (absl::Status st = WriteTinyModel(dir, seed); !st.ok()) return st;
  if (!generation_config.empty()) {
    std::ofstream f(dir.File("m/generation_config.json"));
    f << generation_config;
  }
  return testing::DaemonProcess::Start({FLYWHEEL_ROLLOUT_BIN, "--model", dir.File("m"), "--listen",
                                        "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                        "--threads", "1"});
}

TEST(RolloutServerTextTest, TextPromptsUseTheModelsTokenizer) {
  // init-model writes the byte-level tokenizer beside the weights; the daemon picks it up.
  testing::TempDir dir;
  auto daemon = StartOnTinyModel(dir, 2);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto stub = v1::RolloutService::NewStub(
      grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials()));
  auto tok = tokenizer::Tokenizer::FromFile(dir.File("m"));
  ASSERT_TRUE(tok.ok()) << tok.status();
  {
    grpc::ClientContext ctx;
    v1::GetInfoResponse info;
    ASSERT_TRUE(stub->GetInfo(&ctx, {}, &info).ok());
    EXPECT_TRUE(info.has_tokenizer());
    ASSERT_EQ(info.eos_token_ids_size(), 1);
    EXPECT_EQ(info.eos_token_ids(0), *(*tok)->eos_id());
  }
  v1::GenerateRequest req;
  req.set_prompt_text("Q: 12 + 30 = ?\nA:");
  req.set_n(3);
  req.mutable_sampling()->set_max_tokens(16);
  req.mutable_sampling()->set_ignore_eos(true);
  grpc::ClientContext ctx;
  v1::GenerateResponse resp;
  ASSERT_TRUE(stub->Generate(&ctx, req, &resp).ok());
  auto ids = (*tok)->Encode(req.prompt_text());
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(std::vector<int32_t>(resp.prompt_ids().begin(), resp.prompt_ids().end()), *ids);
  ASSERT_EQ(resp.completions_size(), 3);
  for (const auto& c : resp.completions()) {
    EXPECT_EQ(c.token_ids_size(), 16);
    // The tiny model's 320 embedding rows pad the tokenizer's 259 ids; padding is never sampled.
    for (int32_t id : c.token_ids()) EXPECT_LT(id, (*tok)->vocab_size());
    auto text = (*tok)->Decode(std::vector<int32_t>(c.token_ids().begin(), c.token_ids().end()));
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(c.text(), *text);
  }
}

// A checkpoint's generation_config.json: its eos_token_id list stops generation (with the
// tokenizer's eos), and requests that leave sampling fields unset get its defaults; here
// do_sample is absent, so, as in transformers, unset temperature means greedy.
TEST(RolloutServerTextTest, GenerationConfigSetsEosIdsAndDefaults) {
  testing::TempDir dir;
  auto daemon = StartOnTinyModel(
      dir, 3, R"({"eos_token_id": [7, 9], "max_new_tokens": 6, "temperature": 0.6})");
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto stub = v1::RolloutService::NewStub(
      grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials()));
  auto tok = tokenizer::Tokenizer::FromFile(dir.File("m"));
  ASSERT_TRUE(tok.ok()) << tok.status();
  {
    grpc::ClientContext ctx;
    v1::GetInfoResponse info;
    ASSERT_TRUE(stub->GetInfo(&ctx, {}, &info).ok());
    EXPECT_EQ(std::vector<int32_t>(info.eos_token_ids().begin(), info.eos_token_ids().end()),
              (std::vector<int32_t>{7, 9, *(*tok)->eos_id()}));
  }
  auto generate = [&](const v1::SamplingParams& sampling) {
    v1::GenerateRequest req;
    for (int32_t id : {5, 6, 8}) req.add_prompt_ids(id);
    req.set_n(4);
    *req.mutable_sampling() = sampling;
    req.mutable_sampling()->set_seed(11);
    grpc::ClientContext ctx;
    v1::GenerateResponse resp;
    grpc::Status st = stub->Generate(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  // Nothing set: greedy (identical samples, sampling logprob 0), at most 6 tokens, stopped at
  // any of the three eos ids.
  const v1::GenerateResponse greedy = generate({});
  ASSERT_EQ(greedy.completions_size(), 4);
  for (const auto& c : greedy.completions()) {
    EXPECT_EQ(std::vector<int32_t>(c.token_ids().begin(), c.token_ids().end()),
              std::vector<int32_t>(greedy.completions(0).token_ids().begin(),
                                   greedy.completions(0).token_ids().end()));
    EXPECT_LE(c.token_ids_size(), 6);
    for (float lp : c.sampling_logprobs()) EXPECT_EQ(lp, 0.0f);
    for (int i = 0; i + 1 < c.token_ids_size(); ++i) {
      EXPECT_NE(c.token_ids(i), 7);
      EXPECT_NE(c.token_ids(i), 9);
      EXPECT_NE(c.token_ids(i), *(*tok)->eos_id());
    }
  }
  // What the request sets wins: sampling at temperature 1, 24 tokens, eos ignored.
  v1::SamplingParams sampled;
  sampled.set_temperature(1.0f);
  sampled.set_max_tokens(24);
  sampled.set_ignore_eos(true);
  const v1::GenerateResponse free = generate(sampled);
  ASSERT_EQ(free.completions_size(), 4);
  std::set<std::vector<int32_t>> distinct;
  for (const auto& c : free.completions()) {
    EXPECT_EQ(c.token_ids_size(), 24);
    distinct.insert(std::vector<int32_t>(c.token_ids().begin(), c.token_ids().end()));
  }
  EXPECT_GT(distinct.size(), 1u);
}

TEST(RolloutServerTextTest, MalformedGenerationConfigStopsStartup) {
  testing::TempDir dir;
  auto daemon = StartOnTinyModel(dir, 3, R"({"eos_token_id": "end"})");
  // The daemon names the file and the field on stderr (seen in the test log) and exits.
  ASSERT_FALSE(daemon.ok());
  EXPECT_NE(daemon.status().message().find("exited"), absl::string_view::npos) << daemon.status();
}

// A budget smaller than the weights: the daemon refuses to start and says what does not fit and
// which flag changes it, rather than allocating a cache it cannot hold.
TEST(RolloutServerTextTest, AMemoryBudgetBelowTheWeightsIsRefusedClearly) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteTinyModel(dir, 1).ok());
  std::string out;
  const int code = testing::RunCommand(
      absl::StrCat(
          FLYWHEEL_ROLLOUT_BIN, " --model ", dir.File("m"),
          " --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --threads 1 --memory-budget 4K"),
      &out);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("does not fit the memory budget of 4.0 KiB"), std::string::npos) << out;
  EXPECT_NE(out.find("--memory-budget"), std::string::npos) << out;
  EXPECT_EQ(out.find("listening on"), std::string::npos) << out;
}

// The models of one server share its memory budget: every model's weights and its push staging
// count. A budget that holds one model, its staging, one step's activations and 64 KV blocks
// (2 MiB: more than a second model's logits, far less than its weights) serves that model alone,
// and refuses it twice (--model a=DIR --model b=DIR), naming both.
TEST(RolloutServerTextTest, EveryServedModelCountsAgainstTheMemoryBudget) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteTinyModel(dir, 1).ok());
  auto model = model::Transformer::Load(dir.File("m"));
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->PackInferenceWeights(nullptr);  // The daemon counts the packed copy too.
  const model::ModelConfig& c = (*model)->config();
  // At the daemon's defaults: 2048 tokens per step, 256 running sequences, blocks of 16 tokens.
  const int64_t budget = 2 * (*model)->WeightBytes() + rollout::StepActivationBytes(c, 2048, 256) +
                         64 * rollout::KvBlockBytes(c, 16);
  const std::vector<std::string> flags = {
      "--listen",  "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
      "--threads", "1",           "--memory-budget",  absl::StrCat(budget)};
  std::vector<std::string> one = {FLYWHEEL_ROLLOUT_BIN, "--model", dir.File("m")};
  one.insert(one.end(), flags.begin(), flags.end());
  auto alone = testing::DaemonProcess::Start(one);
  ASSERT_TRUE(alone.ok()) << "one model within its budget did not start: " << alone.status();
  alone->reset();

  std::string out;
  // `timeout`: a daemon that wrongly starts is stopped (and fails the test) instead of hanging it.
  std::string two = absl::StrCat("timeout 30 ", FLYWHEEL_ROLLOUT_BIN, " --model a=", dir.File("m"),
                                 " --model b=", dir.File("m"));
  for (const auto& f : flags) absl::StrAppend(&two, " ", f);
  EXPECT_NE(testing::RunCommand(two, &out), 0) << out;
  EXPECT_NE(out.find("the weights of 2 models hold"), std::string::npos) << out;
  EXPECT_EQ(out.find("listening on"), std::string::npos) << out;
}

TEST_F(RolloutServerTest, SigtermStopsCleanly) {
  v1::GenerateResponse resp;
  grpc::Status st;
  std::thread gen([&] { st = Generate(Request({7, 8}, 8, 250, 2), &resp); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto code = daemon_->Stop(SIGTERM, 20);
  gen.join();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_TRUE(st.ok() || st.error_code() == grpc::StatusCode::UNAVAILABLE) << st.error_message();
  if (!st.ok()) {
    EXPECT_NE(st.error_message().find("shutting down"), std::string::npos) << st.error_message();
  }
}

}  // namespace
}  // namespace flywheel
