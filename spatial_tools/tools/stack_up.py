"""stack_up: 1-D tolerance stack-up of a typed chain, or of a chain measured in the model.

A typed chain is a list of contributors (tools.md). A model chain runs from a
datum face through intermediate faces to a target face along one direction:
each step between consecutive faces is one dimension, its nominal measured
with ``measure_distance`` (the closest points projected on the direction, so
parallel planes give their separation wherever they overlap), its tolerance
from an annotation when one covers it (``TOLERANCE_PROVIDERS``) or else from
the document's ISO 2768-1 general tolerance class. Steps between two
different objects must be contacts (zero length): parts stack where they
touch.

Caps (resources/tool_limits.toml, ``[stack_up]``): contributors, chain faces,
samples, and samples x contributors of a Monte Carlo run, so no call can run
for minutes; with a deadline the run is refused or stopped (context.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from ..context import ToolContext, tool_limits
from ..errors import BadArguments, NoDocument, NotApplicable
from ..geometry.query import as_vector, is_parallel, plane_normal, unit
from ..refs import Element, resolve_all
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg
from ..tolerances import iso2768
from ..tolerances.stackup import METHODS, Contributor, StackUpError
from ..tolerances.stackup import stack_up as compute
from .measure_distance import measure_distance

# Meta key of the document holding its general tolerance designation, e.g. "ISO 2768-mK".
GENERAL_TOLERANCE_META = "GeneralTolerance"
CONTACT_EPS = 1e-6  # mm: two faces of different objects closer than this touch
PARALLEL_SIN = 1e-6  # a face is across the chain when its normal is this parallel to the direction


@dataclass(frozen=True)
class StepTolerance:
    plus: float
    minus: float
    source: str  # shown to the user: where the tolerance came from


# Hook for annotation objects (size dimensions with deviations or a fit code,
# gdt.md): each provider is called as ``provider(document, a, b, nominal)``
# with the two resolved faces of one step of a model chain and its measured
# nominal (mm), and returns a StepTolerance when an annotation tolerances
# that distance, or None. Providers are asked in order, before the general
# tolerance class. Size-dimension annotations are the first provider
# (``size_dimension_provider`` below); others join with ``register_tolerance_provider``.
ToleranceProvider = Callable[[Any, Element, Element, float], StepTolerance | None]
TOLERANCE_PROVIDERS: list[ToleranceProvider] = []


def register_tolerance_provider(provider: ToleranceProvider) -> None:
    if provider not in TOLERANCE_PROVIDERS:
        TOLERANCE_PROVIDERS.append(provider)


def size_dimension_provider(document: Any, a: Element, b: Element, nominal: float) -> StepTolerance | None:
    """The tolerance of a SizeDimension annotation linked to both faces of the step."""
    from ..annotations.dimension_tolerances import size_dimension_tolerance

    found = size_dimension_tolerance(document, a.ref, b.ref) if a.obj is not None and b.obj is not None else None
    return None if found is None else StepTolerance(*found)


register_tolerance_provider(size_dimension_provider)

LIMITS = tool_limits()["stack_up"]
MAX_CONTRIBUTORS = int(LIMITS["max_contributors"])
MAX_CHAIN_FACES = int(LIMITS["max_chain_faces"])
MAX_SAMPLES = int(LIMITS["max_samples"])
MAX_DRAWS = int(LIMITS["max_draws"])


CONTRIBUTOR_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "nominal": {"type": "number"},
        "plus": {"type": "number"},
        "minus": {"type": "number"},
        "direction": {"type": "number"},
        "distribution": {"type": "string", "enum": ["normal", "uniform"]},
        "sigma": {"type": "number", "minimum": 0},
        "process_mean": {"type": "number"},
    },
    "required": ["name", "nominal", "plus", "minus", "direction"],
    "additionalProperties": False,
}

CHAIN_SCHEMA = {
    "type": "object",
    "properties": {
        "datum": {"type": "string"},
        "target": {"type": "string"},
        "via": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_CHAIN_FACES - 2},
        "direction": VEC3_SCHEMA,
        "tolerances": {
            "type": "array",
            "items": {"anyOf": [
                {"type": "object", "properties": {"plus": {"type": "number"}, "minus": {"type": "number"}},
                 "required": ["plus", "minus"], "additionalProperties": False},
                {"type": "null"},
            ]},
        },
    },
    "required": ["datum", "target"],
    "additionalProperties": False,
}

INTERVAL = {
    "type": "object",
    "properties": {"min": {"type": "number"}, "max": {"type": "number"}, "tolerance": {"type": "number"}},
    "required": ["min", "max"],
}

RESULT = {
    "type": "object",
    "properties": {
        "nominal": {"type": "number"},
        "mean": {"type": "number"},
        "worst_case": INTERVAL,
        "rss": INTERVAL,
        "modified_rss": INTERVAL,
        "statistical": {"type": "object", "properties": {"mean": {"type": "number"}, "sigma": {"type": "number"}},
                        "required": ["mean", "sigma"]},
        "monte_carlo": {
            "type": "object",
            "properties": {"min": {"type": "number"}, "max": {"type": "number"}, "sigma": {"type": "number"},
                           "samples": {"type": "integer"}, "seed": {"type": "integer"}},
            "required": ["min", "max", "sigma", "samples"],
        },
        "contributions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "percent": {"type": "number"},
                               "sensitivity": {"type": "number"}, "percent_worst_case": {"type": "number"}},
                "required": ["name", "percent", "sensitivity"],
            },
        },
        "chain": {"type": "object"},
        "spec": {"type": "object"},
    },
    "required": ["nominal", "mean", "worst_case", "rss", "contributions"],
}


def _general_class(document: Any, argument: str | None) -> str | None:
    if argument:
        return argument
    meta = getattr(document, "Meta", None) or {}
    return meta.get(GENERAL_TOLERANCE_META) or None


def _across(element: Element, direction: Any) -> bool:
    """A point, or a planar face whose normal lies along the chain's direction."""
    if element.is_point:
        return True
    if element.kind != "Face":
        return False
    normal = plane_normal(element.shape)
    return normal is not None and is_parallel(normal, direction, PARALLEL_SIN)


