// deploy/k8s renders with `kubectl kustomize` (both the KEDA default and the HPA alternative),
// and the rendered objects are the cluster the README describes: kinds, ports that match the
// daemons' flags, probes on every flywheel container (and the gRPC health service they use
// answers on a real daemon), a volume for the learner, and autoscalers whose metric is one a
// real flywheel-rollout exports. Also: the compose file parses and every file it mounts exists.
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <set>
#include <string>

#include "common/model/checkpoint.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"
#include "tests/util/subprocess.h"
#include "yaml-cpp/yaml.h"

namespace flywheel::testing {
namespace {

const std::string kSource = FLYWHEEL_SOURCE_DIR;

std::vector<YAML::Node> Render(const std::string& dir) {
  std::string out;
  EXPECT_EQ(RunCommand("kubectl kustomize " + kSource + "/" + dir + " 2>&1", &out), 0) << out;
  return YAML::LoadAll(out);
}

YAML::Node Find(const std::vector<YAML::Node>& docs, const std::string& kind,
                const std::string& name) {
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() == kind && d["metadata"]["name"].as<std::string>() == name) {
      return d;
    }
  }
  ADD_FAILURE() << "no " << kind << " " << name;
  return YAML::Node();
}

// The port in a "--flag", "HOST:PORT" pair of a container's args; -1 when absent.
int FlagPort(const YAML::Node& container, const std::string& flag) {
  const YAML::Node args = container["args"];
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i].as<std::string>() == flag) {
      const std::string v = args[i + 1].as<std::string>();
      return std::stoi(v.substr(v.rfind(':') + 1));
    }
  }
  return -1;
}

int ContainerPort(const YAML::Node& container, const std::string& name) {
  for (const auto& p : container["ports"]) {
    if (p["name"].as<std::string>() == name) return p["containerPort"].as<int>();
  }
  return -1;
}

// A flywheel daemon's container: its ports match its flags, the readiness probe asks the gRPC
// health service on the gRPC port, the liveness probe GETs /metrics on the metrics port.
void CheckDaemon(const YAML::Node& workload, const std::string& binary, int grpc, int metrics) {
  SCOPED_TRACE(binary);
  const YAML::Node c = workload["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["args"][0].as<std::string>(), binary);
  EXPECT_EQ(c["image"].as<std::string>(), "flywheel:latest");
  EXPECT_EQ(FlagPort(c, "--listen"), grpc);
  EXPECT_EQ(FlagPort(c, "--metrics-listen"), metrics);
  EXPECT_EQ(ContainerPort(c, "grpc"), grpc);
  EXPECT_EQ(ContainerPort(c, "metrics"), metrics);
  ASSERT_TRUE(c["readinessProbe"]["grpc"]);
  EXPECT_EQ(c["readinessProbe"]["grpc"]["port"].as<int>(), grpc);
  ASSERT_TRUE(c["livenessProbe"]["httpGet"]);
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/metrics");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<std::string>(), "metrics");
  const auto annotations = workload["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/port"].as<std::string>(), std::to_string(metrics));
}

// Metric names in a PromQL expression.
std::set<std::string> MetricNames(const std::string& expr) {
  std::set<std::string> out;
  const std::regex name(R"(flywheel_[a-z_]+)");
  for (std::sregex_iterator m(expr.begin(), expr.end(), name), end; m != end; ++m) {
    out.insert(m->str());
  }
  return out;
}

// A real flywheel-rollout: its metric families, and whether its gRPC health service answers
// SERVING.
struct RolloutFacts {
  std::set<std::string> metrics;
  bool serving = false;
};

