"""PyTorch reference for flywheel's on-policy distillation loss (learner/algorithms/opd_loss.h),
written from the formulas of Thinking Machines' on-policy distillation (tinker-cookbook's
importance-sampling loss with a per-token reverse-KL advantage) on padded (B, T) tensors in
float64, with dL/dlogp from autograd.

Input JSON (--inp):  {"cases": [{"options": {...}, "groups": [[completion, ...], ...]}, ...]}
  options:    kl_coef, kl_discount, reward_weight, loss ("importance_sampling" | "ppo"),
              clip_eps_low, clip_eps_high
  completion: reward, logp, logp_old, logp_teacher, mask (lists)
Output JSON (--out): {"results": [{"loss": x, "dlogp": [[...]], "advantages": [[...]],
                                   "teacher_kl": x}]}
Completions are numbered group-major, as in the C++ API.

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import torch

from ref_io import DT, pad, run_cases


def run_case(case):
    opt = case["options"]
    comps, env = [], []
    for group in case["groups"]:
        rewards = torch.tensor([c["reward"] for c in group], dtype=DT)
        centred = rewards - rewards.mean()
        if opt.get("reward_std_norm", False):
            # GRPO's advantage: the unbiased std plus 1e-6; an all-equal group gets exact zeros.
            if len(set(c["reward"] for c in group)) == 1:
                centred = torch.zeros_like(rewards)
            else:
                centred = centred / (torch.std(rewards) + 1e-6)
        for i, c in enumerate(group):
            comps.append(c)
            env.append(float(centred[i]))
    lengths = [len(c["logp"]) for c in comps]
    logp = pad([c["logp"] for c in comps]).requires_grad_(True)
    logp_old = pad([c["logp_old"] for c in comps])
    teacher = pad([c["logp_teacher"] for c in comps])
    mask = (pad([c["mask"] for c in comps]) != 0).to(DT)

    # The advantage is a constant of the sampler's and the teacher's logprobs (no gradient).
    rkl = (logp_old - teacher) * mask
    per_token = -opt["kl_coef"] * rkl
    adv = torch.zeros_like(per_token)
    carry = torch.zeros(len(comps), dtype=DT)
    for t in reversed(range(per_token.shape[1])):
        m = mask[:, t]
        # Discounting runs over valid tokens only: a masked token neither adds nor decays.
        carry = torch.where(m > 0, per_token[:, t] + opt["kl_discount"] * carry, carry)
        adv[:, t] = carry * m
    adv = (adv + opt["reward_weight"] * torch.tensor(env, dtype=DT)[:, None]) * mask

    ratio = torch.exp(torch.clamp(logp - logp_old, min=-20.0, max=20.0))
    if opt["loss"] == "importance_sampling":
        per = -adv * ratio
    else:
        clipped = torch.clamp(ratio, 1 - opt["clip_eps_low"], 1 + opt["clip_eps_high"])
        per = torch.maximum(-adv * ratio, -adv * clipped)
    n = torch.clamp(mask.sum(), min=1)
    loss = (per * mask).sum() / n
    loss.backward()
    return {
        "loss": float(loss),
        "dlogp": [logp.grad[i, :k].tolist() for i, k in enumerate(lengths)],
        "advantages": [adv[i, :k].tolist() for i, k in enumerate(lengths)],
        "teacher_kl": float(rkl.sum() / n),
    }


if __name__ == "__main__":
    run_cases(run_case)