def _signed_step(ctx: ToolContext, a: str, b: str, direction: Any) -> float:
    measured = measure_distance(ctx, a, b)
    return (measured["point_b"] - measured["point_a"]).dot(direction)


def model_chain(ctx: ToolContext, chain: dict, general_class: str | None) -> tuple[list[Contributor], dict]:
    """Contributors of a chain measured in the document, and a description of how they were found."""
    document = ctx.document
    if document is None:
        raise NoDocument("stack_up: a chain measured in the model needs an open document")
    refs = [chain["datum"], *chain.get("via", []), chain["target"]]
    elements = resolve_all(document, refs)
    if chain.get("direction") is not None:
        direction = as_vector(chain["direction"])
        if direction.Length < 1e-12:
            raise BadArguments("stack_up: chain.direction must not be the zero vector")
        direction = unit(direction)
    else:
        normal = plane_normal(elements[0].shape) if elements[0].kind == "Face" else None
        if normal is None:
            raise BadArguments(f"stack_up: datum '{refs[0]}' is not a planar face: give chain.direction")
        span = _signed_step(ctx, refs[0], refs[-1], normal)
        direction = normal if span >= 0 else normal * -1
    ctx.check_deadline("stack_up: measuring the chain")
    for ref, element in zip(refs, elements, strict=True):
        if not _across(element, direction):
            raise NotApplicable(f"stack_up: '{ref}' is not a planar face across the chain's direction "
                                f"({direction.x:.3g}, {direction.y:.3g}, {direction.z:.3g})")
    overrides = chain.get("tolerances") or []
    if len(overrides) > len(refs) - 1:
        raise BadArguments(f"stack_up: chain.tolerances has {len(overrides)} entries for {len(refs) - 1} steps")
    designation = _general_class(document, general_class)
    contributors, steps = [], []
    for k, (a, b) in enumerate(zip(elements, elements[1:], strict=False)):
        ctx.check_deadline(f"stack_up: measuring the chain (step {k + 1} of {len(refs) - 1})")
        signed = _signed_step(ctx, a.ref if not a.is_point else refs[k], b.ref if not b.is_point else refs[k + 1], direction)
        nominal = abs(signed)
        same_part = a.obj is not None and a.obj is b.obj
        step = {"from": a.ref, "to": b.ref, "length": nominal}
        if not same_part and not (a.is_point or b.is_point):
            if nominal > CONTACT_EPS:
                raise NotApplicable(
                    f"stack_up: '{a.ref}' and '{b.ref}' are on different objects and {nominal:.4g} mm apart: "
                    "a chain steps from part to part only where they touch; add the faces in between")
            steps.append({**step, "contact": True})
            continue
        tol = _step_tolerance(document, a, b, nominal, designation, overrides[k] if k < len(overrides) else None)
        contributors.append(Contributor(
            name=f"{a.ref}→{b.ref}", nominal=nominal, plus=tol.plus, minus=tol.minus,
            direction=1.0 if signed >= 0 else -1.0, source=tol.source))
        steps.append({**step, "source": tol.source, "plus": tol.plus, "minus": tol.minus})
    if not contributors:
        raise NotApplicable("stack_up: the chain has no dimension, only contacts")
    info = {"direction": [direction.x, direction.y, direction.z], "steps": steps,
            "general_tolerance": designation}
    return contributors, info


