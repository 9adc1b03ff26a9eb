"""PyTorch reference for flywheel's GRPO loss (learner/grpo_loss.h), written the way verl's
core_algos does it (compute_grpo_outcome_advantage, compute_policy_loss_vanilla, kl_penalty
"low_var_kl", agg_loss), on padded (B, T) tensors in float64, with dL/dlogp from autograd.

Input JSON (--inp):  {"cases": [{"options": {...}, "groups": [[completion, ...], ...]}, ...]}
  options:    norm_by_std, std_eps, clip_eps_low, clip_eps_high, kl_coef, aggregation
              ("token-mean" | "seq-mean-token-mean" | "constant"), constant_normalizer,
              drop_equal_reward_groups, tis_cap, policy_loss ("ppo" | "gspo" | "cispo"),
              dual_clip_c, kl_estimator ("k1" | "k2" | "k3")
  completion: reward, logp, logp_old, mask, and optionally logp_ref, logp_rollout (lists)
Output JSON (--out): {"results": [{"loss": x, "dlogp": [[...] per completion], "advantages": [...]}]}
Completions are numbered group-major, as in the C++ API.

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import torch

from ref_io import DT, pad, run_cases


def advantages(rewards, opt):
    r = torch.tensor(rewards, dtype=DT)
    a = r - r.mean()
    if opt["norm_by_std"]:
        a = a / (torch.std(r) + opt["std_eps"])  # torch.std is unbiased (N - 1), as verl
    return a


def agg_loss(loss_mat, mask, mode, constant):
    if mode == "token-mean":
        return (loss_mat * mask).sum() / torch.clamp(mask.sum(), min=1)
    if mode == "seq-mean-token-mean":
        n = mask.sum(dim=-1)
        seq = (loss_mat * mask).sum(dim=-1) / torch.clamp(n, min=1)
        seq_mask = (n > 0).to(DT)
        return (seq * seq_mask).sum() / torch.clamp(seq_mask.sum(), min=1)
    if mode == "constant":
        return (loss_mat * mask).sum() / constant
    raise ValueError(mode)


def run_case(case):
    opt = case["options"]
    comps, adv = [], []
    for group in case["groups"]:
        rewards = [c["reward"] for c in group]
        a = advantages(rewards, opt)
        dropped = opt["drop_equal_reward_groups"] and len(group) >= 2 and len(set(rewards)) == 1
        for i, c in enumerate(group):
            comps.append((c, dropped))
            adv.append(0.0 if dropped else float(a[i]))
    lengths = [len(c["logp"]) for c, _ in comps]
    logp = pad([c["logp"] for c, _ in comps]).requires_grad_(True)
    logp_old = pad([c["logp_old"] for c, _ in comps])
    # Dropped groups leave the batch: masking them out removes them from every normaliser.
    mask = pad([[0.0] * len(c["mask"]) if d else c["mask"] for c, d in comps])
    mask = (mask != 0).to(DT)
    A = torch.tensor(adv, dtype=DT)[:, None]

    lo, hi = 1 - opt["clip_eps_low"], 1 + opt["clip_eps_high"]
    policy = opt.get("policy_loss", "ppo")
    if policy == "ppo":
        # compute_policy_loss_vanilla with clip_ratio_low / clip_ratio_high and clip_ratio_c.
        log_ratio = torch.clamp(logp - logp_old, min=-20.0, max=20.0)
        ratio = torch.exp(log_ratio)
        l1 = -A * ratio
        l2 = -A * torch.clamp(ratio, lo, hi)
        pg = torch.maximum(l1, l2)
        c = opt.get("dual_clip_c", 0.0)
        if c > 1:
            pg = torch.where(A < 0, torch.minimum(-A * c, pg), pg)
    elif policy == "gspo":
        # compute_policy_loss_gspo (GSPO-token): log s_it = sg(mean log-ratio) + logp - sg(logp).
        n = torch.clamp(mask.sum(dim=-1, keepdim=True), min=1)
        seq = ((logp - logp_old) * mask).sum(dim=-1, keepdim=True) / n
        log_s = torch.clamp(logp - logp.detach() + seq.detach(), max=10.0)
        s_it = torch.exp(log_s)
        pg = torch.maximum(-A * s_it, -A * torch.clamp(s_it, lo, hi))
    else:
        # CISPO: the clipped importance weight is detached; the gradient flows through logp.
        ratio = torch.exp(torch.clamp(logp - logp_old, min=-20.0, max=20.0))
        pg = -torch.clamp(ratio, lo, hi).detach() * A * logp
    if opt["tis_cap"] > 0:
        roll = pad([c["logp_rollout"] for c, _ in comps])
        w = torch.clamp(torch.exp(torch.clamp(logp_old - roll, -20.0, 20.0)), max=opt["tis_cap"])
        pg = pg * w.detach()
    loss = agg_loss(pg, mask, opt["aggregation"], opt["constant_normalizer"])
    if opt["kl_coef"] > 0:
        ref = pad([c["logp_ref"] for c, _ in comps])
        estimator = opt.get("kl_estimator", "k3")
        if estimator == "k1":
            kl = logp - ref
        elif estimator == "k2":
            kl = 0.5 * (logp - ref) ** 2
        else:
            d = torch.clamp(ref - logp, min=-20.0, max=20.0)  # verl kl_penalty "low_var_kl"
            kl = torch.clamp(torch.exp(d) - d - 1, min=-10.0, max=10.0)
        loss = loss + opt["kl_coef"] * agg_loss(kl, mask, opt["aggregation"],
                                                opt["constant_normalizer"])
    loss.backward()
    grad = logp.grad
    return {
        "loss": float(loss),
        "dlogp": [grad[i, :n].tolist() for i, n in enumerate(lengths)],
        "advantages": adv,
    }


if __name__ == "__main__":
    run_cases(run_case)
