"""One-dimensional tolerance stack-ups: worst case, RSS, modified RSS, Monte Carlo, Cp/Cpk.

A chain is a list of contributors, each a dimension ``nominal +plus/-minus``
(its limits are ``nominal + plus`` and ``nominal - minus``; ``minus`` is the
amount below nominal, so a band wholly above nominal has a negative ``minus``)
with a ``direction``: +1 when it adds to the result (the gap), -1 when it
subtracts; any other non-zero number is taken as the sensitivity (the partial
derivative of the result by that dimension).

Methods (Drake, *Dimensioning and Tolerancing Handbook*, ch. 9):

* every method works about the **mean**: the sum of each band's mid-point
  times its sensitivity (an unequally toleranced dimension such as
  ``0.375 +0/-0.031`` counts with its mid-point 0.3595);
* **worst case**: mean ± Σ|sᵢ|·tᵢ, tᵢ the half band;
* **RSS**: mean ± √Σ(sᵢ·tᵢ)², every band taken as ±3σ of a centred normal;
* **modified RSS**: Bender's correction (A. Bender, SAE paper 620213, 1962):
  the RSS half band times 1.5 (``factor``), never wider than the worst case;
* **Monte Carlo**: ``samples`` draws, seeded, each contributor normal (mean:
  its ``process_mean`` or mid-point; σ: its ``sigma`` or tᵢ/3) or uniform
  over its band (or over ±√3σ about its mean when ``sigma`` is given).

Contributions: ``percent`` is the share of the RSS variance, (sᵢtᵢ)²/Σ(sⱼtⱼ)²;
``percent_worst_case`` the share of the worst-case band, |sᵢ|tᵢ/Σ|sⱼ|tⱼ.

Capability: with spec limits on the result, Cp = (USL - LSL)/6σ and
Cpk = min(USL - μ, μ - LSL)/3σ, μ and σ those of the statistical model (σ² =
Σ(sᵢσᵢ)²) and, when run, of the Monte Carlo sample. A contributor given a
process ``sigma`` gets its own Cp/Cpk against its tolerance band.

Time: with a ``deadline`` (a ``time.monotonic()`` value) a Monte Carlo run
is refused before it starts when its expected cost (resources/tool_limits.toml)
is more than the time left, and stopped between chunks of samples once the
deadline passes; both raise DeadlineExceeded. Drawing in chunks keeps the
seeded results identical to one draw per contributor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..context import tool_limits
from ..errors import DeadlineExceeded

Distribution = Literal["normal", "uniform"]
METHODS = ("worst_case", "rss", "modified_rss", "monte_carlo")
BENDER_FACTOR = 1.5
DEFAULT_SAMPLES = 100_000
MAX_SAMPLES = 5_000_000


class StackUpError(ValueError):
    """A chain or option that cannot be computed; the message says which and why."""


@dataclass(frozen=True)
class Contributor:
    name: str
    nominal: float
    plus: float
    minus: float
    direction: float = 1.0
    distribution: Distribution = "normal"
    sigma: float | None = None
    process_mean: float | None = None
    source: str | None = None  # where the nominal and tolerance came from (model chains)

    @property
    def upper(self) -> float:
        return self.nominal + self.plus

    @property
    def lower(self) -> float:
        return self.nominal - self.minus

    @property
    def mid(self) -> float:
        return (self.upper + self.lower) / 2

    @property
    def half(self) -> float:
        return (self.plus + self.minus) / 2

    @property
    def mean(self) -> float:
        return self.mid if self.process_mean is None else self.process_mean

    @property
    def std(self) -> float:
        """σ of the contributor: the process sigma, else the band as ±3σ (normal) or its uniform σ."""
        if self.sigma is not None:
            return self.sigma
        return self.half / 3 if self.distribution == "normal" else self.half / math.sqrt(3)

    def check(self) -> None:
        for field in ("nominal", "plus", "minus", "direction"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise StackUpError(f"contributor '{self.name}': {field} must be a finite number, not {value!r}")
        if self.direction == 0:
            raise StackUpError(f"contributor '{self.name}': direction must be +1, -1 or another non-zero sensitivity")
        if self.plus + self.minus < 0:
            raise StackUpError(
                f"contributor '{self.name}': upper limit {self.upper:g} is below lower limit {self.lower:g}; "
                f"minus is the amount below nominal (0.031 for -0.031)")
        if self.distribution not in ("normal", "uniform"):
            raise StackUpError(f"contributor '{self.name}': distribution '{self.distribution}' is not normal or uniform")
        if self.sigma is not None and not (self.sigma >= 0 and math.isfinite(self.sigma)):
            raise StackUpError(f"contributor '{self.name}': sigma must be a non-negative number")


def _interval(mean: float, half: float) -> dict:
    return {"min": mean - half, "max": mean + half, "tolerance": half}


def capability(mean: float, sigma: float, lower: float | None, upper: float | None) -> dict:
    """Cp (both limits) and Cpk (either) of a normal process against spec limits."""
    out: dict = {}
    if sigma <= 0:
        return out
    if lower is not None and upper is not None:
        out["cp"] = (upper - lower) / (6 * sigma)
    sides = [v for v in ((upper - mean) if upper is not None else None,
                         (mean - lower) if lower is not None else None) if v is not None]
    if sides:
        out["cpk"] = min(sides) / (3 * sigma)
    return out


def _normal_fraction_outside(mean: float, sigma: float, lower: float | None, upper: float | None) -> float:
    if sigma <= 0:
        return float((lower is not None and mean < lower) or (upper is not None and mean > upper))
    below = 0.5 * math.erfc((mean - lower) / (sigma * math.sqrt(2))) if lower is not None else 0.0
    above = 0.5 * math.erfc((upper - mean) / (sigma * math.sqrt(2))) if upper is not None else 0.0
    return below + above


def monte_carlo_cost_s(contributors: int, samples: int) -> float:
    """Expected seconds of a Monte Carlo run (tool_limits.toml: one draw per contributor and sample)."""
    limits = tool_limits()["stack_up"]
    return (contributors * samples * limits["ns_per_draw"] + samples * limits["ns_per_sample"]) * 1e-9


def affordable_samples(contributors: int, seconds: float) -> int:
    """The most samples a run of ``contributors`` can draw in ``seconds`` by the expected cost."""
    limits = tool_limits()["stack_up"]
    per_sample = (contributors * limits["ns_per_draw"] + limits["ns_per_sample"]) * 1e-9
    return max(0, int(seconds / per_sample))


def _check_affordable(contributors: int, samples: int, deadline: float | None) -> None:
    if deadline is None:
        return
    left = deadline - time.monotonic()
    cost = monte_carlo_cost_s(contributors, samples)
    if cost > left:
        fits = affordable_samples(contributors, left)
        hint = f"at most {fits:,} samples fit" if fits >= 100 else "too little time is left for any run"
        raise DeadlineExceeded(
            f"stack_up: Monte Carlo not started: {contributors} contributors x {samples:,} samples need about "
            f"{cost:.1f} s and {max(left, 0.0):.1f} s of the time budget are left ({hint}; or leave monte_carlo out)")


def _sampler(rng: Any, c: Contributor) -> Any:
    """``n -> n`` draws of contributor ``c`` from ``rng``."""
    import numpy

    if c.distribution == "normal":
        if c.std > 0:
            return lambda n: rng.normal(c.mean, c.std, n)
        return lambda n: numpy.full(n, c.mean)
    if c.sigma is not None:
        spread = math.sqrt(3) * c.sigma
        return lambda n: rng.uniform(c.mean - spread, c.mean + spread, n)
    return lambda n: rng.uniform(c.lower, c.upper, n)


def monte_carlo(contributors: Sequence[Contributor], samples: int, seed: int, deadline: float | None = None) -> Any:
    """``samples`` results of the chain (a numpy array), each contributor drawn from its distribution.

    Drawn in chunks of samples, contributor after contributor: numpy's generator fills an array value
    by value, so the chunks give the very numbers of one draw per contributor. DeadlineExceeded,
    checked before each chunk, once ``deadline`` has passed.
    """
    import numpy

    chunk = int(tool_limits()["stack_up"]["chunk_samples"])
    rng = numpy.random.default_rng(seed)
    total = numpy.zeros(samples)
    for index, c in enumerate(contributors):
        draw = _sampler(rng, c)
        for start in range(0, samples, chunk):
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded(
                    f"stack_up: Monte Carlo stopped after {index} of {len(contributors)} contributors: the "
                    f"call's time budget ran out; use fewer samples")
            stop = min(samples, start + chunk)
            total[start:stop] += c.direction * draw(stop - start)
    return total


def stack_up(
    contributors: Sequence[Contributor],
    methods: Sequence[str] = ("worst_case", "rss", "modified_rss"),
    *,
    spec_lower: float | None = None,
    spec_upper: float | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    bender_factor: float = BENDER_FACTOR,
    deadline: float | None = None,
) -> dict:
    """The stack-up of ``contributors`` by ``methods``; see the module docstring for the formulas
    and for ``deadline``."""
    if not contributors:
        raise StackUpError("a stack-up needs at least one contributor")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise StackUpError(f"unknown method(s) {', '.join(unknown)}; methods: {', '.join(METHODS)}")
    names = [c.name for c in contributors]
    if len(set(names)) != len(names):
        raise StackUpError(f"contributor names must be unique: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    for c in contributors:
        c.check()
    if spec_lower is not None and spec_upper is not None and spec_lower >= spec_upper:
        raise StackUpError(f"spec lower limit {spec_lower} must be below the upper limit {spec_upper}")
    if not 0 < bender_factor:
        raise StackUpError("the modified-RSS factor must be positive")

    nominal = sum(c.direction * c.nominal for c in contributors)
    mean = sum(c.direction * c.mid for c in contributors)
    terms = [abs(c.direction) * c.half for c in contributors]
    wc_half = sum(terms)
    rss_half = math.sqrt(sum(t * t for t in terms))
    variance = rss_half**2
    result: dict = {
        "nominal": nominal,
        "mean": mean,
        "worst_case": _interval(mean, wc_half),
        "rss": _interval(mean, rss_half),
    }
    if "modified_rss" in methods:
        half = min(bender_factor * rss_half, wc_half)
        result["modified_rss"] = {**_interval(mean, half), "factor": bender_factor,
                                  "capped": bender_factor * rss_half > wc_half,
                                  "method": "Bender: RSS x factor, at most the worst case"}

    process_mean = sum(c.direction * c.mean for c in contributors)
    sigma = math.sqrt(sum((c.direction * c.std) ** 2 for c in contributors))
    statistical = {"mean": process_mean, "sigma": sigma, "min": process_mean - 3 * sigma, "max": process_mean + 3 * sigma}
    if spec_lower is not None or spec_upper is not None:
        statistical.update(capability(process_mean, sigma, spec_lower, spec_upper))
        statistical["fraction_outside"] = _normal_fraction_outside(process_mean, sigma, spec_lower, spec_upper)
    result["statistical"] = statistical

    result["contributions"] = [
        {
            "name": c.name,
            "sensitivity": c.direction,
            "nominal": c.nominal,
            "min": c.lower,
            "max": c.upper,
            "percent": 100 * t * t / variance if variance else 0.0,
            "percent_worst_case": 100 * t / wc_half if wc_half else 0.0,
            "percent_variance": 100 * (c.direction * c.std) ** 2 / sigma**2 if sigma else 0.0,
            **({"source": c.source} if c.source else {}),
            **(capability(c.mean, c.sigma, c.lower, c.upper) if c.sigma is not None else {}),
        }
        for c, t in zip(contributors, terms, strict=True)
    ]

    if "monte_carlo" in methods:
        if not isinstance(samples, int) or not 100 <= samples <= MAX_SAMPLES:
            raise StackUpError(f"samples must be an integer from 100 to {MAX_SAMPLES}")
        import numpy

        _check_affordable(len(contributors), samples, deadline)
        values = monte_carlo(contributors, samples, seed, deadline)
        mc_mean, mc_sigma = float(values.mean()), float(values.std(ddof=1))
        low, high = numpy.percentile(values, [0.135, 99.865])
        mc = {
            "min": float(values.min()),
            "max": float(values.max()),
            "mean": mc_mean,
            "sigma": mc_sigma,
            "samples": samples,
            "seed": seed,
            "percentile_0_135": float(low),
            "percentile_99_865": float(high),
        }
        if spec_lower is not None or spec_upper is not None:
            outside = numpy.zeros(samples, dtype=bool)
            if spec_lower is not None:
                outside |= values < spec_lower
            if spec_upper is not None:
                outside |= values > spec_upper
            mc["fraction_outside"] = float(outside.mean())
            mc.update(capability(mc_mean, mc_sigma, spec_lower, spec_upper))
        result["monte_carlo"] = mc
    if spec_lower is not None or spec_upper is not None:
        result["spec"] = {"lower": spec_lower, "upper": spec_upper}
    return result
