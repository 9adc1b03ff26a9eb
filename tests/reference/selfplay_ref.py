"""Reference for flywheel's self-play round numbers (learner/algorithms/selfplay_rewards.h),
transcribed from SGS ("Scaling Self-Play with Self-Guidance", sec 4.1 and its released code):
the solver's REINFORCE-1/2 gate, the 70th-percentile "too easy" cut over the conjectures' solve
rates in (0, 1), R = R_solve * R_guide, the min-max normalisation over the kept conjectures, and
the DAPO-style length penalty that replaces a weight when negative. numpy's percentile is the
reference for the cut.

Input JSON (--inp): {"cases": [{"options": {max_solve_rate, too_easy_percentile,
  length_penalty_start}, "solver_rates": [...], "solve_rates": [...], "guide": [...],
  "length_fraction": [...]}]}
Output JSON (--out): {"results": [{"train_solver": [bool...], "threshold": x,
  "kept": [bool...], "r": [...], "weight": [...]}]}

Run with /usr/bin/python3 (Debian's python3-numpy).
"""
import numpy as np

from ref_io import run_cases


def length_penalty(frac, start):
    if frac <= start:
        return 0.0
    return -min(1.0, (frac - start) / (1.0 - start))


def run_case(case):
    opt = case["options"]
    train_solver = [0 < s <= opt["max_solve_rate"] for s in case["solver_rates"]]
    rates = np.array(case["solve_rates"], dtype=np.float64)
    inner = rates[(rates > 0) & (rates < 1)]
    threshold = float(np.percentile(inner, 100 * opt["too_easy_percentile"])) if len(inner) else -1.0
    kept = [bool((0 < s < 1) and s <= threshold) for s in rates]
    r = [float((1 - s) * g) if k else 0.0 for s, g, k in zip(rates, case["guide"], kept)]
    kept_r = [x for x, k in zip(r, kept) if k]
    lo, hi = (min(kept_r), max(kept_r)) if kept_r else (0.0, 0.0)
    weight = []
    for x, k, frac in zip(r, kept, case["length_fraction"]):
        w = ((x - lo) / (hi - lo) if hi > lo else 1.0) if k else 0.0
        p = length_penalty(frac, opt["length_penalty_start"])
        weight.append(p if p < 0 else w)
    return {"train_solver": train_solver, "threshold": threshold, "kept": kept, "r": r,
            "weight": weight}


if __name__ == "__main__":
    run_cases(run_case)
