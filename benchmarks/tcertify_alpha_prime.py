"""
Title: T-CERTIFY's alpha' rule from the selection counts, by simulation
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Mean certified radius of T-CERTIFY with alpha' chosen from the selection counts by several rules, against the grid maximum and CERTIFY, on simulated counts from known class probabilities.
Accelerator: None (CPU)

## What it measures

T-CERTIFY's default (`alpha_prime="selection"`,
`kerasrobust.smoothing.certify.select_alpha_prime`) picks alpha' from the
n0 selection counts alone (so Proposition 1 holds), by forecasting the
radius of every grid value on the selection proportions scaled to n. The
rules compared:

- `0.5/0.0`: the best forecast with the unseen classes sharing 0.5
  pseudo-samples (the rule before this script);
- `0.5/m`: the same, but keep alpha' = alpha (CERTIFY's split) unless the
  best forecast beats its forecast by more than the margin m;
- `0.05/0.0`, `0.0/0.0`: the best forecast with a pseudo-count of 0.05 or
  none;
- `minimax/0.0`: the library's rule: forecast with pseudo-counts 0 and 0.5,
  keep the alpha' whose smaller relative forecast is largest (an
  independent NumPy copy of the rule, on the library's forecasts).

This script draws selection and estimation counts
from known class probabilities (saturated, nearly saturated, spread, two
classes, many classes), computes on the same counts the radius at every
grid value of alpha' (`t_certify_radii`, the library's own implementation)
and the forecasts, and reports, for each margin, the mean radius of the
rule relative to

- `grid`: the maximum over the grid on the estimation counts (the paper's
  literal Algorithm 2, an upper reference without a guarantee), and
- `certify`: CERTIFY (alpha' = alpha).

Radii scale with sigma, so the ratios do not depend on it (sigma = 1).

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

MARGINS = (0.0, 0.02, 0.05, 0.1)
PSEUDO_COUNTS = (0.5, 0.05, 0.0)

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
    "(0.999, 0.001, 0 x 8)": [0.999, 0.001] + [0.0] * 8,
    "(0.99, 0.008, 0.002, 0 x 7)": [0.99, 0.008, 0.002] + [0.0] * 7,
    "(0.95, 0.03, 0.02, 0 x 7)": [0.95, 0.03, 0.02] + [0.0] * 7,
}


#: (pseudo-count, margin) pairs evaluated; (0.5, 0.0) is the rule before;
#: ("minimax", 0.0) the library's rule (`select_alpha_prime`).
RULES = ([(0.5, m) for m in MARGINS] + [(e, 0.0) for e in PSEUDO_COUNTS[1:]]
         + [("minimax", 0.0)])


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

    @tf.function(autograph=False)
    def radii_fn(counts):
        return c.t_certify_radii(
            tf.gather(counts, top, batch_dims=1), c.drop_class(counts, top),
            n_vec, 1.0, alpha, grid, True)

    def radii(counts):
        return radii_fn(tf.constant(counts)).numpy()

    forecasts = {e: radii(c.plug_in_counts(tf.constant(cs), n_vec,
                                          e).numpy())
                 for e in PSEUDO_COUNTS}
    return forecasts, radii(ce)


def choose(forecasts, margin, alpha):
    """A rule on precomputed forecasts: the grid index per row.

    ``forecasts`` is ``{pseudo_count: (trials, G)}``; ``margin`` applies to
    the pseudo-count named by the rule. ``"minimax"``: the index that
    maximizes the smaller of the two relative forecasts (pseudo-counts 0
    and 0.5), an independent NumPy copy of `select_alpha_prime`.
    """
    from kerasrobust.smoothing.certify import GRID_FRACTIONS

    nearest_half = int(np.argmin(np.abs(GRID_FRACTIONS - 0.5)))
    if margin == "minimax":
        a, b = forecasts[0.0], forecasts[0.5]
        best_a = a.max(axis=1, keepdims=True)
        best_b = b.max(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.minimum(np.where(best_a > 0, a / best_a, 1.0),
                             np.where(best_b > 0, b / best_b, 1.0))
        worst = rel.max(axis=1)
        num = rel.shape[1]
        last_best = num - 1 - np.argmax(rel[:, ::-1] == worst[:, None],
                                        axis=1)
        any_forecast = (best_a[:, 0] > 0) | (best_b[:, 0] > 0)
        return np.where(any_forecast, last_best, nearest_half)
    num = forecasts.shape[1]
    best = forecasts.max(axis=1)
    last_best = num - 1 - np.argmax(forecasts[:, ::-1] == best[:, None],
                                    axis=1)
    keep = best <= (1 + margin) * forecasts[:, -1]
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
                index = (choose(forecasts, "minimax", args.alpha)
                         if pseudo == "minimax" else
                         choose(forecasts[pseudo], margin, args.alpha))
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
