#include "cli/job_spec_file.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace flywheel::cli {
namespace {

namespace pb = google::protobuf;

// Converts YAML to the JSON protobuf's parser expects, one message at a time, using the field
// types to decide how a scalar is written. Collects the first error with its line.
class YamlToJson {
 public:
  explicit YamlToJson(std::string source) : source_(std::move(source)) {}

  absl::StatusOr<nlohmann::json> Message(const YAML::Node& node, const pb::Descriptor* desc,
                                         const std::string& where) {
    if (!node.IsMap()) return Error(node, where, "expected a mapping of field names to values");
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      const pb::FieldDescriptor* field = desc->FindFieldByName(key);
      if (field == nullptr) field = desc->FindFieldByCamelcaseName(key);
      const std::string path = where.empty() ? key : absl::StrCat(where, ".", key);
      if (field == nullptr) {
        return Error(kv.first, where,
                     absl::StrCat("unknown field \"", key, "\" in ", desc->name()));
      }
      if (kv.second.IsNull()) continue;  // `field:` with no value leaves the default.
      if (field->is_map()) {
        if (!kv.second.IsMap()) return Error(kv.second, path, "expected a mapping");
        nlohmann::json m = nlohmann::json::object();
        const pb::FieldDescriptor* value_field = field->message_type()->FindFieldByName("value");
        for (const auto& entry : kv.second) {
          const std::string k = entry.first.as<std::string>();
          ASSIGN_OR_RETURN(m[k], Value(entry.second, value_field, absl::StrCat(path, ".", k)));
        }
        out[field->name()] = std::move(m);
      } else if (field->is_repeated()) {
        if (!kv.second.IsSequence()) return Error(kv.second, path, "expected a list");
        nlohmann::json list = nlohmann::json::array();
        for (size_t i = 0; i < kv.second.size(); ++i) {
          ASSIGN_OR_RETURN(nlohmann::json v,
                           Value(kv.second[i], field, absl::StrCat(path, "[", i, "]")));
          list.push_back(std::move(v));
        }
        out[field->name()] = std::move(list);
      } else {
        ASSIGN_OR_RETURN(out[field->name()], Value(kv.second, field, path));
      }
    }
    return out;
  }

 private:
  absl::StatusOr<nlohmann::json> Value(const YAML::Node& node, const pb::FieldDescriptor* field,
                                       const std::string& path) {
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return Message(node, field->message_type(), path);
    }
    if (!node.IsScalar()) return Error(node, path, "expected a single value");
    const std::string s = node.Scalar();
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        return nlohmann::json(s);
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        bool b = false;
        if (!YAML::convert<bool>::decode(node, b)) {
          return Error(node, path, absl::StrCat("expected true or false, got \"", s, "\""));
        }
        return nlohmann::json(b);
      }
      case pb::FieldDescriptor::CPPTYPE_INT32:
      case pb::FieldDescriptor::CPPTYPE_INT64: {
        int64_t v = 0;
        if (!absl::SimpleAtoi(s, &v)) {
          return Error(node, path, absl::StrCat("expected an integer, got \"", s, "\""));
        }
        return nlohmann::json(v);
      }
      case pb::FieldDescriptor::CPPTYPE_UINT32:
      case pb::FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v = 0;
        if (!absl::SimpleAtoi(s, &v)) {
          return Error(node, path,
                       absl::StrCat("expected a non-negative integer, got \"", s, "\""));
        }
        return nlohmann::json(v);
      }
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
        double v = 0;
        if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) {
          return Error(node, path, absl::StrCat("expected a finite number, got \"", s, "\""));
        }
        return nlohmann::json(v);
      }
      default:
        return Error(node, path, "unsupported field type");
    }
  }

  absl::Status Error(const YAML::Node& node, const std::string& path, const std::string& why) {
    const std::string at = node.Mark().is_null() ? "" : absl::StrCat(":", node.Mark().line + 1);
    return absl::InvalidArgumentError(
        absl::StrCat(source_, at, ": ", path.empty() ? "" : absl::StrCat(path, ": "), why));
  }

  std::string source_;
};

absl::StatusOr<v1::JobSpec> FromJson(const std::string& json, const std::string& source) {
  v1::JobSpec spec;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto st = pb::util::JsonStringToMessage(json, &spec, options);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not a valid job spec: ", std::string(st.message())));
  }
  return spec;
}

}  // namespace

SpecFormat GuessSpecFormat(const std::string& path, std::string_view text) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".json") return SpecFormat::kJson;
  if (ext == ".yaml" || ext == ".yml") return SpecFormat::kYaml;
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' ? SpecFormat::kJson
                                                               : SpecFormat::kYaml;
}

absl::StatusOr<v1::JobSpec> ParseJobSpec(std::string_view text, SpecFormat format,
                                         const std::string& source) {
  if (format == SpecFormat::kJson) return FromJson(std::string(text), source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
  if (root.IsNull()) return absl::InvalidArgumentError(absl::StrCat(source, ": empty job spec"));
  YamlToJson converter(source);
  nlohmann::json json;
  try {
    ASSIGN_OR_RETURN(json, converter.Message(root, v1::JobSpec::descriptor(), ""));
  } catch (const YAML::Exception& e) {  // e.g. a key that is itself a list
    return absl::InvalidArgumentError(absl::StrCat(source, ":", e.mark.line + 1, ": ", e.msg));
  }
  std::string json_text;
  try {
    json_text = json.dump();
  } catch (const nlohmann::json::type_error& e) {  // a string that is not valid UTF-8
    return absl::InvalidArgumentError(absl::StrCat(source, ": not UTF-8 text: ", e.what()));
  }
  return FromJson(json_text, source);
}

void ResolveSpecPaths(const std::filesystem::path& base_dir, v1::JobSpec* spec) {
  const std::filesystem::path base =
      base_dir.empty() ? std::filesystem::current_path() : std::filesystem::absolute(base_dir);
  for (std::string* p : {spec->mutable_policy_model_dir(), spec->mutable_reference_model_dir(),
                         spec->mutable_dataset(), spec->mutable_eval_dataset(),
                         spec->mutable_checkpoint_dir(), spec->mutable_sample_dump_dir()}) {
    if (p->empty() || std::filesystem::path(*p).is_absolute()) continue;
    *p = (base / *p).lexically_normal().string();
  }
}

absl::StatusOr<v1::JobSpec> ReadJobSpecFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  ASSIGN_OR_RETURN(v1::JobSpec spec, ParseJobSpec(text, GuessSpecFormat(path, text), path));
  ResolveSpecPaths(std::filesystem::path(path).parent_path(), &spec);
  return spec;
}

}  // namespace flywheel::cli
