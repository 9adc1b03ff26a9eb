// Daemons that cannot start say why and exit with status 1: a gRPC or metrics port already in use
// (by another daemon: gRPC's default port sharing must not let a second server start beside the
// first), and a model directory that is missing, truncated or not readable as a file.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/model/checkpoint.h"
#include "common/tokenizer/byte_level_tokenizer.h"
#include "gtest/gtest.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"

namespace flywheel::testing {
namespace {

// Runs a daemon command line, bounded in time (a daemon that wrongly starts is killed after 20 s),
// and returns its exit status with its output.
int RunDaemon(const std::string& args, std::string* out) {
  return RunCommand(absl::StrCat("timeout 20 ", args), out);
}

class StartupFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = model::PresetConfig("tiny");
    ASSERT_TRUE(config.ok());
    auto w = model::RandomModel(*config, 3);
    ASSERT_TRUE(model::SaveModelDir(dir_.File("model"), w.config, w.params.data()).ok());
    ASSERT_TRUE(tokenizer::WriteByteLevelTokenizer(dir_.File("model")).ok());
    auto busy = DaemonProcess::Start({FLYWHEEL_REWARD_BIN, "--listen", "127.0.0.1:0",
                                      "--metrics-listen", "127.0.0.1:0", "--threads", "1"});
    ASSERT_TRUE(busy.ok()) << busy.status();
    busy_ = std::move(*busy);
  }

  std::string Rollout(const std::string& model, const std::string& listen,
                      const std::string& metrics = "127.0.0.1:0") {
    return absl::StrCat(FLYWHEEL_ROLLOUT_BIN, " --model ", model, " --listen ", listen,
                        " --metrics-listen ", metrics, " --threads 1");
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> busy_;  // holds a gRPC port and a metrics port
};

TEST_F(StartupFaultTest, PortInUseIsAClearErrorForEveryDaemon) {
  const std::string port = busy_->address();
  const std::vector<std::string> commands = {
      Rollout(dir_.File("model"), port),
      absl::StrCat(FLYWHEEL_REWARD_BIN, " --listen ", port, " --metrics-listen 127.0.0.1:0"),
      absl::StrCat(FLYWHEEL_LEARNER_BIN, " --listen ", port,
                   " --metrics-listen 127.0.0.1:0 --state-dir ", dir_.File("state")),
  };
  for (const std::string& cmd : commands) {
    std::string out;
    EXPECT_EQ(RunDaemon(cmd, &out), 1) << cmd << "\n" << out;
    EXPECT_TRUE(
        absl::StrContains(out, absl::StrCat("cannot listen on ", port, ": Address already in use")))
        << cmd << "\n"
        << out;
  }
}

TEST_F(StartupFaultTest, MetricsPortInUseIsAClearError) {
  std::string out;
  const std::string metrics = busy_->metrics_address();
  EXPECT_EQ(RunDaemon(Rollout(dir_.File("model"), "127.0.0.1:0", metrics), &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("cannot serve metrics on ", metrics))) << out;
}

TEST_F(StartupFaultTest, UnreadableModelIsAClearError) {
  namespace fs = std::filesystem;
  const std::string model = dir_.File("model");
  // Missing directory.
  std::string out;
  EXPECT_EQ(RunDaemon(Rollout(dir_.File("nowhere"), "127.0.0.1:0"), &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "nowhere")) << out;
  // Weights cut short.
  const std::string cut = dir_.File("cut");
  fs::copy(model, cut);
  fs::resize_file(cut + "/model.safetensors", fs::file_size(cut + "/model.safetensors") / 2);
  out.clear();
  EXPECT_EQ(RunDaemon(Rollout(cut, "127.0.0.1:0"), &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "model.safetensors")) << out;
  // Weights that are not a file (unreadable to anyone, root included).
  const std::string dir_weights = dir_.File("dirweights");
  fs::copy(model, dir_weights);
  fs::remove(dir_weights + "/model.safetensors");
  fs::create_directory(dir_weights + "/model.safetensors");
  out.clear();
  EXPECT_EQ(RunDaemon(Rollout(dir_weights, "127.0.0.1:0"), &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "model.safetensors")) << out;
  // A config.json that is not JSON.
  const std::string bad_config = dir_.File("badconfig");
  fs::copy(model, bad_config);
  std::ofstream(bad_config + "/config.json") << "{not json";
  out.clear();
  EXPECT_EQ(RunDaemon(Rollout(bad_config, "127.0.0.1:0"), &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "config.json")) << out;
}

}  // namespace
}  // namespace flywheel::testing
