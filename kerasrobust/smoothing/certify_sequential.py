"""Sequential CERTIFY: stop sampling once the certificate at a radius is decided.

CERTIFY (Cohen, Rosenfeld and Kolter 2019, Algorithm "CERTIFY") draws a fixed
``n`` of noisy copies per input. Most evaluations only ask, per input, "is g
certified at radius r around x?" (certified accuracy at r). This module
answers that question with as few draws as the data allow, keeping CERTIFY's
``1 - alpha`` guarantee:

1. Selection, as CERTIFY: ``n0`` draws, ``cAHat`` = the top class.
2. Estimation in growing blocks: the cumulative number of estimation draws is
   checked at the *looks* ``n_1 < n_2 < ... < n_K = n_max`` (geometric,
   `look_schedule`). At look k the draws of ``cAHat`` so far, ``S_k`` of
   ``n_k``, give a lower and an upper confidence bound on
   ``p_A = P(f(x + delta) = cAHat)`` (`sequence_bounds`); the running maximum
   of the lower bounds and minimum of the upper bounds form the confidence
   sequence (`update_sequence`).
3. Per input and radius r (threshold ``t = Phi(r / sigma)``): *certified*
   when the lower sequence exceeds ``t``, *given up* when the upper sequence
   falls below ``t`` or when no later look could certify it even if every
   remaining draw went to ``cAHat`` (`reachable_lower`); the input stops when every radius asked for is decided
   (`decide`), or at ``n_max`` (undecided radii are not certified).

Confidence sequences (``scheme``):

* ``"union"`` (default): Clopper-Pearson bounds at look k at the one-sided
  level ``alpha_k`` (Clopper and Pearson 1934), with ``sum_k alpha_k <=
  alpha`` (`look_alphas`). Level: the looks are fixed in advance (they depend
  on ``n_max``, ``first`` and ``growth`` only), and ``S_k ~ Bin(n_k, p_A)``
  at every look, so by a union bound over the K looks
  ``P(exists k: L_k > p_A) <= sum_k P(L_k > p_A) <= sum_k alpha_k <= alpha``.
  The event bounds every look at once, so it holds at any stopping time that
  only stops at looks (the rule here), and the running maximum of the L_k is
  a valid lower bound too (it exceeds ``p_A`` only if some L_k does).
  ``split="final_half"`` (default): ``alpha_K = alpha / 2`` at the last look
  ``n_max`` and ``alpha / (2 (K - 1))`` at each earlier one;
  ``split="uniform"``: ``alpha_k = alpha / K`` (both possible because K is
  known from ``n_max``); ``split="pi2"``: ``alpha_k = alpha * 6 / (pi^2 k^2)``,
  which needs no ``n_max`` (sums to ``alpha`` over infinitely many looks).
* ``"mixture"``: Robbins' beta-binomial mixture martingale (Robbins 1970;
  Howard, Ramdas, McAuliffe and Sekhon 2021, "Time-uniform, nonparametric,
  nonasymptotic confidence sequences", Ann. Statist., Sec. 3 conjugate
  mixtures): for each p, ``M_n(p) = B(a + S_n, b + n - S_n) / (B(a, b)
  p^S_n (1 - p)^(n - S_n))`` is the likelihood ratio of a Beta(a, b) mixture
  against p, a non-negative martingale with ``M_0 = 1`` under p; by Ville's
  inequality ``P(exists n: M_n(p_A) >= 1 / alpha) <= alpha``, so
  ``{p : M_n(p) < 1 / alpha}`` (an interval: ``log M_n`` is convex in p) is a
  two-sided confidence sequence valid at *every* n, hence at any stopping
  time. Prior ``a = b = 1/2`` (Jeffreys).

Which one, measured (`simulate_sequential` in ``python
benchmarks/certify_sequential.py --part simulate``, seed 0; figures in
``benchmarks/results/certify_sequential.json`` and the README): 20,000
simulated inputs per case, ``n_max = 100,000``, ``alpha = 0.001``, first look
100, growth 2. All schemes stop easy inputs (true radius 4r) at or right
after the first look (100 to 116 draws; fixed-n CERTIFY uses 100,000). Near
the threshold (true radius uniform in [0.9r, 1.1r]) the inputs run to about
``n_max`` and the scheme decides how much of fixed-n CERTIFY's power at ``n =
n_max`` is kept: at ``r = sigma / 4`` fixed-n CERTIFY certifies 25.3 %,
``"union"`` with ``split="final_half"`` 23.7 %, ``"uniform"`` 20.1 %,
``"pi2"`` 14.6 %, ``"mixture"`` 9.8 % (at ``r = sigma``: 42.2 / 41.9 / 40.8
/ 39.1 / 37.6 %). ``"final_half"`` spends ``alpha / 2`` on the last look
(``n_max``, where fixed-n CERTIFY spends all of alpha) and splits the other
half evenly over the earlier looks; on inputs at 2r it needs 6-10 % more
draws than ``"uniform"`` (e.g. 631 vs 596 at ``r = sigma / 4``) and up to
1.3x those of ``"pi2"`` (208 vs 159 at ``r = sigma / 2``). So ``scheme=
"union", split="final_half"`` is the default. The mixture CS is valid at
every n, but its bound is wider than a Clopper-Pearson bound at the n where
the decisions happen, and it needed the most draws in every case.

Several radii (a certified-accuracy curve): one confidence sequence for
``p_A`` serves all radii simultaneously with the same alpha, no split over
radii. The bad event is "the lower sequence exceeds ``p_A`` at some look",
and it does not mention the radius; outside that event (probability at least
``1 - alpha``), every radius r with ``L > Phi(r / sigma)`` satisfies ``p_A >
Phi(r / sigma)``, i.e. g's radius ``sigma Phi^-1(p_A)`` exceeds r (Cohen et
al. Theorem 1 with ``pB = 1 - pA``), and ``p_A > 1/2`` implies ``cAHat =
g(x)``. The stopping time may depend on all radii; the sequence is uniform
over looks, so that is allowed. The reported ``radius_lower = sigma
Phi^-1(L)`` at the stop is a valid CERTIFY-style radius on the same event.

The upper sequence only decides when to give up: a wrong give-up costs power
(an input that fixed-n CERTIFY could certify is not), never validity. It uses
the same ``alpha_k`` (``"union"``) or is the upper end of the same two-sided
CS (``"mixture"``).
"""

