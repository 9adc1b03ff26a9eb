// A tokenizer's identity as a short string: two tokenizers with the same fingerprint map every id
// to the same bytes and agree on which ids are special, so token ids mean the same text to both.
// Rollout servers report it (GetInfo), and the learner compares a teacher's with the policy's
// before it distils one into the other: scoring a student's ids with a teacher that reads them
// differently would produce confident nonsense.
//
// Thread safety: a pure function of the (immutable) tokenizer.
#pragma once

#include <string>

#include "common/tokenizer/tokenizer.h"

namespace flywheel::tokenizer {

// 16 lowercase hex digits: 64-bit FNV-1a over (id, byte length, bytes, special) for every id in
// order. Stable across processes, machines and releases.
std::string Fingerprint(const Tokenizer& tokenizer);

}  // namespace flywheel::tokenizer