def _step_tolerance(document: Any, a: Element, b: Element, nominal: float, designation: str | None,
                    override: dict | None) -> StepTolerance:
    if override is not None:
        return StepTolerance(override["plus"], override["minus"], "chain.tolerances")
    for provider in TOLERANCE_PROVIDERS:
        found = provider(document, a, b, nominal)
        if found is not None:
            return found
    if not designation:
        raise BadArguments(
            f"stack_up: no tolerance for {a.ref}→{b.ref} ({nominal:.4g} mm): pass general_class (e.g. 'm'), "
            f"set the document's Meta['{GENERAL_TOLERANCE_META}'] (e.g. 'ISO 2768-mK'), or give chain.tolerances")
    try:
        general = iso2768.general_tolerance(nominal, designation, "linear")
    except iso2768.GeneralToleranceError as exc:
        raise BadArguments(f"stack_up: {a.ref}→{b.ref}: {exc}; give chain.tolerances for this step") from None
    return StepTolerance(general.tolerance, general.tolerance, f"ISO 2768-{general.tolerance_class}")


@tool(result=RESULT, needs_document=False)
def stack_up(
    ctx: ToolContext,
    contributors: Annotated[list[dict] | None, Arg(
        "Typed chain: each {name, nominal, plus, minus, direction} with limits nominal+plus and nominal-minus "
        "(minus 0.031 for -0.031), direction +1 adds to the result and -1 subtracts (or a sensitivity); "
        "optional distribution (normal/uniform), sigma (process standard deviation), process_mean",
        schema={"type": "array", "items": CONTRIBUTOR_SCHEMA, "maxItems": MAX_CONTRIBUTORS})] = None,
    chain: Annotated[dict | None, Arg(
        "Chain measured in the model: {datum: face ref, target: face ref, via?: [face refs in order], "
        "direction?: [x,y,z] (default: the datum's normal towards the target), tolerances?: per step "
        "{plus, minus} or null}. Faces must be planar and across the direction; steps between parts must touch.",
        schema=CHAIN_SCHEMA)] = None,
    methods: Annotated[list[str] | None, Arg(
        "Methods besides worst_case and rss (always given): modified_rss (default on), monte_carlo",
        schema={"type": "array", "items": {"type": "string", "enum": list(METHODS)}})] = None,
    general_class: Annotated[str | None, Arg(
        "ISO 2768-1 class for model-chain dimensions without an annotation ('f', 'm', 'c', 'v' or 'mK'); "
        "default: the document's Meta['GeneralTolerance']")] = None,
    spec_lower: Annotated[float | None, Arg("Lower spec limit of the result, for Cp/Cpk and yield")] = None,
    spec_upper: Annotated[float | None, Arg("Upper spec limit of the result, for Cp/Cpk and yield")] = None,
    samples: Annotated[int, Arg(
        f"Monte Carlo samples; samples x contributors at most {MAX_DRAWS:,}",
        minimum=100, maximum=MAX_SAMPLES)] = 100_000,
    seed: Annotated[int, Arg("Monte Carlo random seed (same seed, same result)")] = 0,
    bender_factor: Annotated[float, Arg("Modified-RSS factor (Bender 1.5)", minimum=1)] = 1.5,
) -> dict:
    if not contributors and not chain:
        raise BadArguments("stack_up: give contributors (a typed chain), chain (faces in the model), or both")
    items: list[Contributor] = []
    info = None
    if chain:
        items, info = model_chain(ctx, chain, general_class)
    for c in contributors or []:
        items.append(Contributor(**c))
    if len(items) > MAX_CONTRIBUTORS:
        raise BadArguments(f"stack_up: {len(items)} contributors; a stack-up takes at most {MAX_CONTRIBUTORS}")
    wanted = ["worst_case", "rss", *(methods if methods is not None else ["modified_rss"])]
    if "monte_carlo" in wanted and len(items) * samples > MAX_DRAWS:
        raise BadArguments(
            f"stack_up: Monte Carlo of {len(items)} contributors x {samples:,} samples is {len(items) * samples:,} "
            f"draws, above the limit of {MAX_DRAWS:,}: use at most {MAX_DRAWS // len(items):,} samples")
    try:
        result = compute(items, wanted, spec_lower=spec_lower, spec_upper=spec_upper, samples=samples,
                         seed=seed, bender_factor=bender_factor, deadline=ctx.deadline)
    except StackUpError as exc:
        raise BadArguments(f"stack_up: {exc}") from None
    if info is not None:
        result["chain"] = info
    if any(not math.isfinite(v) for v in (result["mean"], result["nominal"])):
        raise BadArguments("stack_up: the chain's numbers are not finite")
    return result
