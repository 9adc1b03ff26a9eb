// Values of flywheel's Jinja renderer (jinja_template.h): Python's objects as templates see them
// (None, bool, int, float, str, list, tuple, dict) plus Jinja's undefined, namespace() objects
// and callables. Lists and dicts are shared, as Python objects are; only namespaces are ever
// mutated (`{% set ns.x = ... %}`), matching Jinja's immutable sandbox.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace flywheel::tokenizer::jinja {

class Value;

// Arguments of a call: positional, then keyword (in call order).
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};
using Function = std::function<absl::StatusOr<Value>(Args& args)>;

// An insertion-ordered str -> Value map (Python dicts keep insertion order; tojson prints it).
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;
  const Value* Find(std::string_view key) const;
  void Set(const std::string& key, Value value);
};

enum class Kind {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kTuple,
  kDict,
  kNamespace,
  kFunction
};

class Value {
 public:
  Value() = default;  // undefined
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s);
  static Value List(std::vector<Value> items);
  static Value Tuple(std::vector<Value> items);
  static Value Dictionary(Dict d);
  static Value Namespace(Dict d);
  static Value Callable(std::string name, Function f);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || is_bool(); }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_sequence() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_mapping() const { return kind_ == Kind::kDict || kind_ == Kind::kNamespace; }

  bool boolean() const { return b_; }
  int64_t integer() const { return kind_ == Kind::kBool ? b_ : i_; }
  double number() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(integer()); }
  const std::string& str() const { return *s_; }
  const std::vector<Value>& items() const { return *list_; }
  const Dict& dict() const { return *dict_; }
  Dict& namespace_dict() const { return *dict_; }  // kNamespace only
  const std::string& name() const { return *s_; }  // kFunction
  const Function& function() const { return *fn_; }

  // Python's bool(): undefined, None, False, 0, "", [] and {} are false.
  bool Truthy() const;
  // Python's str() (what {{ }} prints; undefined prints nothing) and repr().
  std::string Str() const;
  std::string Repr() const;
  // A short type name for error messages ("str", "list", "undefined", ...).
  std::string TypeName() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const std::string> s_;
  std::shared_ptr<const std::vector<Value>> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Function> fn_;
};

// Python ==: numbers by value (1 == 1.0 == True), sequences and dicts element-wise; undefined
// equals only undefined.
bool Equal(const Value& a, const Value& b);
// Python <: numbers, strings (by code point), lists and tuples lexicographically. TypeError
// (InvalidArgument) for other pairs.
absl::StatusOr<bool> Less(const Value& a, const Value& b);

// JSON (parsed with nlohmann::ordered_json so that key order survives) to values.
Value FromJson(const nlohmann::ordered_json& j);
// Python's json.dumps(v, ensure_ascii=False, indent=indent, separators=..., sort_keys=...):
// `indent` < 0 means None. InvalidArgument for values JSON cannot hold (undefined, callables).
absl::StatusOr<std::string> ToJson(const Value& v, int indent, const std::string& item_separator,
                                   const std::string& key_separator, bool sort_keys);

}  // namespace flywheel::tokenizer::jinja