import dataclasses
import math
import time

import keras
import numpy as np
from scipy import special

from kerasrobust._validation import check_choice, check_number
from kerasrobust.smoothing import sampling
from kerasrobust.smoothing.bounds import (
    clopper_pearson_lower,
    clopper_pearson_upper,
)

SCHEMES = ("union", "mixture")
SPLITS = ("uniform", "final_half", "pi2")
DEFAULT_FIRST = 100
DEFAULT_GROWTH = 2.0
# Jeffreys prior of the beta-binomial mixture ("mixture" scheme).
MIXTURE_PRIOR = (0.5, 0.5)
_BISECTION_STEPS = 60

CERTIFIED, UNDECIDED, GIVEN_UP = 1, 0, -1


# ---------------------------------------------------------------------------
# Argument checks (before any sampling)
# ---------------------------------------------------------------------------

def check_radii(radius):
    """``radius`` (a number or a sequence) as a float64 array ``(R,)`` of
    radii > 0, and whether a single number was given."""
    scalar = np.ndim(radius) == 0
    values = [radius] if scalar else list(np.asarray(radius).ravel())
    if not values:
        raise ValueError("`radius` must hold at least one radius > 0, got "
                         "an empty sequence.")
    radii = np.array([check_number("radius", float(r) if isinstance(
        r, np.floating) else (int(r) if isinstance(r, np.integer) else r),
        low=0, low_open=True) for r in values], np.float64)
    return radii, scalar


def check_arguments(radius, n_max, alpha, n0, batch_size, first, growth,
                    scheme, split):
    """Checks every argument of `certify_sequential`; returns them cleaned.

    Raises ValueError/TypeError naming the parameter, the value and what is
    allowed: radius <= 0, n_max < 1, n_max < n0, batch_size < 1, alpha not in
    (0, 1), first < 1, growth <= 1, unknown scheme or split.
    """
    radii, scalar = check_radii(radius)
    n_max = check_number("n_max", n_max, low=1, integer=True)
    alpha = check_number("alpha", alpha, low=0, high=1, low_open=True,
                         high_open=True)
    n0 = check_number("n0", n0, low=1, integer=True)
    if n_max < n0:
        raise ValueError(
            f"`n_max` must be >= `n0` (the selection draws), got n_max="
            f"{n_max} < n0={n0}.")
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    first = check_number("first", first, low=1, integer=True)
    growth = check_number("growth", growth, low=1, low_open=True)
    check_choice("scheme", scheme, SCHEMES)
    check_choice("split", split, SPLITS)
    return radii, scalar, n_max, alpha, n0, batch_size, first, growth


