#!/usr/bin/env python3
"""Generates the tokenizer comparison corpus (data/corpus.jsonl, data/normalization.jsonl).

Deterministic (fixed seed, no inputs): rerun it and the files come out byte for byte the same.
Every text is composed here from small hand-written word and phrase lists, so the corpus copies
no prose from elsewhere. One JSON string per line, so texts can hold newlines and CRs.

corpus.jsonl holds only NFC text: Decode(Encode(s)) == s must hold for every line of it.
normalization.jsonl holds text that NFC changes (decomposed accents, singletons, mark order).
Both leave out U+0085 and U+FEFF, the two characters where JavaScript's \\s differs from
Oniguruma's (the JS reference and Hugging Face disagree there; tokenizer_test checks them apart).
"""
import json
import os
import random
import unicodedata

SEED = 20250101
rng = random.Random(SEED)

# ---------------------------------------------------------------- English prose
SUBJECTS = ["the engineer", "a small robot", "my neighbour", "the committee", "every student",
            "our team", "the old lighthouse keeper", "a curious cat", "the compiler", "she",
            "he", "they", "we", "the river", "a tired traveller", "the new intern", "nobody",
            "the orchestra", "an autonomous drone", "the baker on Elm Street"]
VERBS = ["measured", "rebuilt", "ignored", "painted", "debugged", "carried", "noticed",
         "questioned", "celebrated", "replaced", "borrowed", "simplified", "forgot", "watched",
         "announced", "tested", "folded", "organised", "predicted", "counted"]
OBJECTS = ["the broken clock", "three wooden chairs", "an enormous spreadsheet",
           "the quarterly report", "a jar of honey", "the distributed cache", "forty-two pebbles",
           "the missing semicolon", "a paper boat", "the evening train", "her grandmother's recipe",
           "the gradient", "a map of the harbour", "two tickets", "the last slice of pie"]
TAILS = ["before sunrise", "without a word", "for no obvious reason", "in the rain",
         "after lunch", "with great care", "while humming", "on Tuesday", "under the bridge",
         "despite the noise", "as usual", "at 3 a.m.", "twice", "again and again"]
CONTRACTIONS = ["it's", "don't", "they're", "we've", "I'm", "you'll", "she'd", "can't",
                "IT'S", "DON'T", "They'Re", "WE'VE", "I'M", "YOU'LL", "won't", "o'clock",
                "rock 'n' roll", "the cat's toy", "the '90s"]
PUNCT = [".", "!", "?", "...", ";", " --", ":", "!?", "?!", "…"]


def sentence():
    s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.6:
        s += " " + rng.choice(TAILS)
    if rng.random() < 0.4:
        s = rng.choice(CONTRACTIONS) + " true: " + s
    if rng.random() < 0.2:
        s = f'"{s}," {rng.choice(["said", "asked", "whispered"])} {rng.choice(SUBJECTS)}'
    if rng.random() < 0.15:
        s = s.upper()
    elif rng.random() < 0.1:
        s = s.title()
    return s[0].upper() + s[1:] + rng.choice(PUNCT)


def prose(n):
    return [" ".join(sentence() for _ in range(rng.randint(1, 5))) for _ in range(n)]


# ---------------------------------------------------------------- code
IDENTS = ["value", "count", "buffer", "next_token", "logits", "kv_cache", "idx", "result",
          "userName", "MAX_LEN", "tmp", "self", "req", "rowPtr", "x", "y_hat", "__init__"]


def indent(level):
    style = rng.choice(["    ", "\t", "  ", " \t", "\t "])
    return style * level


def code_line(level):
    a, b = rng.choice(IDENTS), rng.choice(IDENTS)
    forms = [
        f"{a} = {b} + {rng.randint(0, 999)}",
        f"if ({a} != {b}) {{",
        f"for (int i = 0; i < {a}.size(); ++i) {{",
        f"return {a}[{b}] * 0.5f;",
        f"def {a}({b}, *args, **kwargs):",
        f"    # TODO(someone): handle {a} == None",
        f"const {a} = await fetch(`/api/${{{b}}}`);",
        f"{a}.push_back(std::move({b}));",
        f"printf(\"%d %s\\n\", {a}, {b});",
        f"}} else if ({a} >= 0x{rng.randint(0, 65535):04X}) {{",
        f"SELECT {a}, COUNT(*) FROM t WHERE {b} LIKE '%x%';",
        f"{a} := map[string]int{{\"{b}\": {rng.randint(0, 9)}}}",
        f"<div class=\"{a}\">{{{{ {b} }}}}</div>",
        "}",
        "",
        "/* block comment */",
        f"#include <{a}.h>",
        f"lambda {a}: {a} ** 2 if {a} else -{a}",
    ]
    line = indent(level) + rng.choice(forms)
    if rng.random() < 0.3:
        line += " " * rng.randint(1, 6)  # trailing spaces
    if rng.random() < 0.1:
        line += "\t"
    return line


