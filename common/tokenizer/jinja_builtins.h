// Jinja's built-in filters, tests, global functions and the attribute and item lookups on values
// (with the str, dict and list methods templates call), for flywheel's renderer. Semantics are
// Python's and Jinja 3.1's with transformers' overrides (tojson keeps non-ASCII and key order
// and takes indent / separators / sort_keys). Errors are InvalidArgument with Python's wording
// where a template author would recognize it.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/jinja_value.h"

namespace flywheel::tokenizer::jinja {

class Interpreter;

// Fills out[i] with the argument for names[i] (positional in order, then by keyword);
// undefined where not given. InvalidArgument for unknown keywords or too many arguments.
absl::Status BindArgs(std::string_view function, const Args& args,
                      std::initializer_list<std::string_view> names, std::vector<Value>* out);

absl::StatusOr<Value> ApplyFilter(Interpreter& interpreter, const std::string& name,
                                  const Value& input, Args& args);
absl::StatusOr<bool> ApplyTest(Interpreter& interpreter, const std::string& name,
                               const Value& input, Args& args);

// obj.name: a method of a str, dict or list, else the dict's item or namespace's attribute;
// undefined when there is none. InvalidArgument on undefined `obj` and for the list methods the
// sandbox forbids (append, pop, ...).
absl::StatusOr<Value> GetAttribute(const Value& obj, const std::string& name);
// obj[key]: dict item, or list / tuple / str element (negative indices count from the end);
// undefined when absent. InvalidArgument on undefined `obj`.
absl::StatusOr<Value> GetItem(const Value& obj, const Value& key);
// obj[start:stop:step] with Python's rules; absent parts are undefined values.
absl::StatusOr<Value> GetSlice(const Value& obj, const Value& start, const Value& stop,
                               const Value& step);

// The values of an iterable: list / tuple items, dict keys, str characters; undefined is empty.
absl::StatusOr<std::vector<Value>> Iterate(const Value& v);

// range, namespace, dict, raise_exception, strftime_now.
Dict BuiltinGlobals();

}  // namespace flywheel::tokenizer::jinja