# ---------------------------------------------------------------------------
# The pure statistics (functions of counts)
# ---------------------------------------------------------------------------

def look_schedule(n_max, first=DEFAULT_FIRST, growth=DEFAULT_GROWTH):
    """The cumulative estimation draws at which the rule looks: int64 ``(K,)``.

    ``n_k = ceil(first * growth^(k-1))`` while below ``n_max``, then
    ``n_max`` (so the last look is always ``n_max``). Fixed in advance: it
    depends on the arguments only, never on the data.
    """
    n_max = check_number("n_max", n_max, low=1, integer=True)
    first = check_number("first", first, low=1, integer=True)
    growth = check_number("growth", growth, low=1, low_open=True)
    looks = []
    k = 0
    while True:
        n_k = math.ceil(first * growth ** k)
        if n_k >= n_max:
            break
        if not looks or n_k > looks[-1]:
            looks.append(n_k)
        k += 1
    looks.append(n_max)
    return np.array(looks, np.int64)


def look_alphas(alpha, num_looks, split="final_half"):
    """One-sided error spent at each look, float64 ``(num_looks,)``, summing
    to at most ``alpha`` ("union" scheme).

    ``"final_half"``: ``alpha / 2`` at the last look, ``alpha / (2 (K -
    1))`` at the others (all of alpha when K = 1). ``"uniform"``: ``alpha /
    K``. ``"pi2"``: ``alpha * 6 / (pi^2 k^2)``, k =
    1, 2, ... (sums to ``alpha`` over all k >= 1, so to less over K looks).
    """
    alpha = check_number("alpha", alpha, low=0, high=1, low_open=True,
                         high_open=True)
    num_looks = check_number("num_looks", num_looks, low=1, integer=True)
    check_choice("split", split, SPLITS)
    if split == "uniform":
        return np.full(num_looks, alpha / num_looks)
    if split == "final_half":
        if num_looks == 1:
            return np.full(1, alpha)
        out = np.full(num_looks, alpha / (2 * (num_looks - 1)))
        out[-1] = alpha / 2
        return out
    k = np.arange(1, num_looks + 1, dtype=np.float64)
    return alpha * 6.0 / (np.pi ** 2 * k ** 2)


