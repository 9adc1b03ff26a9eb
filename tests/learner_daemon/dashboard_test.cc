// The shipped dashboards against a real Prometheus scraping a real running job: Prometheus runs
// with deploy/prometheus/rules (promtool-checked) and serves deploy/prometheus/consoles; a GRPO
// job on a rubric task (a rule-checked and a judged criterion, so rule/judge disagreement has
// data) runs on the learner, a rollout server and a reward server that judges with the rollout
// server. While the job runs, every PromQL expression of the Grafana dashboard
// (deploy/grafana/dashboards/flywheel.json) and of the console templates returns data; the
// console page renders without template errors; and headless Chromium draws it, charts included
// (the screenshot is written to flywheel-console.png in the test's working directory).
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/learner_daemon/learner_cluster.h"
#include "tests/util/prometheus_server.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {
namespace {

const std::string kSource = FLYWHEEL_SOURCE_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every expr of the Grafana dashboard's panels, with the dashboard's variables filled in.
std::vector<std::string> DashboardExpressions(const std::string& job_id) {
  auto dash = nlohmann::json::parse(ReadFile(kSource + "/deploy/grafana/dashboards/flywheel.json"));
  std::vector<std::string> out;
  for (const auto& panel : dash["panels"]) {
    if (!panel.contains("targets")) continue;
    for (const auto& t : panel["targets"]) {
      out.push_back(absl::StrReplaceAll(t["expr"].get<std::string>(),
                                        {{"$__rate_interval", "1m"}, {"$job_id", job_id}}));
    }
  }
  return out;
}

// Every PromQL expression of the console page: the graphs' expr strings and the table's
// queries, with the page's job filled in.
std::vector<std::string> ConsoleExpressions(const std::string& job_id) {
  const std::string page = ReadFile(kSource + "/deploy/prometheus/consoles/flywheel.html");
  std::vector<std::string> out;
  const std::regex graph(R"re(expr: (\[[^\]]*\]|"[^"]*"))re");
  const std::regex quoted(R"re("([^"]*)")re");
  for (std::sregex_iterator g(page.begin(), page.end(), graph), end; g != end; ++g) {
    const std::string value = (*g)[1];
    for (std::sregex_iterator q(value.begin(), value.end(), quoted); q != end; ++q) {
      out.push_back(absl::StrReplaceAll((*q)[1].str(), {{"{{ $job }}", job_id}}));
    }
  }
  const std::regex printf_query(R"re(printf "([^"]*)" \$job)re");
  for (std::sregex_iterator m(page.begin(), page.end(), printf_query), end; m != end; ++m) {
    out.push_back(absl::StrReplaceAll((*m)[1].str(), {{"%s", job_id}}));
  }
  const std::regex plain_query(R"re(\(args "[^"]*" "([^"]*)"\))re");
  for (std::sregex_iterator m(page.begin(), page.end(), plain_query), end; m != end; ++m) {
    out.push_back((*m)[1]);
  }
  return out;
}

TEST(DashboardTest, EveryPanelHasDataFromARunningJob) {
  LearnerCluster cluster;
  // A reward server that judges with the rollout server, and a rubric task with one rule-checked
  // and one judged criterion.
  auto judge_reward = DaemonProcess::Start({FLYWHEEL_REWARD_BIN, "--listen", "127.0.0.1:0",
                                            "--metrics-listen", "127.0.0.1:0", "--threads", "1",
                                            "--judge", cluster.rollout(0)->address()});
  ASSERT_TRUE(judge_reward.ok()) << judge_reward.status();
  const std::string rubric_path = cluster.dir() + "/rubric.jsonl";
  {
    std::ifstream in(cluster.digits_path());
    std::ofstream out(rubric_path);
    std::string line;
    while (std::getline(in, line)) {
      auto row = nlohmann::json::parse(line);
      row["task"] = {{"verifier", "rubric"},
                     {"rubric",
                      {{{"title", "has a digit"}, {"kind", "regex"}, {"pattern", "[0-9]"}},
                       {{"title", "answers"},
                        {"kind", "judge"},
                        {"description", "The response gives a number."}}}}};
      out << row.dump() << "\n";
    }
  }

  const std::string config =
      ScrapeConfig({{"flywheel-learner", cluster.learner()->metrics_address()},
                    {"flywheel-rollout", cluster.rollout(0)->metrics_address()},
                    {"flywheel-reward", (*judge_reward)->metrics_address()}},
                   "rule_files:\n  - " + kSource + "/deploy/prometheus/rules/flywheel-rules.yml\n");
  auto prometheus = PrometheusServer::Start(
      cluster.dir(), config,
      {"--web.console.templates=" + kSource + "/deploy/prometheus/consoles",
       "--web.console.libraries=" + kSource + "/deploy/prometheus/console_libraries"});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  const std::string prom = (*prometheus)->address();

  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_dataset(rubric_path);
  spec.clear_reward_servers();
  spec.add_reward_servers((*judge_reward)->address());
  spec.set_steps(2000);  // still running while the pages are checked
  spec.set_eval_interval(2);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(cluster.WaitForStep(job->id(), 6, 240).ok());
  // Let Prometheus take a few scrapes of the latest step and evaluate the rules.
  std::this_thread::sleep_for(std::chrono::seconds(3));

  std::vector<std::string> exprs = DashboardExpressions(job->id());
  const size_t dashboard_count = exprs.size();
  for (auto& e : ConsoleExpressions(job->id())) exprs.push_back(e);
  EXPECT_GE(dashboard_count, 20u);
  EXPECT_GE(exprs.size() - dashboard_count, 15u);
  for (const std::string& e : exprs) {
    // A series may need one more scrape.
    EXPECT_FALSE((*prometheus)->QueryUntil(e, 1, 10).empty()) << "no data for: " << e;
  }

  const std::string path = "/consoles/flywheel.html?job_id=" + job->id();
  auto page = HttpGet(prom, path);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_NE(page->find("flywheel job " + job->id()), std::string::npos);
  EXPECT_EQ(page->find("error executing template"), std::string::npos) << *page;

  // Headless Chromium (Debian's chromium) loads the page, runs its chart scripts against
  // Prometheus's API, and draws every chart.
  auto current = cluster.Get(job->id());
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->state(), v1::JOB_STATE_RUNNING) << "the page shows a running job";
  const std::string flags =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--hide-scrollbars --window-size=1300,1250 --virtual-time-budget=8000 --user-data-dir=" +
      cluster.dir() + "/chromium ";
  // The job is seconds old: a one-minute span shows its curves.
  const std::string url = "'http://" + prom + path + "#pctc{\"duration\":60,\"endTime\":0}'";
  std::string dom;
  ASSERT_EQ(RunCommand(flags + "--dump-dom " + url + " 2>/dev/null", &dom), 0);
  size_t charts = 0;
  for (size_t at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) {
    ++charts;
  }
  EXPECT_GE(charts, 12u) << "every graph draws an SVG chart";
  std::string out;
  EXPECT_EQ(RunCommand(flags + "--screenshot=flywheel-console.png " + url + " 2>/dev/null", &out),
            0)
      << out;
  std::ifstream png("flywheel-console.png", std::ios::binary | std::ios::ate);
  ASSERT_TRUE(png.good());
  EXPECT_GT(static_cast<int64_t>(png.tellg()), 20000) << "a blank page compresses smaller";
}

}  // namespace
}  // namespace flywheel::testing