def code(n):
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            out.append(code_line(rng.randint(0, 4)))
        else:
            nl = rng.choice(["\n", "\n", "\r\n", "\n\n"])
            out.append(nl.join(code_line(rng.randint(0, 3)) for _ in range(rng.randint(2, 8))))
    return out


# ---------------------------------------------------------------- numbers
def numbers(n):
    out = []
    for _ in range(n):
        kind = rng.randrange(9)
        if kind == 0:
            out.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 200))))
        elif kind == 1:
            out.append(f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 9)}f}")
        elif kind == 2:
            out.append(f"{rng.randint(0, 10**12):,}")
        elif kind == 3:
            out.append(f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                       f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z")
        elif kind == 4:
            out.append(f"+1 ({rng.randint(200, 999)}) {rng.randint(100, 999)}-{rng.randint(0, 9999):04d}")
        elif kind == 5:
            out.append(f"{rng.randint(1, 99)}x{rng.randint(1, 99)} = {rng.randint(1, 9999)}; "
                       f"{rng.random():.3e} ≈ {rng.randint(0, 100)}%")
        elif kind == 6:
            out.append(" ".join(str(rng.randint(0, 10**rng.randint(1, 8))) for _ in range(rng.randint(2, 12))))
        elif kind == 7:
            out.append(f"v{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}-rc{rng.randint(1, 9)}")
        else:
            out.append(rng.choice(["١٢٣٤٥", "०१२३४५६७८९", "①②③", "Ⅻ", "½ ¾ ⅞", "²³¹", "٣٫١٤",
                                   "一二三", "12３４５", "𝟙𝟚𝟛"]) + str(rng.randint(0, 999)))
    return out


# ---------------------------------------------------------------- CJK
ZH = ["我们", "今天", "天气", "很好", "学习", "机器", "模型", "数据", "训练", "中文", "测试",
      "一个", "问题", "答案", "非常", "重要", "北京", "上海", "朋友", "吃饭", "电脑", "程序",
      "强化学习", "分词器", "语言", "时间", "工作", "快乐"]
JA = ["私は", "今日", "東京へ", "行きます", "ありがとう", "ございます", "猫が", "好きです",
      "カタカナ", "ひらがな", "テスト", "プログラム", "です", "ます", "ラーメン", "を食べた",
      "コンピューター", "トークナイザー"]
KO = ["안녕하세요", "감사합니다", "오늘", "날씨가", "좋네요", "한국어", "데이터", "모델을",
      "학습합니다", "서울", "사랑해요", "컴퓨터", "프로그램", "토크나이저"]
CJK_PUNCT = ["。", "，", "！", "？", "、", "「", "」", "：", "；", "（", "）", "…", "　"]


def cjk(n):
    out = []
    for _ in range(n):
        words = rng.choice([ZH, JA, KO])
        sep = " " if words is KO else ""
        parts = []
        for _ in range(rng.randint(2, 12)):
            parts.append(rng.choice(words))
            if rng.random() < 0.25:
                parts.append(rng.choice(CJK_PUNCT))
            if rng.random() < 0.1:
                parts.append(rng.choice(["AI", "GPU", " 2025年", "3.5", " OK "]))
        out.append(sep.join(parts))
    return out


# ---------------------------------------------------------------- Arabic, Hebrew, other scripts
AR = ["مرحبا", "بالعالم", "كيف", "حالك", "اليوم", "الكتاب", "جميل", "جداً", "شكراً", "لك",
      "المدرسة", "الحاسوب", "البيانات", "نموذج", "اللغة", "العربية", "كَتَبَ", "مُحَمَّد",
      "سَلام", "عَلَيْكُم"]
HE = ["שלום", "עולם", "תודה", "רבה", "ספר", "מחשב", "שָׁלוֹם", "בְּרֵאשִׁית"]
OTHER = ["Привет, мир!", "Съешь же ещё этих мягких булок", "Γειά σου Κόσμε", "Ελληνικά",
         "नमस्ते दुनिया", "हिन्दी भाषा", "สวัสดีชาวโลก", "ภาษาไทย", "Xin chào thế giới",
         "Tiếng Việt có dấu", "Grüße aus München", "Ça va très bien, merci", "Zażółć gęślą jaźń",
         "Ñandú pequeño", "Þetta er íslenska", "ქართული", "Հայերեն", "தமிழ்", "বাংলা", "ગુજરાતી",
         "ᐃᓄᒃᑎᑐᑦ", "ትግርኛ", "Ảnh đẹp quá"]


def scripts(n):
    out = []
    for _ in range(n):
        pick = rng.randrange(4)
        if pick == 0:
            out.append(" ".join(rng.choice(AR) for _ in range(rng.randint(2, 10)))
                       + rng.choice(["", "؟", ".", "،", " 2024"]))
        elif pick == 1:
            out.append(" ".join(rng.choice(HE) for _ in range(rng.randint(2, 6))))
        elif pick == 2:
            out.append(rng.choice(OTHER) + rng.choice(["", " ", ".", " (test)", " 123"]))
        else:
            out.append(f"{rng.choice(SUBJECTS)} said {rng.choice(AR)} and {rng.choice(ZH)}"
                       f" then {rng.choice(OTHER)}")
    return out


# ---------------------------------------------------------------- emoji
EMOJI = ["😀", "😂", "🥲", "👍", "👍🏽", "👋🏿", "❤️", "🔥", "🚀", "🎉", "🤖", "🧠", "🐍", "☕",
         "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏾‍🚀", "🏳️‍🌈", "🏴‍☠️", "👁️‍🗨️", "❤️‍🔥", "🇺🇸", "🇯🇵", "🇫🇷",
         "1️⃣", "#️⃣", "©️", "™", "✔️", "⚠️", "🫠", "🧑‍🤝‍🧑", "👩🏻‍❤️‍💋‍👨🏼", "🤷‍♀️", "🙇🏻‍♂️"]


def emoji(n):
    out = []
    for _ in range(n):
        k = rng.randrange(3)
        if k == 0:
            out.append("".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 8))))
        elif k == 1:
            out.append(sentence() + " " + " ".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4))))
        else:
            out.append(rng.choice(EMOJI) + rng.choice(ZH) + rng.choice(EMOJI) + "abc" + rng.choice(EMOJI))
    return out