RolloutFacts AskARealRolloutServer() {
  TempDir tmp;
  auto config = model::PresetConfig("tiny");
  EXPECT_TRUE(config.ok());
  auto w = model::RandomModel(*config, 1);
  EXPECT_TRUE(model::SaveModelDir(tmp.File("model"), w.config, w.params.data()).ok());
  auto d = DaemonProcess::Start({FLYWHEEL_ROLLOUT_BIN, "--model", tmp.File("model"), "--listen",
                                 "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--threads", "1",
                                 "--kv-blocks", "64"});
  EXPECT_TRUE(d.ok()) << d.status();
  RolloutFacts facts;
  if (!d.ok()) return facts;
  auto text = HttpGet((*d)->metrics_address(), "/metrics");
  EXPECT_TRUE(text.ok());
  const std::regex type(R"(# TYPE (flywheel_[a-z_]+) )");
  for (std::sregex_iterator m(text->begin(), text->end(), type), end; m != end; ++m) {
    facts.metrics.insert((*m)[1]);
  }
  // grpc.health.v1.Health/Check with an empty request; SERVING is status 1 (bytes 08 01).
  grpc::GenericStub stub(grpc::CreateChannel((*d)->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::ByteBuffer request, response;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  const grpc::Status st = done.get_future().get();
  EXPECT_TRUE(st.ok()) << st.error_message();
  std::vector<grpc::Slice> slices;
  if (st.ok() && response.Dump(&slices).ok()) {
    std::string bytes;
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    facts.serving = bytes == std::string("\x08\x01", 2);
  }
  return facts;
}

TEST(K8sTest, KustomizeRendersTheCluster) {
  const auto docs = Render("deploy/k8s");
  ASSERT_FALSE(docs.empty());
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() != "Namespace") {
      EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(), "flywheel")
          << d["kind"].as<std::string>() << " " << d["metadata"]["name"].as<std::string>();
    }
  }
  const YAML::Node rollout = Find(docs, "Deployment", "flywheel-rollout");
  CheckDaemon(rollout, "flywheel-rollout", 50051, 9101);
  CheckDaemon(Find(docs, "Deployment", "flywheel-reward"), "flywheel-reward", 50061, 9102);
  const YAML::Node learner = Find(docs, "StatefulSet", "flywheel-learner");
  CheckDaemon(learner, "flywheel-learner", 7070, 9103);
  ASSERT_TRUE(learner["spec"]["volumeClaimTemplates"]);
  EXPECT_EQ(learner["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as<std::string>(),
            "state");
  // The rollout servers' Service is headless, so DNS lists every pod for dns:NAME:PORT.
  const YAML::Node svc = Find(docs, "Service", "flywheel-rollout");
  EXPECT_EQ(svc["spec"]["clusterIP"].as<std::string>(), "None");
  EXPECT_EQ(svc["spec"]["ports"][0]["port"].as<int>(), 50051);
  EXPECT_EQ(Find(docs, "Service", "flywheel-learner")["spec"]["ports"][0]["port"].as<int>(), 7070);
  // Prometheus with flywheel's rules and console, and a scrape config promtool accepts.
  Find(docs, "ConfigMap", "flywheel-prometheus-rules");
  Find(docs, "ConfigMap", "flywheel-prometheus-consoles");
  const YAML::Node prom_config = Find(docs, "ConfigMap", "flywheel-prometheus-config");
  TempDir tmp;
  {
    std::ofstream f(tmp.File("prometheus.yml"));
    f << prom_config["data"]["prometheus.yml"].as<std::string>();
  }
  std::string out;
  EXPECT_EQ(RunCommand("promtool check config " + tmp.File("prometheus.yml") + " 2>&1", &out), 0)
      << out;

  // Both autoscalers scale the rollout Deployment on a metric the rollout server exports, and the
  // daemons answer the gRPC health checks the readiness probes make.
  const RolloutFacts facts = AskARealRolloutServer();
  EXPECT_TRUE(facts.serving);
  ASSERT_TRUE(facts.metrics.count("flywheel_rollout_waiting_sequences"));
  const YAML::Node keda = Find(docs, "ScaledObject", "flywheel-rollout");
  EXPECT_EQ(keda["spec"]["scaleTargetRef"]["name"].as<std::string>(), "flywheel-rollout");
  EXPECT_EQ(keda["spec"]["triggers"][0]["type"].as<std::string>(), "prometheus");
  const auto keda_metrics =
      MetricNames(keda["spec"]["triggers"][0]["metadata"]["query"].as<std::string>());
  ASSERT_FALSE(keda_metrics.empty());
  for (const auto& m : keda_metrics) EXPECT_TRUE(facts.metrics.count(m)) << m;

  const auto hpa_docs = Render("deploy/k8s/hpa");
  const YAML::Node hpa = Find(hpa_docs, "HorizontalPodAutoscaler", "flywheel-rollout");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["name"].as<std::string>(), "flywheel-rollout");
  const std::string hpa_metric =
      hpa["spec"]["metrics"][0]["external"]["metric"]["name"].as<std::string>();
  EXPECT_TRUE(facts.metrics.count(hpa_metric)) << hpa_metric;
  const std::string adapter =
      Find(hpa_docs, "ConfigMap", "flywheel-prometheus-adapter")["data"]["config.yaml"]
          .as<std::string>();
  for (const auto& m : MetricNames(adapter)) EXPECT_TRUE(facts.metrics.count(m)) << m;
  for (const auto& d : hpa_docs) EXPECT_NE(d["kind"].as<std::string>(), "ScaledObject");
}

TEST(ComposeTest, ParsesAndMountsFilesThatExist) {
  const YAML::Node compose = YAML::LoadFile(kSource + "/docker-compose.yml");
  const YAML::Node services = compose["services"];
  ASSERT_TRUE(services.IsMap());
  std::set<std::string> names;
  for (const auto& s : services) names.insert(s.first.as<std::string>());
  for (const char* want : {"rollout", "reward", "learner", "prometheus", "grafana"}) {
    EXPECT_TRUE(names.count(want)) << want;
  }
  int mounts = 0;
  for (const auto& s : services) {
    for (const auto& v : s.second["volumes"]) {
      const std::string spec = v.as<std::string>();
      if (spec.rfind("./", 0) != 0) continue;  // named volumes
      const std::string host = spec.substr(0, spec.find(':'));
      EXPECT_TRUE(std::filesystem::exists(kSource + "/" + host))
          << s.first.as<std::string>() << " mounts " << host;
      ++mounts;
    }
  }
  EXPECT_GE(mounts, 5);
  // The daemons run the image the k8s manifests use.
  for (const char* daemon : {"rollout", "reward", "learner"}) {
    EXPECT_EQ(services[daemon]["image"].as<std::string>(), "flywheel") << daemon;
  }
}

}  // namespace
}  // namespace flywheel::testing
