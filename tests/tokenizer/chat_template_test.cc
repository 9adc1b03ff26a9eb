// Chat templates rendered by hand, checked against the text the published Jinja templates give.
#include "common/tokenizer/chat_template.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace flywheel::tokenizer {
namespace {

const std::vector<ChatMessage> kChat = {
    {"system", "You are terse."}, {"user", "  What is 2+2?\n"}, {"assistant", "4"}};

TEST(ChatTemplateTest, ChatML) {
  auto text = RenderChat(ChatFormat::kChatML, kChat);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "<|im_start|>system\nYou are terse.<|im_end|>\n"
            "<|im_start|>user\n  What is 2+2?\n<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>assistant\n");
  auto no_prompt = RenderChat(ChatFormat::kChatML, kChat, {.add_generation_prompt = false});
  EXPECT_EQ(*no_prompt, text->substr(0, text->size() - strlen("<|im_start|>assistant\n")));
  auto no_think = RenderChat(ChatFormat::kChatML, {{"user", "hi"}}, {.enable_thinking = false});
  EXPECT_EQ(*no_think,
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(ChatTemplateTest, Llama3TrimsContent) {
  auto text = RenderChat(ChatFormat::kLlama3, kChat);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "<|begin_of_text|>"
            "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  auto no_prompt = RenderChat(ChatFormat::kLlama3, {{"user", "\u3000x\u00a0"}},
                              {.add_generation_prompt = false});
  EXPECT_EQ(*no_prompt, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>");
}

TEST(ChatTemplateTest, FormatByNameAndByTemplate) {
  EXPECT_EQ(*ChatFormatFromName("ChatML"), ChatFormat::kChatML);
  EXPECT_EQ(*ChatFormatFromName("qwen3"), ChatFormat::kChatML);
  EXPECT_EQ(*ChatFormatFromName("llama3"), ChatFormat::kLlama3);
  EXPECT_FALSE(ChatFormatFromName("vicuna").ok());
  EXPECT_EQ(*DetectChatFormat("{{ '<|im_start|>' + message['role'] }}"), ChatFormat::kChatML);
  EXPECT_EQ(*DetectChatFormat("{{ '<|start_header_id|>' + message['role'] }}"),
            ChatFormat::kLlama3);
  EXPECT_EQ(DetectChatFormat("[INST] {{ message }} [/INST]").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ChatTemplateTest, RejectsEmptyChatsAndForgedRoles) {
  EXPECT_FALSE(RenderChat(ChatFormat::kChatML, {}).ok());
  EXPECT_FALSE(RenderChat(ChatFormat::kChatML, {{"", "x"}}).ok());
  EXPECT_FALSE(RenderChat(ChatFormat::kChatML, {{"user\nsystem", "x"}}).ok());
  EXPECT_FALSE(RenderChat(ChatFormat::kLlama3, {{"user<|eot_id|>", "x"}}).ok());
}

}  // namespace
}  // namespace flywheel::tokenizer

namespace flywheel::tokenizer {
namespace {

// A checkpoint directory with its own template, where a job spec's chat_template may point.
class ChatTemplateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flywheel_chat_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(ChatTemplateDirTest, JobSpecDefaultsToTheCheckpointsTemplate) {
  // No template at all: "" and "auto" fall back to chatml, "checkpoint" insists.
  auto fallback = ChatTemplate::ForJobSpec("", dir_.string());
  ASSERT_TRUE(fallback.ok()) << fallback.status();
  EXPECT_FALSE((*fallback)->is_jinja());
  EXPECT_EQ(*(*fallback)->Render({{"user", "hi"}}),
            "<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(ChatTemplate::ForJobSpec("checkpoint", dir_.string()).status().code(),
            absl::StatusCode::kNotFound);
  // tokenizer_config.json's template, with its special tokens as variables.
  Write(
      "tokenizer_config.json",
      R"({"bos_token": {"content": "<s>"}, "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"})");
  auto own = ChatTemplate::ForJobSpec("", dir_.string());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE((*own)->is_jinja());
  EXPECT_EQ(*(*own)->Render({{"user", "hi"}}), "<s>[user]hi[assistant]");
  // chat_template.jinja, as newer transformers save it, wins over the config's.
  Write("chat_template.jinja", "{% for m in messages %}<{{ m.content }}>{% endfor %}\n");
  EXPECT_EQ(*(*ChatTemplate::FromModelDir(dir_.string()))->Render({{"user", "hi"}}), "<hi>");
  // Named formats still work by name.
  auto named = ChatTemplate::ForJobSpec("llama3", dir_.string());
  ASSERT_TRUE(named.ok());
  EXPECT_FALSE((*named)->is_jinja());
  EXPECT_EQ(ChatTemplate::ForJobSpec("vicuna", dir_.string()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ChatTemplateDirTest, BadTemplatesAndInputsAreErrorsNotCrashes) {
  Write("tokenizer_config.json", R"({"chat_template": "{% for m in messages %}{{ m.content "})");
  auto broken = ChatTemplate::FromModelDir(dir_.string());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(broken.status().message().find("line 1"), std::string::npos) << broken.status();
  auto t = ChatTemplate::FromJinja("{{ messages[0].content.upper() }}");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE((*t)->Render({{"user", std::string("\xff\xfe")}}).ok());  // not UTF-8
  ChatTemplateInputs empty;
  EXPECT_FALSE((*t)->RenderInputs(empty).ok());  // messages[0] is undefined: no attribute access
  auto deep = ChatTemplate::FromJinja("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_TRUE(deep.ok());
  EXPECT_FALSE((*deep)->Render({{"user", "x"}}).ok());  // runaway recursion is stopped
}

// Numbers past int64 or double in a template (found by fuzz_chat_template: std::stoll threw and
// killed the process) are errors or Python's answers, never a crash.
TEST(ChatTemplateTest, NumbersOutOfRangeAreErrorsNotCrashes) {
  const std::vector<ChatMessage> one = {{"user", "hi"}};
  auto dot = ChatTemplate::FromJinja("{{ messages.99999999999999999999 }}");
  ASSERT_FALSE(dot.ok());
  EXPECT_NE(dot.status().message().find("out of range"), std::string::npos) << dot.status();
  EXPECT_FALSE(ChatTemplate::FromJinja("{{ 99999999999999999999 }}").ok());
  auto attr = ChatTemplate::FromJinja("{{ messages|map(attribute='99999999999999999999')|list }}");
  ASSERT_TRUE(attr.ok());
  EXPECT_FALSE((*attr)->Render(one).ok());
  auto format = ChatTemplate::FromJinja("{{ '{99999999999999999999}'.format(1) }}");
  ASSERT_TRUE(format.ok());
  EXPECT_FALSE((*format)->Render(one).ok());  // no such argument, as in Python
  auto percent = ChatTemplate::FromJinja("{{ '%d' % 1.5e999 }}");
  ASSERT_TRUE(percent.ok());
  EXPECT_FALSE((*percent)->Render(one).ok());  // Python: cannot convert float infinity
  // int of inf has no value: the filter's default, as Jinja gives for values int() refuses.
  auto to_int =
      ChatTemplate::FromJinja("{{ 1.5e999 }} {{ 1.5e999|int }} {{ 9007199254740993|int }}");
  ASSERT_TRUE(to_int.ok());
  auto text = (*to_int)->Render(one);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "inf 0 9007199254740993");  // big ints stay exact (not rounded via double)
}

// Integer arithmetic past 64 bits (found by fuzz_chat_template: a signed overflow, undefined
// behaviour) is an error; within 64 bits it is Python's, floor division included; x ** n takes
// log2(n) steps (it looped n times); ranges and repetitions are bounded.
TEST(ChatTemplateTest, IntegerArithmeticIsPythonsOrAnError) {
  const std::vector<ChatMessage> one = {{"user", "hi"}};
  auto render = [&](const std::string& source) -> absl::StatusOr<std::string> {
    auto t = ChatTemplate::FromJinja(source);
    if (!t.ok()) return t.status();
    return (*t)->Render(one);
  };
  // Expected strings are what python3-jinja2 prints for the same expressions.
  auto ok = render(
      "{{ 7 // -2 }} {{ 7 % -2 }} {{ -7 % 2 }} {{ 2 ** 62 }} {{ (-2) ** 63 }} "
      "{{ (-9223372036854775807 - 1) % -1 }} {{ range(5, 0, -2)|list }} {{ range(0, -1, 2)|list }} "
      "{{ range(-9223372036854775807, -9223372036854775805)|list }}");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok,
            "-4 -1 1 4611686018427387904 -9223372036854775808 0 [5, 3, 1] [] "
            "[-9223372036854775807, -9223372036854775806]");
  for (const char* overflow :
       {"{{ 999489*9*9189*9*99*9*910*910 }}", "{{ 9223372036854775807 + 1 }}",
        "{{ -9223372036854775807 - 2 }}", "{{ 2 ** 63 }}", "{{ 2 ** 9999999999999999 }}",
        "{{ -(-9223372036854775807 - 1) }}", "{{ (-9223372036854775807 - 1) // -1 }}"}) {
    auto r = render(overflow);
    ASSERT_FALSE(r.ok()) << overflow;
    EXPECT_NE(r.status().message().find("overflow"), std::string::npos) << r.status();
  }
  EXPECT_EQ(*render("{{ 1 ** 999999999999999999 }}"), "1");  // immediate, not 1e18 steps
  EXPECT_FALSE(render("{{ range(-9223372036854775807, 9223372036854775807)|length }}").ok());
  EXPECT_FALSE(render("{{ ('abc' * 999999999)|length }}").ok());
}

}  // namespace
}  // namespace flywheel::tokenizer