# ---------------------------------------------------------------- combining marks
BASES = "aeiouqxzAEOQgnsyðþ"
MARKS = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030a", "\u0323", "\u0327",
         "\u0331", "\u0336", "\u035c", "\u0361", "\u20dd", "\u20e3"]


def combining(n):
    out = []
    for _ in range(n):
        k = rng.randrange(3)
        if k == 0:
            w = "".join(rng.choice(BASES) + "".join(rng.choice(MARKS) for _ in range(rng.randint(1, 3)))
                        for _ in range(rng.randint(1, 8)))
        elif k == 1:
            w = "Z" + "".join(rng.choice(MARKS) for _ in range(rng.randint(5, 30))) + "algo"
        else:
            w = rng.choice(OTHER) + " " + rng.choice(["ǹ", "ḿ", "ẅ", "q̣", "n̈", "ș", "ț", "ą̃"])
        out.append(w)
    return out


# ---------------------------------------------------------------- special tokens in text
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>",
            "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
            "<|vision_start|>", "<|image_pad|>", "<|file_sep|>", "<tool_response>"]
NEAR_MISSES = ["<|im_start", "<|im_end|", "<|im", "<think", "</think", "<|endoftext",
               "< |im_end|>", "<|IM_END|>", "<<|im_end|>>", "<|im_end|>|>", "<|"]


def specials(n):
    out = []
    for _ in range(n):
        k = rng.randrange(4)
        if k == 0:
            role = rng.choice(["system", "user", "assistant"])
            out.append(f"<|im_start|>{role}\n{sentence()}<|im_end|>\n")
        elif k == 1:
            out.append(f"<think>\n{sentence()}\n</think>\n\n{sentence()}")
        elif k == 2:
            out.append("".join(rng.choice([rng.choice(SPECIALS), rng.choice(NEAR_MISSES),
                                           rng.choice(IDENTS), " ", "\n"])
                               for _ in range(rng.randint(1, 10))))
        else:
            out.append(f"{sentence()}{rng.choice(SPECIALS)}{rng.choice(SPECIALS)} {rng.choice(ZH)}")
    return out


# ---------------------------------------------------------------- whitespace
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2003", "\u2009", "\u202f",
          "\u2028", "\u2029", "\u200b", "\u000b", "\u000c"]


