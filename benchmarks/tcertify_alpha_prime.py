"""
Title: T-CERTIFY's alpha' rule: the margin of the "selection" rule, by simulation
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Mean certified radius of T-CERTIFY with alpha' chosen from the selection counts, for several margins, against the grid maximum and CERTIFY, on simulated counts from known class probabilities.
Accelerator: None (CPU)

## What it measures

T-CERTIFY's default (`alpha_prime="selection"`,
`kerasrobust.smoothing.certify.select_alpha_prime`) picks alpha' from the
n0 selection counts alone (so Proposition 1 holds): it forecasts the radius
of every grid value on the selection proportions and keeps the largest grid
value (alpha' = alpha, CERTIFY's split) unless another forecast is larger
by more than a margin. This script draws selection and estimation counts
from known class probabilities (saturated, nearly saturated, spread, two
classes, many classes), computes on the same counts the radius at every
grid value of alpha' (`t_certify_radii`, the library's own implementation)
and the forecasts, and reports, for each margin, the mean radius of the
rule relative to

- `grid`: the maximum over the grid on the estimation counts (the paper's
  literal Algorithm 2, an upper reference without a guarantee), and
- `certify`: CERTIFY (alpha' = alpha).

Radii scale with sigma, so the ratios do not depend on it (sigma = 1).
A margin of 0 is the rule before this change.

## How to run

From the repository root:

```
python benchmarks/tcertify_alpha_prime.py                      # ~5 min
python benchmarks/tcertify_alpha_prime.py --trials 100 --n 10000
```

Writes `benchmarks/results/tcertify_alpha_prime.json`.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import comma_list, load_average, machine_info  # noqa: E402,E501

MARGINS = (0.0, 0.01, 0.02, 0.05, 0.1)
PSEUDO_COUNTS = (0.5, 0.2, 0.1, 0.05, 0.02)

#: name: class probabilities (top class first).
SCENARIOS = {
    "saturated, K=10": [1.0] + [0.0] * 9,
    "p_A=0.9999, K=10": [0.9999, 0.0001] + [0.0] * 8,
    "p_A=0.999, K=10": [0.999] + [0.001 / 9] * 9,
    "p_A=0.995, one runner-up": [0.995, 0.005] + [0.0] * 8,
    "p_A=0.99, K=10": [0.99] + [0.01 / 9] * 9,
    "p_A=0.97, one runner-up": [0.97, 0.03] + [0.0] * 8,
    "p_A=0.9, K=10": [0.9] + [0.1 / 9] * 9,
    "p_A=0.8, 2 classes": [0.8, 0.2],
    "(0.7, 0.2, 0.1)": [0.7, 0.2, 0.1],
    "(0.6, 0.1 x 4)": [0.6, 0.1, 0.1, 0.1, 0.1],
    "(0.6, 0.2, 0.1, 0.1, 0 x 6)": [0.6, 0.2, 0.1, 0.1] + [0.0] * 6,
    "(0.7, 0.2, 0.1/98 x 98)": [0.7, 0.2] + [0.1 / 98] * 98,
}


#: (pseudo-count, margin) pairs evaluated; (0.5, 0.0) is the rule before.
RULES = [(e, m) for e in PSEUDO_COUNTS for m in MARGINS]


def simulate(p, n0, n, alpha, trials, rng):
    """``({pseudo_count: forecasts}, radii)``, each ``(trials, G)``, for
    the default grid."""
    import tensorflow as tf

    from kerasrobust.smoothing import certify as c

    p = np.asarray(p, np.float64)
    cs = rng.multinomial(n0, p, size=trials).astype(np.float64)
    ce = rng.multinomial(n, p, size=trials).astype(np.float64)
    grid = tf.constant(alpha * c.GRID_FRACTIONS)[tf.newaxis, :]
    n_vec = tf.fill([trials], tf.constant(float(n), tf.float64))
    top = c.first_argmax(tf.constant(cs))

    def radii(counts):
        counts = tf.constant(counts)
        return c.t_certify_radii(
            tf.gather(counts, top, batch_dims=1), c.drop_class(counts, top),
            n_vec, 1.0, alpha, grid, True).numpy()

    forecasts = {e: radii(c.plug_in_counts(tf.constant(cs), n_vec,
                                          e).numpy())
                 for e in PSEUDO_COUNTS}
    return forecasts, radii(ce)


def choose(forecasts, margin, alpha):
    """The rule of `select_alpha_prime` on precomputed forecasts (index)."""
    from kerasrobust.smoothing.certify import GRID_FRACTIONS

    num = forecasts.shape[1]
    best = forecasts.max(axis=1)
    last_best = num - 1 - np.argmax(forecasts[:, ::-1] == best[:, None],
                                    axis=1)
    keep = best <= (1 + margin) * forecasts[:, -1]
    nearest_half = int(np.argmin(np.abs(GRID_FRACTIONS - 0.5)))
    return np.where(best > 0, np.where(keep, num - 1, last_best),
                    nearest_half)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--n", type=comma_list, default=["10000", "100000"])
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(
        Path(__file__).with_name("results") / "tcertify_alpha_prime.json"))
    args = parser.parse_args(argv)
    began = time.time()
    load_before = load_average()
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in map(int, args.n):
        for name, p in SCENARIOS.items():
            forecasts, radii = simulate(p, args.n0, n, args.alpha,
                                        args.trials, rng)
            grid_mean = radii.max(axis=1).mean()
            certify_mean = radii[:, -1].mean()
            row = {"scenario": name, "n": n, "grid": grid_mean,
                   "certify": certify_mean, "margins": {}}
            for pseudo, margin in RULES:
                index = choose(forecasts[pseudo], margin, args.alpha)
                mean = radii[np.arange(len(index)), index].mean()
                row["margins"][f"{pseudo}/{margin}"] = {
                    "mean_radius": mean,
                    "vs_grid": mean / grid_mean if grid_mean else 1.0,
                    "vs_certify": (mean / certify_mean if certify_mean
                                   else float("inf")),
                    "share_alpha": float(np.mean(index == radii.shape[1] - 1)),
                }
            rows.append(row)
            print(f"n={n:>6} {name:<30} grid {grid_mean:.4f} certify "
                  f"{certify_mean:.4f} | " + " ".join(
                      f"{k}:{v['vs_grid']:.4f}"
                      for k, v in row["margins"].items()), flush=True)
    summary = {}
    for pseudo, margin in RULES:
        key = f"{pseudo}/{margin}"
        vs_grid = [r["margins"][key]["vs_grid"] for r in rows]
        vs_certify = [r["margins"][key]["vs_certify"] for r in rows]
        summary[key] = {"worst_vs_grid": min(vs_grid),
                                "mean_vs_grid": float(np.mean(vs_grid)),
                                "worst_vs_certify": min(vs_certify)}
        print(f"pseudo-count {pseudo:<5} margin {margin:<5}: worst vs grid {min(vs_grid):.4f}, mean vs "
              f"grid {np.mean(vs_grid):.4f}, worst vs certify "
              f"{min(vs_certify):.4f}")
    result = {"args": vars(args), "rows": rows, "summary": summary,
              "machine": machine_info(), "load_before": load_before,
              "load_after": load_average(),
              "wall_s": time.time() - began}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} in {time.time() - began:.0f} s")


if __name__ == "__main__":
    main()
