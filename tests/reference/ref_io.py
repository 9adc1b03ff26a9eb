"""What the loss reference scripts share: padded float64 tensors and the --inp/--out driver.

A script defines run_case(case) -> dict and calls run_cases(run_case) from its __main__; the
input file holds {"cases": [...]} and the output {"results": [run_case(case), ...]}.
"""
import argparse
import json

import torch

DT = torch.float64


def pad(rows):
    """(B, T) float64 tensor of ragged rows, zero-padded to the longest (at least 1)."""
    t = max([len(x) for x in rows] + [1])
    out = torch.zeros(len(rows), t, dtype=DT)
    for i, x in enumerate(rows):
        out[i, : len(x)] = torch.tensor(x, dtype=DT)
    return out


def run_cases(run_case):
    ap = argparse.ArgumentParser()
    ap.add_argument("--inp", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.inp) as f:
        cases = json.load(f)["cases"]
    with open(args.out, "w") as f:
        json.dump({"results": [run_case(c) for c in cases]}, f)
