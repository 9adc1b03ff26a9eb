"""Reference renderer for flywheel's chat templates: Debian's python3-jinja2, driven the way
transformers' apply_chat_template drives it (transformers itself is not needed).

  chat_template_ref.py --tokenizer-config FILE < conversations.jsonl
  chat_template_ref.py --template FILE < variables.jsonl
  chat_template_ref.py --cases < cases.jsonl   # each line: {"template": source, ...variables}

Input lines are what `flywheel chat-template` reads: {"messages": [...], "add_generation_prompt":
bool, "tools": [...], "documents": [...], ...extra template variables}. Each output line is
{"text": rendered} or {"error": message}.

transformers' environment: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols, its generation-block tracker]); globals raise_exception and
strftime_now; tojson replaced by json.dumps(x, ensure_ascii=False, indent, separators,
sort_keys). Variables: messages, tools and documents (None when absent), add_generation_prompt,
the special tokens of the tokenizer config (special_tokens_map), then the extra keys.

Run with /usr/bin/python3 (Debian's python3-jinja2).
"""
import argparse
import json
import sys
from datetime import datetime

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationBlocks(Extension):
    # transformers' AssistantTracker: {% generation %}...{% endgeneration %} renders its body.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                       extensions=[GenerationBlocks, loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def template_source(config):
    t = config.get("chat_template")
    if isinstance(t, list):
        named = {e["name"]: e["template"] for e in t}
        return named.get("default", t[0]["template"])
    return t


def special_tokens(config):
    # special_tokens_map: the named tokens as strings (AddedToken objects by content), plus
    # additional_special_tokens.
    def content(v):
        return v.get("content") if isinstance(v, dict) else v

    out = {}
    for key in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                "mask_token"):
        v = content(config.get(key))
        if isinstance(v, str):
            out[key] = v
    extra = config.get("additional_special_tokens")
    if isinstance(extra, list):
        out["additional_special_tokens"] = [content(v) for v in extra]
    return out


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokenizer-config")
    src.add_argument("--template")
    src.add_argument("--cases", action="store_true")
    args = ap.parse_args()
    env = environment()
    if args.cases:
        for line in sys.stdin:
            if not line.strip():
                continue
            case = json.loads(line)
            try:
                result = {"text": env.from_string(case.pop("template")).render(**case)}
            except Exception as e:
                result = {"error": f"{type(e).__name__}: {e}"}
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    if args.tokenizer_config:
        with open(args.tokenizer_config, encoding="utf-8") as f:
            config = json.load(f)
        source, specials = template_source(config), special_tokens(config)
    else:
        with open(args.template, encoding="utf-8") as f:
            source, specials = f.read(), {}
    template = env.from_string(source)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        variables = dict(specials)
        variables.update(messages=request.pop("messages", []), tools=request.pop("tools", None),
                         documents=request.pop("documents", None),
                         add_generation_prompt=request.pop("add_generation_prompt", False))
        variables.update(request)
        try:
            result = {"text": template.render(**variables)}
        except Exception as e:  # template errors, raise_exception, type errors alike
            result = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
