// Chat templates rendered by hand, checked against the text the published Jinja templates give.
#include "common/tokenizer/chat_template.h"

#include <cstring>

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
