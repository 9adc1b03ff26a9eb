// The syntax tree of flywheel's Jinja renderer: what jinja_parser builds and jinja_interpreter
// walks. One struct per level (expression, statement) with a type tag keeps the tree small;
// each field says which types use it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/tokenizer/jinja_value.h"

namespace flywheel::tokenizer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Type {
    kLiteral,  // literal
    kName,     // name
    kList,     // items: children
    kTuple,    // items: children
    kDict,     // children: key, value, key, value, ...
    kAttr,     // children[0].name
    kItem,     // children[0][children[1]]
    kSlice,    // children[0][children[1]:children[2]:children[3]] (absent parts are null)
    kCall,     // children[0](args)
    kFilter,   // children[0] | name(args); children[0] is null in {% filter %} and set blocks
    kTest,     // children[0] is [not] name(args)
    kNeg,      // -children[0]
    kPos,      // +children[0]
    kNot,      // not children[0]
    kBinary,   // children[0] name children[1]: + - * / // % ** ~ and or in
    kCompare,  // children[0] ops[0] children[1] ops[1] children[2] ...
    kCond,     // children[0] if children[1] else children[2] (else may be null)
  };
  Type type;
  int line = 0;
  Value literal;
  std::string name;
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;
  // Calls, filters and tests: args are children[first_arg ..]; the last keywords.size() of them
  // are keyword arguments with these names.
  size_t first_arg = 1;
  std::vector<std::string> keywords;
  bool negated = false;  // kTest: "is not"
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Type {
    kData,         // text
    kPrint,        // {{ expr }}
    kIf,           // conditions[i] -> bodies[i]; else_body
    kFor,          // for targets in expr [if condition]: body; else_body
    kSet,          // set targets = expr, or set targets[0].attribute = expr
    kSetBlock,     // set targets[0] [| filter] %} body {% endset
    kMacro,        // macro targets[0](params = defaults): body
    kFilterBlock,  // filter expr: body
    kWith,         // with targets = values: body
    kGeneration,   // transformers' {% generation %}: body, rendered as is
    kBreak,
    kContinue,
  };
  Type type;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;  // kFor's filter
  std::vector<std::string> targets;
  std::string attribute;  // kSet on a namespace attribute
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body, else_body;
  std::vector<std::string> params;
  std::vector<ExprPtr> values;  // kMacro defaults (null: required), kWith values
};

}  // namespace flywheel::tokenizer::jinja
