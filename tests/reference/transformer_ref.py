"""PyTorch reference for flywheel's transformer (Llama / Qwen2 / Qwen3 semantics of Hugging Face
transformers, written out here so the test needs only torch).

Reads a flywheel model directory and a batch (JSON list of token-id lists), and writes to --out a
safetensors file with, in float32:
  logits            (N, V) every row of every sequence, sequences concatenated
  logprobs, entropy (M)    per target token (M = sum of len - 1), sequences concatenated
  loss              (1)    mean of -logprobs
  grad.<name>       every parameter's gradient of loss
  adamw.loss        (steps) loss before each AdamW step (with grad clipping)
  adamw.<name>      every parameter after the steps
Everything is computed in --dtype (float32 by default; float64 gives the exact reference that
tolerances are reasoned against).

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def inverse_frequencies(dim, theta, scaling, max_pos):
    """theta^(-2i/dim) in float32, rescaled per config.json's rope_scaling (Hugging Face's formulas
    for linear, llama3 and yarn, written out here). Returns (inv_freq, attention_factor)."""
    pos_freqs = theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)
    inv = 1.0 / pos_freqs
    kind = (scaling or {}).get("rope_type", (scaling or {}).get("type", "default"))
    if kind == "default":
        return inv, 1.0
    factor = scaling.get("factor")
    if kind == "linear":
        return inv / factor, 1.0
    if kind == "llama3":
        ctx = scaling["original_max_position_embeddings"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > ctx / low, inv / factor, inv)
        smooth = (ctx / wavelen - low) / (high - low)
        blended = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= ctx / high) & (wavelen <= ctx / low)
        return torch.where(medium, blended, scaled), 1.0
    if kind == "yarn":
        ctx = scaling.get("original_max_position_embeddings") or max_pos
        if factor is None:
            factor = max_pos / ctx

        def dim_of(rotations):  # the dimension whose frequency turns `rotations` times over ctx
            return dim * math.log(ctx / (rotations * 2 * math.pi)) / (2 * math.log(theta))

        lo, hi = dim_of(scaling.get("beta_fast") or 32), dim_of(scaling.get("beta_slow") or 1)
        if scaling.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        ramp = ((torch.arange(dim // 2, dtype=torch.float32) - lo) / (hi - lo)).clamp(0, 1)
        keep = 1 - ramp
        inv = (1.0 / (factor * pos_freqs)) * (1 - keep) + inv * keep

        def mscale(s, m=1.0):
            return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0

        att = scaling.get("attention_factor")
        if att is None:
            m, m_all = scaling.get("mscale"), scaling.get("mscale_all_dim")
            att = mscale(factor, m) / mscale(factor, m_all) if m and m_all else mscale(factor)
        return inv, att
    raise ValueError(f"rope_scaling type {kind} not in the reference")


def rope_tables(max_pos, dim, theta, scaling, dtype):
    # As Hugging Face forms them: inverse frequencies and angles in float32; cos/sin of that
    # float32 angle (flywheel's RopeTable takes them in double, within 1 ulp of torch's float),
    # times yarn's attention factor.
    inv, att = inverse_frequencies(dim, theta, scaling, max_pos)
    ang = torch.arange(max_pos, dtype=torch.float32)[:, None] * inv[None, :]
    ang = ang.to(torch.float64)
    cos, sin = torch.cos(ang).to(dtype) * att, torch.sin(ang).to(dtype) * att
    return torch.cat([cos, cos], -1), torch.cat([sin, sin], -1)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Model:
    def __init__(self, cfg, params):
        self.cfg = cfg
        self.p = params
        self.H = cfg["num_attention_heads"]
        self.KVH = cfg.get("num_key_value_heads", self.H)
        self.D = cfg.get("head_dim", cfg["hidden_size"] // self.H)
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.qk_norm = cfg.get("model_type") == "qwen3"
        self.bias = cfg.get("attention_bias", cfg.get("model_type") == "qwen2")
        self.tied = cfg.get("tie_word_embeddings", False)
        dtype = next(iter(params.values())).dtype
        self.cos, self.sin = rope_tables(cfg.get("max_position_embeddings", 2048), self.D,
                                         cfg.get("rope_theta", 10000.0), cfg.get("rope_scaling"),
                                         dtype)

    def logits(self, tokens):
        p, T, H, KVH, D = self.p, len(tokens), self.H, self.KVH, self.D
        x = p["model.embed_tokens.weight"][torch.tensor(tokens)]
        cos, sin = self.cos[:T][:, None, :], self.sin[:T][:, None, :]
        mask = torch.full((T, T), float("-inf"), dtype=x.dtype).triu(1)
        for l in range(self.cfg["num_hidden_layers"]):
            pre = f"model.layers.{l}."
            h = rms_norm(x, p[pre + "input_layernorm.weight"], self.eps)
            proj = {}
            for name in ("q", "k", "v"):
                w = p[pre + f"self_attn.{name}_proj.weight"]
                y = h @ w.T
                if self.bias:
                    y = y + p[pre + f"self_attn.{name}_proj.bias"]
                proj[name] = y.view(T, -1, D)
            q, k, v = proj["q"], proj["k"], proj["v"]
            if self.qk_norm:
                q = rms_norm(q, p[pre + "self_attn.q_norm.weight"], self.eps)
                k = rms_norm(k, p[pre + "self_attn.k_norm.weight"], self.eps)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            rep = H // KVH
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            att = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D) + mask
            att = torch.softmax(att, -1)
            o = torch.einsum("hts,shd->thd", att, v).reshape(T, H * D)
            x = x + o @ p[pre + "self_attn.o_proj.weight"].T
            h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], self.eps)
            g = h @ p[pre + "mlp.gate_proj.weight"].T
            u = h @ p[pre + "mlp.up_proj.weight"].T
            x = x + (torch.nn.functional.silu(g) * u) @ p[pre + "mlp.down_proj.weight"].T
        x = rms_norm(x, p["model.norm.weight"], self.eps)
        head = p["model.embed_tokens.weight"] if self.tied else p["lm_head.weight"]
        return x @ head.T

    def forward(self, seqs):
        all_logits, lps, ents = [], [], []
        for s in seqs:
            lg = self.logits(s)
            logp = torch.log_softmax(lg, -1)
            all_logits.append(lg)
            tgt = torch.tensor(s[1:], dtype=torch.long)
            lps.append(logp[:-1].gather(1, tgt[:, None])[:, 0])
            ents.append(-(logp.exp() * logp).sum(-1)[:-1])
        lp = torch.cat(lps)
        return torch.cat(all_logits), lp, torch.cat(ents), -lp.mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--adamw-steps", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.95)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    raw = safetensors_np.load(os.path.join(args.model, "model.safetensors"))
    params = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in raw.items()}
    with open(args.batch) as f:
        seqs = json.load(f)
    model = Model(cfg, params)
    out = {}
    logits, lp, ent, loss = model.forward(seqs)
    loss.backward()
    out["logits"] = logits.detach().numpy()
    out["logprobs"] = lp.detach().numpy()
    out["entropy"] = ent.detach().numpy()
    out["loss"] = np.array([loss.item()])
    for name, t in params.items():
        out["grad." + name] = t.grad.numpy().copy()
    opt = torch.optim.AdamW(list(params.values()), lr=args.lr, betas=(args.beta1, args.beta2),
                            eps=args.eps, weight_decay=args.weight_decay)
    losses = []
    for _ in range(args.adamw_steps):
        opt.zero_grad()
        loss = model.forward(seqs)[3]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), args.max_grad_norm)
        opt.step()
        losses.append(loss.item())
    out["adamw.loss"] = np.array(losses)
    for name, t in params.items():
        out["adamw." + name] = t.detach().numpy().copy()
    safetensors_np.save(args.out, out)


if __name__ == "__main__":
    main()