def whitespace(n):
    out = ["", " ", "\n", "\t", "\r\n", " " * 256, "\t" * 64, "\n" * 40, " \n" * 30]
    while len(out) < n:
        k = rng.randrange(4)
        if k == 0:
            out.append("".join(rng.choice(SPACES) for _ in range(rng.randint(1, 300))))
        elif k == 1:
            out.append(rng.choice(IDENTS) + " " * rng.randint(2, 500) + rng.choice(IDENTS))
        elif k == 2:
            out.append("".join(rng.choice(SPACES) + rng.choice(IDENTS + ZH + ["1", "!"])
                               for _ in range(rng.randint(1, 20))) + rng.choice(SPACES) * rng.randint(0, 5))
        else:
            out.append(rng.choice(["", " ", "\t\t", "   \n\n   ", "\n \n \n"]))
    return out


# ---------------------------------------------------------------- miscellany
def misc(n):
    out = []
    for _ in range(n):
        k = rng.randrange(7)
        a, b = rng.choice(IDENTS), rng.choice(IDENTS)
        if k == 0:
            out.append(f"https://example.com/{a}/{b}?q={rng.randint(0, 999)}&lang=en#sec-{rng.randint(1, 9)}")
        elif k == 1:
            out.append(f"{a}.{b}@mail.example.org")
        elif k == 2:
            out.append(f"## {sentence()}\n\n- **{a}**: `{b}`\n- _{rng.choice(OBJECTS)}_\n\n> {sentence()}")
        elif k == 3:
            out.append(json.dumps({a: rng.randint(0, 100), b: [1.5, None, True, "x y"]}))
        elif k == 4:
            out.append(f"$\\frac{{{rng.randint(1, 9)}}}{{{rng.randint(1, 9)}}} + \\sum_{{i=1}}^{{n}} x_i^2 \\leq \\sqrt{{2}}$")
        elif k == 5:
            out.append(rng.choice(["§ 3.2 — “quoted” ‘text’ «guillemets» ‹›", "€100 £50 ¥1000 ₹500 ₿0.1",
                                   "→ ← ↑ ↓ ⇒ ∀x ∃y ∈ ℝ ≠ ≤ ≥ ∞", "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕", "░▒▓█ ┌─┐ │ └─┘",
                                   "Ａ Ｂ Ｃ ｆｕｌｌｗｉｄｔｈ", "™ ® © ℠", "𓀀 𓁐 𐎀 𐤀", "ﬁ ﬂ ﬀ"]))
        else:
            out.append(f"{a}'s {b}'ll've 'S 'T 'RE 'VE 'M 'LL 'D x's y'S")
    return out


def nfc(s):
    return unicodedata.normalize("NFC", s)


def main():
    lines = (prose(420) + code(320) + numbers(220) + cjk(220) + scripts(200) + emoji(160)
             + combining(160) + specials(170) + whitespace(160) + misc(170))
    corpus = [nfc(s) for s in lines]
    for s in corpus:
        assert "\u0085" not in s and "\ufeff" not in s

    # Text that NFC rewrites: decomposed letters, singletons, mark order, Hangul jamo.
    norm = []
    decomposable = "éèêëáàâäíìîïóòôöúùûüçñåÉÈÀÇÑÅőűẞắệỗ"
    for _ in range(40):
        w = "".join(rng.choice(decomposable) for _ in range(rng.randint(1, 10)))
        norm.append(rng.choice(SUBJECTS) + " " + unicodedata.normalize("NFD", w))
    norm += ["\u212b ngstr\u00f6m", "\u2126 ohm", "\u1100\u1161\u11a8 jamo", "\u1112\u1161\u11ab\u1100\u1173\u11af",
             "a\u0323\u0302", "a\u0302\u0323", "\u0628\u0651\u064e", "q\u0307\u0323", "e\u0301\u0301",
             "\u0041\u030a\u0301", "\u1e9b\u0323", "\u0958 \u0915\u093c", "\u2000\u2001 spaces"]
    norm = [s for s in norm if nfc(s) != s]

    here = os.path.dirname(os.path.abspath(__file__))
    for name, data in (("corpus.jsonl", corpus), ("normalization.jsonl", norm)):
        with open(os.path.join(here, "data", name), "w", encoding="utf-8", newline="\n") as f:
            for s in data:
                f.write(json.dumps(s, ensure_ascii=False) + "\n")
        print(f"{name}: {len(data)} lines")


if __name__ == "__main__":
    main()