def _mixture_log_m(s, n, p, a, b):
    """``log M_n(p)`` of the beta-binomial mixture (vectorized)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (special.betaln(a + s, b + n - s) - special.betaln(a, b)
                - special.xlogy(s, p) - special.xlog1py(n - s, -p))


def mixture_bounds(successes, n, alpha, prior=MIXTURE_PRIOR):
    """Ends of the beta-binomial mixture CS ``{p : M_n(p) < 1/alpha}``.

    Vectorized bisection on both sides of ``p_hat = S / n`` (where ``log
    M_n`` is minimal); the returned lower end is never above, and the upper
    end never below, the exact boundary (bisection keeps the outer point).
    Returns float64 arrays ``(lower, upper)``.
    """
    s = np.asarray(successes, np.float64)
    n = np.broadcast_to(np.asarray(n, np.float64), s.shape)
    a, b = prior
    level = math.log(1.0 / alpha)
    p_hat = s / n
    # M_n(p_hat) <= 1 < 1/alpha (p_hat maximizes the likelihood), so p_hat
    # is always inside. Lower end: log M decreases on (0, p_hat].
    lo = np.zeros_like(s)
    hi = p_hat.copy()
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        out = _mixture_log_m(s, n, mid, a, b) >= level
        lo = np.where(out, mid, lo)
        hi = np.where(out, hi, mid)
    lower = np.where(s > 0, lo, 0.0)
    # Upper end: log M increases on [p_hat, 1).
    lo2 = p_hat.copy()
    hi2 = np.ones_like(s)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo2 + hi2)
        out = _mixture_log_m(s, n, mid, a, b) >= level
        hi2 = np.where(out, mid, hi2)
        lo2 = np.where(out, lo2, mid)
    upper = np.where(s < n, hi2, 1.0)
    return lower, upper


def sequence_bounds(successes, look, looks, alpha, scheme="union",
                    split="final_half"):
    """Lower and upper confidence bounds on ``p_A`` at look ``look``.

    Args:
        successes: int array, draws of ``cAHat`` among the first
            ``looks[look]`` estimation draws of each input.
        look: 0-based index of the look.
        looks: the schedule (`look_schedule`).
        alpha: the total error of the confidence sequence.
        scheme, split: see the module docstring.

    Returns:
        float64 arrays ``(lower, upper)`` of the shape of ``successes``.
    """
    n_k = int(looks[look])
    s = np.asarray(successes, np.int64)
    if scheme == "union":
        a_k = float(look_alphas(alpha, len(looks), split)[look])
        return (np.asarray(clopper_pearson_lower(s, n_k, a_k), np.float64),
                np.asarray(clopper_pearson_upper(s, n_k, a_k), np.float64))
    return mixture_bounds(s, n_k, alpha)


def update_sequence(lower, upper, new_lower, new_upper):
    """The running intersection of the confidence intervals."""
    return np.maximum(lower, new_lower), np.minimum(upper, new_upper)


def reachable_lower(successes, look, looks, alpha, scheme="union",
                    split="final_half"):
    """The largest lower bound any later look could still give.

    If every remaining draw went to ``cAHat``, look ``j >= look`` would see
    ``S + n_j - n_look`` successes of ``n_j``; the lower bound is
    increasing in the successes, so no future lower bound exceeds the
    maximum over j of those bounds (``"union"``: every remaining look;
    ``"mixture"``: the last look, where the all-success bound is largest).
    A radius whose threshold is at or above it can never be certified:
    giving it up now (curtailment) loses nothing, and giving up never
    affects the guarantee. Without this, a radius beyond what ``n_max`` can
    certify (e.g. ``Phi(r / sigma) > (alpha / 2) ** (1 / n_max)``) would
    keep confident inputs sampling to ``n_max``.
    """
    s = np.asarray(successes, np.int64)
    later = (range(look, len(looks)) if scheme == "union"
             else [len(looks) - 1])
    best = np.zeros(s.shape)
    for j in later:
        hypothetical = s + int(looks[j] - looks[look])
        best = np.maximum(best, sequence_bounds(
            hypothetical, j, looks, alpha, scheme, split)[0])
    return best


def decide(lower, upper, thresholds, reachable=None):
    """Per input and radius: ``CERTIFIED`` (1) if ``lower > t``, ``GIVEN_UP``
    (-1) if ``upper < t`` or ``reachable <= t`` (`reachable_lower`), else
    ``UNDECIDED`` (0). Shapes: ``lower, upper, reachable`` ``(N,)``,
    ``thresholds`` ``(R,)`` -> int8 ``(N, R)``."""
    lower = np.asarray(lower, np.float64)[:, None]
    upper = np.asarray(upper, np.float64)[:, None]
    t = np.asarray(thresholds, np.float64)[None, :]
    out = np.zeros(np.broadcast_shapes(lower.shape, t.shape), np.int8)
    out[lower > t] = CERTIFIED
    out[upper < t] = GIVEN_UP
    if reachable is not None:
        reachable = np.asarray(reachable, np.float64)[:, None]
        out[(reachable <= t) & (lower <= t)] = GIVEN_UP
    return out


def thresholds_for(radii, sigma):
    """``Phi(r / sigma)``: the smallest ``p_A`` certified at radius r."""
    return special.ndtr(np.asarray(radii, np.float64) / float(sigma))


def run_looks(draw, num_inputs, thresholds, looks, alpha, scheme="union",
              split="final_half", look_alpha=None, on_look=None):
    """The stopping rule over the looks ``looks`` (`look_schedule`), one
    loop for simulated streams (`simulate_sequential`) and real sampling
    (`certify_sequential`).

    At look k every still-undecided input draws ``n_k - n_{k-1}`` more
    samples: ``draw(idx, start, num)`` returns, for the inputs ``idx``, how
    many of their draws ``[start, start + num)`` went to the candidate class.
    The confidence sequence (`sequence_bounds`, or per-look Clopper-Pearson
    at ``look_alpha[k]`` when given) is updated and `decide` settles each
    radius; an input stops once every radius is decided. ``on_look(active)``
    is called after each look.

    Returns ``decision`` int8 ``(N, R)`` (``UNDECIDED`` where ``n_max`` was
    reached first), ``num_samples``, ``lower``, ``upper`` ``(N,)``.
    """
    if look_alpha is not None:
        look_alpha = np.broadcast_to(np.asarray(look_alpha, np.float64),
                                     looks.shape)
    successes = np.zeros(num_inputs, np.int64)
    used = np.zeros(num_inputs, np.int64)
    lower = np.zeros(num_inputs)
    upper = np.ones(num_inputs)
    decision = np.zeros((num_inputs, len(thresholds)), np.int8)
    active = np.ones(num_inputs, bool)
    previous = 0
    for k, n_k in enumerate(looks):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        successes[idx] += draw(idx, int(previous), int(n_k - previous))
        used[idx] = n_k
        previous = n_k
        reach = None
        if look_alpha is not None:
            new_lo = np.asarray(clopper_pearson_lower(
                successes[idx], int(n_k), look_alpha[k]), np.float64)
            new_up = np.asarray(clopper_pearson_upper(
                successes[idx], int(n_k), look_alpha[k]), np.float64)
        else:
            new_lo, new_up = sequence_bounds(successes[idx], k, looks, alpha,
                                             scheme, split)
            reach = reachable_lower(successes[idx], k, looks, alpha, scheme,
                                    split)
        lower[idx], upper[idx] = update_sequence(lower[idx], upper[idx],
                                                 new_lo, new_up)
        decision[idx] = decide(lower[idx], upper[idx], thresholds, reach)
        active[idx] = (decision[idx] == UNDECIDED).any(axis=1)
        if on_look is not None:
            on_look(active)
    return decision, used, lower, upper


def simulate_sequential(p, thresholds, n_max, alpha, rng,
                        first=DEFAULT_FIRST, growth=DEFAULT_GROWTH,
                        scheme="union", split="final_half", look_alpha=None):
    """Runs the stopping rule on simulated Bernoulli(p) streams (NumPy).

    ``p`` ``(N,)`` are the success probabilities of N independent streams
    (``p_A`` of N inputs). Between looks the draws of ``cAHat`` are
    ``Binomial(n_k - n_{k-1}, p)``, exactly the distribution the rule sees.
    ``look_alpha`` (``(K,)``, "union" only) overrides the per-look levels,
    e.g. ``alpha`` at every look: the naive rule with no split, which is
    NOT anytime valid (the tests use it as a negative control).

    Returns a dict of arrays: ``decision`` int8 ``(N, R)`` (undecided radii
    at ``n_max`` are reported as ``GIVEN_UP``), ``num_samples`` ``(N,)``,
    ``lower``, ``upper`` ``(N,)``.
    """
    p = np.asarray(p, np.float64)
    thresholds = np.atleast_1d(np.asarray(thresholds, np.float64))
    looks = look_schedule(n_max, first, growth)

    def draw(idx, start, num):
        return rng.binomial(num, p[idx])

    decision, used, lower, upper = run_looks(
        draw, len(p), thresholds, looks, alpha, scheme, split, look_alpha)
    decision[decision == UNDECIDED] = GIVEN_UP
    return {"decision": decision, "num_samples": used, "lower": lower,
            "upper": upper}


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------

@dataclasses.dataclass(repr=False, eq=False)
class SequentialCertifyResult:
    """What `SmoothedClassifier.certify_sequential` returns (NumPy arrays,
    one row per input).

    Attributes:
        label: int64, the candidate class ``cAHat`` where g is certified at
            the radius, else ``-1``: shape ``(N,)`` for one radius, ``(N,
            R)`` for a sequence of R radii (column j for ``radii[j]``).
        radii: float64 ``(R,)``, the radii asked for.
        num_samples: int64 ``(N,)``, estimation draws used per input (the
            ``n0`` selection draws come on top).
        p_lower, p_upper: float64 ``(N,)``, the final lower / upper
            confidence sequence of ``p_A`` (running max / min over looks).
        radius_lower: float64 ``(N,)``, ``sigma * Phi^-1(p_lower)`` when
            ``p_lower > 1/2``, else 0: a certified radius valid on the same
            ``1 - alpha`` event (a lower bound; sampling stopped as soon as
            the asked radii were decided).
        candidate: int64 ``(N,)``, ``cAHat`` from the selection draws.
        counts_selection: int64 ``(N, K)``, class counts of the selection.
        time: float64 ``(N,)``, seconds spent per input (its share of each
            block it was sampled in).
    """

    label: np.ndarray
    radii: np.ndarray
    num_samples: np.ndarray
    p_lower: np.ndarray
    p_upper: np.ndarray
    radius_lower: np.ndarray
    candidate: np.ndarray
    counts_selection: np.ndarray
    time: np.ndarray

    @property
    def certified(self):
        """bool, ``label != -1`` (same shape as ``label``)."""
        return self.label != -1

    def __len__(self):
        return len(self.num_samples)

    def as_dict(self):
        return {f.name: getattr(self, f.name)
                for f in dataclasses.fields(self)}

    def __repr__(self):
        certified = np.atleast_2d(self.certified.T).T.mean(axis=0)
        mean = float(np.mean(self.num_samples)) if len(self) else 0.0
        return (f"SequentialCertifyResult({len(self)} inputs, certified "
                f"fraction {np.round(certified, 4).tolist()} at radii "
                f"{self.radii.tolist()}, mean samples {mean:.1f})")


def certify_sequential(smoothed, x, radius, *, n_max=100_000, alpha=0.001,
                       n0=100, batch_size=1000, first=DEFAULT_FIRST,
                       growth=DEFAULT_GROWTH, scheme="union",
                       split="final_half", verbose=0, indices=None,
                       seed=None):
    """Sequential CERTIFY of `smoothed` (a `SmoothedClassifier`) at `radius`.

    See the module docstring for the algorithm and its guarantee: with
    probability at least ``1 - alpha`` over the draws, for every input and
    every radius r where the returned label is not -1, g predicts that label
    at x and is constant on the L2 ball of radius r around x (for one input;
    each input is its own test, as in CERTIFY). `verbose`: a progress bar
    over the decided inputs (1) or none (0).

    Noise: the selection and estimation draws of an input are the streams
    `certify` uses for the same `seed` and index (`indices`), and block k
    takes the estimation draws `[n_{k-1}, n_k)` of that stream. So with the
    same `seed` the sequential run sees exactly the first `num_samples`
    estimation draws fixed-n `certify` would see (a paired comparison), and
    an input's result does not depend on the other inputs of the call.
    """
    (radii, scalar, n_max, alpha, n0, batch_size, first,
     growth) = check_arguments(radius, n_max, alpha, n0, batch_size, first,
                               growth, scheme, split)
    if verbose not in (0, 1, True, False):
        raise ValueError(f"`verbose` must be 0 or 1, got {verbose!r}.")
    x = smoothed._check_inputs(x)
    num_inputs = len(x)
    indices = smoothed._check_indices(indices, num_inputs)
    seed = smoothed._seed_tensor(seed)
    selection_seed = sampling.stream_seed(seed, sampling.SELECTION)
    estimation_seed = sampling.stream_seed(seed, sampling.ESTIMATION)
    progbar = (keras.utils.Progbar(num_inputs, unit_name="input")
               if verbose else None)
    thresholds = thresholds_for(radii, smoothed.sigma)
    looks = look_schedule(n_max, first, growth)
    seconds = np.zeros(num_inputs)

    began = time.perf_counter()
    counts_selection = smoothed.sample_counts(
        x, n0, batch_size, indices=indices, seed=selection_seed)
    seconds += (time.perf_counter() - began) / num_inputs
    candidate = np.argmax(counts_selection, axis=1).astype(np.int64)

    def draw(idx, start, num):
        began = time.perf_counter()
        counts = smoothed.sample_counts(
            x[idx], num, batch_size, start=start, indices=indices[idx],
            seed=estimation_seed)
        seconds[idx] += (time.perf_counter() - began) / idx.size
        return counts[np.arange(idx.size), candidate[idx]]

    def on_look(active):
        if progbar is not None:
            progbar.update(int(num_inputs - active.sum()))

    decision, used, lower, upper = run_looks(
        draw, num_inputs, thresholds, looks, alpha, scheme, split,
        on_look=on_look)
    if progbar is not None:
        progbar.update(num_inputs)

    label = np.where(decision == CERTIFIED, candidate[:, None], -1)
    with np.errstate(divide="ignore"):
        radius_lower = np.where(
            lower > 0.5, smoothed.sigma * special.ndtri(lower), 0.0)
    return SequentialCertifyResult(
        label=(label[:, 0] if scalar else label).astype(np.int64),
        radii=radii,
        num_samples=used,
        p_lower=lower,
        p_upper=upper,
        radius_lower=radius_lower.astype(np.float64),
        candidate=candidate,
        counts_selection=counts_selection,
        time=seconds,
    )
