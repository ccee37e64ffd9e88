"""Process profiles: every DFM threshold as data, loaded and validated once.

A profile is a TOML file under ``resources/profiles/`` (one per process). A
user profile (a file or a dict) may override any value of it; it cannot add
keys the built-in profile does not have, so a misspelt key is an error that
names it instead of a silent default. Materials pick per-material or
per-group overrides of a rule's values (``by_material`` / ``by_group``).

A user on the command line may name any profile file. The model and code
cells may not (``restricted_profile``): they name a profile of the profile
library (``resources/profiles/``, the user's ``FreeCADSpatial/profiles``
folder, folders configured in ``FREECAD_SPATIAL_PROFILE_DIRS`` or the
``ProfileFolders`` preference); anything else, a FIFO, a device or a
symlink out of those folders is refused before it is opened, a file is read
without blocking and up to a size cap, and errors about its content never
quote it (the message may go to a cloud model).
"""

from __future__ import annotations

import copy
import math
import os
import re
import stat
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from freecad_spatial import RESOURCES

from ..errors import BadArguments, NotPermitted
from .finding import Severity

SCHEMA = "freecad-spatial/profile@1"
PROFILES_DIR = RESOURCES / "profiles"
TOP_KEYS = {"schema", "process", "title", "material", "materials", "rules", "pull_direction", "build_direction"}
MATERIAL_KEYS = {"group": str, "label": str, "density": float}
STRING_KEYS = {"unit", "source", "drill_table", "units"}
UNIT_SYSTEMS = {"auto", "file", "metric", "inch"}  # cnc.nonstandard_hole units
UNITS = {"mm", "deg", "ratio", "%", "mm3"}
OVERRIDE_TABLES = ("by_group", "by_material")
DEFAULT_DIRECTION = (0.0, 0.0, 1.0)
PROFILE_DIRS_ENV = "FREECAD_SPATIAL_PROFILE_DIRS"  # os.pathsep-separated folders of user profiles
PREFERENCES_GROUP = "User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/Assistant"
PREFERENCE_KEY = "ProfileFolders"  # the same, as a FreeCAD preference (os.pathsep- or newline-separated)
USER_LIBRARY = ("FreeCADSpatial", "profiles")  # under FreeCAD's user data folder


class ProfileError(BadArguments):
    """A profile that cannot be used; the message names the file and the key."""


def processes() -> list[str]:
    """Names of the built-in processes (one profile file each)."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _key(path: str, key: str) -> str:
    return f'{path}."{key}"' if "." in key else f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_severity_key(key: str) -> bool:
    return key == "severity" or key.endswith("_severity")


def _is_threshold_key(key: str) -> bool:
    return any(part in key for part in ("warn_above", "warn_below", "error_above", "error_below"))


def _check_value(where: str, key: str, value: Any) -> None:
    """Raises ProfileError unless ``value`` has the type the key's name promises."""
    name = _key(where, key)
    if key == "enabled":
        if not isinstance(value, bool):
            raise ProfileError(f"{name} must be true or false, got {value!r}")
    elif _is_severity_key(key):
        if value not in {s.value for s in Severity}:
            raise ProfileError(f"{name} must be one of error, warning, info, got {value!r}")
    elif key in STRING_KEYS:
        if not isinstance(value, str) or not value.strip():
            raise ProfileError(f"{name} must be a non-empty string, got {value!r}")
        if key == "unit" and value not in UNITS:
            raise ProfileError(f"{name} must be one of {', '.join(sorted(UNITS))}, got {value!r}")
        if key == "units" and value not in UNIT_SYSTEMS:
            raise ProfileError(f"{name} must be one of {', '.join(sorted(UNIT_SYSTEMS))}, got {value!r}")
    elif key == "press_fits":
        if not isinstance(value, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) and n for n in p) for p in value
        ):
            raise ProfileError(f'{name} must be a list of object-name pairs like [["Pin", "Plate"]], got {value!r:.80}')
    elif key == "fits":
        _check_fits(name, value)
    elif _is_threshold_key(key):
        if not _is_number(value):
            raise ProfileError(f"{name} must be a number, got {value!r:.60}")
    elif not (_is_number(value) or isinstance(value, bool)):
        raise ProfileError(f"{name} must be a number or true/false, got {value!r:.60}")


FIT_KEYS = {"a": str, "b": str, "fit": str, "min_clearance": float}


def _check_fits(name: str, value: Any) -> None:
    """``fits`` of fit.clearance: [{a, b, fit?, min_clearance?}], object Names and at least one of the two."""
    example = '[{a = "Shaft", b = "Plate", fit = "H7/g6", min_clearance = 0.005}]'
    if not isinstance(value, list):
        raise ProfileError(f"{name} must be a list of tables like {example}, got {value!r:.80}")
    for k, entry in enumerate(value):
        where = f"{name}[{k}]"
        if not isinstance(entry, dict):
            raise ProfileError(f"{where} must be a table like {example[1:-1]}, got {entry!r:.60}")
        for key, item in entry.items():
            kind = FIT_KEYS.get(key)
            if kind is None:
                raise ProfileError(f"{where} has unknown key {key!r} (allowed: {', '.join(FIT_KEYS)})")
            ok = _is_number(item) if kind is float else isinstance(item, str) and item.strip()
            if not ok:
                raise ProfileError(f"{where}.{key} must be {'a number (mm)' if kind is float else 'a non-empty string'}, got {item!r:.60}")
        for key in ("a", "b"):
            if key not in entry:
                raise ProfileError(f"{where} needs {key!r} (an object Name)")
        if "fit" not in entry and "min_clearance" not in entry:
            raise ProfileError(f"{where} needs min_clearance (mm, on the diameter) or fit (e.g. 'H7/g6')")


def _check_order(where: str, values: Mapping[str, Any]) -> None:
    """error_* limits must lie beyond their warn_* twins, and a warn range must not be empty."""
    for key, value in values.items():
        for kind, beyond in (("error_above", lambda e, w: e >= w), ("error_below", lambda e, w: e <= w)):
            if kind in key:
                twin = key.replace(kind, kind.replace("error", "warn"))
                if twin in values and not beyond(value, values[twin]):
                    raise ProfileError(
                        f"{_key(where, key)} = {value} must be {'≥' if 'above' in kind else '≤'} "
                        f"{_key(where, twin)} = {values[twin]}"
                    )
        if "warn_below" in key:
            twin = key.replace("warn_below", "warn_above")
            if twin in values and value > values[twin]:
                raise ProfileError(f"{_key(where, key)} = {value} is above {_key(where, twin)} = {values[twin]}")


def _direction(value: Any, name: str) -> tuple[float, float, float]:
    if isinstance(value, str):
        parts = value.split(",")
        try:
            value = [float(p) for p in parts]
        except ValueError:
            raise ProfileError(f"{name} must be three numbers like 0,0,1, got {value!r}") from None
    if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(_is_number(c) for c in value):
        raise ProfileError(f"{name} must be three numbers like [0, 0, 1], got {value!r:.60}")
    length = math.sqrt(sum(c * c for c in value))
    if length < 1e-9:
        raise ProfileError(f"{name} must not be the zero vector")
    return tuple(float(c) / length for c in value)


def _validate(data: dict, origin: str) -> None:
    """Checks a complete (built-in or merged) profile; errors name ``origin`` and the key."""
    from .rules import CATALOGUE

    def fail(message: str) -> None:
        raise ProfileError(f"profile {origin}: {message}")

    try:
        unknown = set(data) - TOP_KEYS
        if unknown:
            fail(f"unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(TOP_KEYS))})")
        for key in ("schema", "process", "material", "materials", "rules"):
            if key not in data:
                fail(f"missing key {key!r}")
        if data["schema"] != SCHEMA:
            fail(f"schema must be {SCHEMA!r}, got {data['schema']!r}")
        materials = data["materials"]
        if not isinstance(materials, dict) or not materials:
            fail("materials must be a table of at least one material")
        for name, entry in materials.items():
            if not isinstance(entry, dict):
                fail(f"{_key('materials', name)} must be a table")
            for key, value in entry.items():
                if key not in MATERIAL_KEYS:
                    fail(f"unknown key {_key(_key('materials', name), key)} (allowed: {', '.join(MATERIAL_KEYS)})")
                ok = _is_number(value) if MATERIAL_KEYS[key] is float else isinstance(value, str) and value
                if not ok:
                    fail(f"{_key(_key('materials', name), key)} has a bad value {value!r:.60}")
            if "group" not in entry:
                fail(f"{_key('materials', name)} has no 'group'")
        if data["material"] not in materials:
            fail(f"material {data['material']!r} is not one of the profile's materials ({', '.join(materials)})")
        groups = {m["group"] for m in materials.values()}
        for key in ("pull_direction", "build_direction"):
            if key in data:
                _direction(data[key], key)
        if not isinstance(data["rules"], dict):
            fail("rules must be a table of rule ids")
        for rule_id, table in data["rules"].items():
            where = _key("rules", rule_id)
            if rule_id not in CATALOGUE:
                fail(f"unknown rule {where} (rules are the ids of dfm-rules.md, e.g. cnc.deep_hole)")
            if not isinstance(table, dict):
                fail(f"{where} must be a table")
            flat = {k: v for k, v in table.items() if k not in OVERRIDE_TABLES}
            for key, value in flat.items():
                _check_value(where, key, value)
            _check_order(where, flat)
            for kind, names in ((OVERRIDE_TABLES[0], groups), (OVERRIDE_TABLES[1], set(materials))):
                for name, override in table.get(kind, {}).items():
                    sub = _key(_key(where, kind), name)
                    if name not in names:
                        what = "material group" if kind == "by_group" else "material"
                        fail(f"{sub}: no {what} {name!r} in this profile ({', '.join(sorted(names))})")
                    if not isinstance(override, dict):
                        fail(f"{sub} must be a table")
                    for key, value in override.items():
                        if key not in flat:
                            fail(f"{_key(sub, key)} overrides nothing: {where} has no {key!r}")
                        _check_value(sub, key, value)
                    _check_order(sub, {**flat, **override})
    except ProfileError as exc:
        if exc.message.startswith("profile "):
            raise
        raise ProfileError(f"profile {origin}: {exc.message}") from None


def _read_toml(path: Path) -> dict:
    if not path.exists():
        raise ProfileError(f"profile {path}: no such file")
    if path.is_dir():
        raise ProfileError(f"profile {path}: is a directory, not a TOML file")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path}: cannot be read ({exc})") from None


@cache
def _builtin(process: str) -> dict:
    if process not in processes():
        raise ProfileError(f"unknown process {process!r} (processes: {', '.join(processes())})")
    path = PROFILES_DIR / f"{process}.toml"
    data = _read_toml(path)
    _validate(data, path.name)
    if data["process"] != process:
        raise ProfileError(f"profile {path.name}: process is {data['process']!r}, expected {process!r}")
    return data


def _merge(base: dict, user: dict, origin: str) -> dict:
    """``base`` with every value of ``user`` laid over it; unknown keys are errors."""
    merged = copy.deepcopy(base)

    def fail(message: str) -> None:
        raise ProfileError(f"profile {origin}: {message}")

    for key, value in user.items():
        if key not in TOP_KEYS:
            fail(f"unknown key {key!r} (allowed: {', '.join(sorted(TOP_KEYS))})")
        if key in ("schema", "process") and value != base[key]:
            fail(f"{key} is {value!r} but the process checked is {base['process']!r}" if key == "process" else f"schema must be {SCHEMA!r}, got {value!r}")
        if key == "materials":
            if not isinstance(value, dict):
                fail("materials must be a table")
            for name, entry in value.items():
                if not isinstance(entry, dict):
                    fail(f"{_key('materials', name)} must be a table")
                merged["materials"].setdefault(name, {}).update(entry)
        elif key == "rules":
            if not isinstance(value, dict):
                fail("rules must be a table of rule ids")
            for rule_id, table in value.items():
                where = _key("rules", rule_id)
                if rule_id not in merged["rules"]:
                    from .rules import CATALOGUE

                    if rule_id in CATALOGUE:
                        fail(f"{where} is not a rule of process {base['process']!r}")
                    fail(f"unknown rule {where} (rules of {base['process']}: {', '.join(merged['rules'])})")
                if not isinstance(table, dict):
                    fail(f"{where} must be a table")
                target = merged["rules"][rule_id]
                for k, v in table.items():
                    if k in OVERRIDE_TABLES:
                        if not isinstance(v, dict):
                            fail(f"{_key(where, k)} must be a table")
                        for name, override in v.items():
                            if not isinstance(override, dict):
                                fail(f"{_key(_key(where, k), name)} must be a table")
                            target.setdefault(k, {}).setdefault(name, {}).update(override)
                        continue
                    if k not in target and k != "enabled":
                        known = ", ".join(x for x in target if x not in OVERRIDE_TABLES)
                        fail(f"unknown key {_key(where, k)} (keys of {rule_id}: {known}, enabled)")
                    if k in target and isinstance(target[k], bool) != isinstance(v, bool):
                        fail(f"{_key(where, k)} must be {'true or false' if isinstance(target[k], bool) else 'a number'}, got {v!r}")
                    target[k] = v
        else:
            merged[key] = value
    _validate(merged, origin)
    return merged


@dataclass(frozen=True)
class RuleSettings:
    """The effective values of one rule for the profile's material."""

    rule: str
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        if key not in self.values:
            raise ProfileError(f'rules."{self.rule}" has no value {key!r} in this profile')
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def number(self, key: str) -> float:
        return float(self[key])

    def severity(self, key: str = "severity") -> Severity:
        return Severity.parse(self[key])

    @property
    def enabled(self) -> bool:
        return bool(self.values.get("enabled", True))

    def default_severity(self) -> Severity:
        """The most severe level this rule can report (for report rule tables)."""
        levels = [Severity.parse(v) for k, v in self.values.items() if _is_severity_key(k)]
        if any(k.startswith("error_") or "_error_" in k for k in self.values):
            levels.append(Severity.ERROR)
        if any(k.startswith("warn_") or "_warn_" in k for k in self.values):
            levels.append(Severity.WARNING)
        return max(levels, key=lambda s: s.rank, default=Severity.WARNING)

    def grade(self, measured: float, direction: str, prefix: str = "") -> tuple[Severity, float] | None:
        """(severity, limit) of the first of ``{prefix}error_{direction}``, ``{prefix}warn_{direction}`` that
        ``measured`` passes; None when it passes neither. ``direction`` is "above" or "below"."""
        if direction not in ("above", "below"):
            raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
        for severity, level in ((Severity.ERROR, "error"), (Severity.WARNING, "warn")):
            key = f"{prefix}{level}_{direction}"
            if key in self.values:
                limit = float(self.values[key])
                if (measured > limit) if direction == "above" else (measured < limit):
                    return severity, limit
        return None


@dataclass(frozen=True)
class Profile:
    """A process profile resolved for one material and set of directions."""

    process: str
    title: str
    material: str
    material_group: str
    pull_direction: tuple[float, float, float]
    build_direction: tuple[float, float, float]
    rules: dict[str, RuleSettings]
    sources: tuple[str, ...] = field(default=())  # profile files or "inline", in the order applied

    def settings(self, rule_id: str) -> RuleSettings:
        if rule_id not in self.rules:
            raise ProfileError(f"process {self.process!r} has no rule {rule_id!r}")
        return self.rules[rule_id]

    def enabled_rules(self) -> list[str]:
        return [r for r, s in self.rules.items() if s.enabled]

    def to_dict(self) -> dict:
        return {
            "process": self.process,
            "material": self.material,
            "pull_direction": list(self.pull_direction),
            "build_direction": list(self.build_direction),
            "sources": list(self.sources),
        }


def _layer(values: dict, table: Mapping[str, Any], group: str, material: str) -> None:
    """Lays one profile's rule table over ``values``: its base keys, then its group's, then its material's."""
    values.update({k: v for k, v in table.items() if k not in OVERRIDE_TABLES})
    values.update(table.get("by_group", {}).get(group, {}))
    values.update(table.get("by_material", {}).get(material, {}))


def _resolve(data: dict, sources: tuple[str, ...], builtin: dict | None = None, user_rules: Mapping[str, Any] | None = None) -> Profile:
    """Effective values per rule. With a user profile, the built-in table (with its material
    variants) is resolved first and the user's table laid over it, so a value the user sets
    for a rule wins over a built-in material variant of it."""
    material = data["material"]
    group = data["materials"][material]["group"]
    rules = {}
    for rule_id, table in data["rules"].items():
        values: dict[str, Any] = {}
        if builtin is None:
            _layer(values, table, group, material)
        else:
            _layer(values, builtin["rules"][rule_id], group, material)
            _layer(values, (user_rules or {}).get(rule_id, {}), group, material)
        rules[rule_id] = RuleSettings(rule_id, values)
    return Profile(
        process=data["process"],
        title=data.get("title", data["process"]),
        material=material,
        material_group=group,
        pull_direction=_direction(data.get("pull_direction", DEFAULT_DIRECTION), "pull_direction"),
        build_direction=_direction(data.get("build_direction", DEFAULT_DIRECTION), "build_direction"),
        rules=rules,
        sources=sources,
    )


def load_profile(
    process: str,
    user: str | os.PathLike | Mapping[str, Any] | None = None,
    *,
    material: str | None = None,
    pull_direction: Any = None,
    build_direction: Any = None,
) -> Profile:
    """The built-in profile of ``process`` with ``user`` (a TOML path or a dict) and the
    explicit arguments laid over it, in that order. Raises ProfileError naming the bad key."""
    if not isinstance(process, str):
        raise ProfileError(f"process must be a name like 'cnc-3axis', got {process!r:.40}")
    data = builtin = _builtin(process)
    user_rules: Mapping[str, Any] = {}
    sources: tuple[str, ...] = (f"{process}.toml",)
    if user is not None:
        if isinstance(user, Mapping):
            origin, overrides = getattr(user, "origin", "(inline)"), dict(user)
        else:
            path = Path(user)
            origin, overrides = str(path), _read_toml(path)
        data = _merge(data, overrides, origin)
        user_rules = overrides.get("rules", {})
        sources += (origin,)
    explicit = {}
    if material is not None:
        if material not in data["materials"]:
            raise ProfileError(f"unknown material {material!r} for {process} (materials: {', '.join(data['materials'])})")
        explicit["material"] = material
    if pull_direction is not None:
        explicit["pull_direction"] = list(_direction(pull_direction, "pull direction"))
    if build_direction is not None:
        explicit["build_direction"] = list(_direction(build_direction, "build direction"))
    if explicit:
        data = {**data, **explicit}
    return _resolve(data, sources, builtin if user is not None else None, user_rules)


def materials(process: str, user: str | os.PathLike | None = None) -> tuple[dict[str, str], str]:
    """What ``load_profile(material=...)``, and so the CLI's ``--material``, accepts for ``process``
    (a user profile may add materials): name -> label, and the profile's default material."""
    data = _builtin(process)
    if user is not None:
        data = _merge(data, _read_toml(Path(user)), str(user))
    return {name: str(entry.get("label") or name) for name, entry in data["materials"].items()}, data["material"]


@cache
def drill_sizes(table: str = "drill_sizes_metric.toml") -> tuple[float, ...]:
    """Standard drill diameters (mm, ascending) of a table under ``resources/`` or at a path."""
    path = Path(table) if os.path.isabs(table) else RESOURCES / table
    data = _read_toml(path)
    sizes: set[float] = set()
    for i, series in enumerate(data.get("series", [])):
        where = f"drill table {path.name}: series[{i}]"
        if not all(_is_number(series.get(k)) for k in ("from", "to", "step")):
            raise ProfileError(f"{where} needs numbers from, to, step")
        start, stop, step = series["from"], series["to"], series["step"]
        if step <= 0 or stop < start:
            raise ProfileError(f"{where}: needs step > 0 and to ≥ from")
        count = int(round((stop - start) / step))
        sizes.update(round(start + k * step, 4) for k in range(count + 1))
    extra = data.get("extra", [])
    if not isinstance(extra, list) or not all(_is_number(x) and x > 0 for x in extra):
        raise ProfileError(f"drill table {path.name}: extra must be a list of positive numbers")
    sizes.update(round(float(x), 4) for x in extra)
    if not sizes:
        raise ProfileError(f"drill table {path.name}: holds no sizes")
    return tuple(sorted(sizes))


# --- profiles the model and code cells may name ---------------------------------------------


class LibraryProfile(dict):
    """Profile overrides read (and checked) by ``restricted_profile``; ``origin`` names them in results."""

    def __init__(self, data: Mapping[str, Any], origin: str):
        super().__init__(data)
        self.origin = origin


def _split_folders(text: str) -> list[str]:
    return [p.strip() for p in re.split(f"[\n{re.escape(os.pathsep)}]", text or "") if p.strip()]


def _configured_folders() -> list[str]:
    """The user's profile library and the folders configured in the environment and the preferences."""
    folders = _split_folders(os.environ.get(PROFILE_DIRS_ENV, ""))
    freecad = sys.modules.get("FreeCAD")  # only when FreeCAD is already loaded: never imported from here
    if freecad is not None:
        try:
            folders.insert(0, os.path.join(freecad.getUserAppDataDir(), *USER_LIBRARY))
            folders += _split_folders(freecad.ParamGet(PREFERENCES_GROUP).GetString(PREFERENCE_KEY, ""))
        except Exception:  # a FreeCAD without parameters (odd builds): the environment still counts
            pass
    return folders


def allowed_profile_folders(extra: Sequence[str | os.PathLike] = ()) -> tuple[str, ...]:
    """Folders the model and code cells may name profiles from: the profile library first, then the
    user's library and configured folders, then ``extra`` (e.g. ``ask --profile-dir``); absolute,
    existing folders only, each once."""
    found: list[str] = []
    for folder in [str(PROFILES_DIR), *_configured_folders(), *map(os.fspath, extra)]:
        real = os.path.realpath(os.path.expanduser(folder))
        if os.path.isabs(real) and os.path.isdir(real) and real not in found:
            found.append(real)
    return tuple(found)


def _inside(path: str, folders: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    for folder in folders:
        root = os.path.realpath(folder)
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def _library_names(folders: Sequence[str]) -> list[str]:
    names: set[str] = set()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        names.update(e.name[:-5] for e in entries if e.name.endswith(".toml") and e.is_file(follow_symlinks=False))
    return sorted(names)


def _max_bytes() -> int:
    from ..context import tool_limits

    return int(tool_limits()["profiles"]["max_bytes"])


def _regular_file(path: str, what: str, shown: str) -> os.stat_result:
    """stat of ``path`` (symlinks followed) when it is a regular file under the read cap; NotPermitted else."""
    try:
        info = os.stat(path)
    except OSError:
        raise NotPermitted(f"{what} {shown!r} cannot be read") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotPermitted(f"{what} {shown!r} is not a regular file (FIFOs, devices and sockets are refused)")
    if info.st_size > _max_bytes():
        raise NotPermitted(f"{what} {shown!r} is larger than {_max_bytes():,} bytes")
    return info


def find_profile(name: str | os.PathLike, folders: Sequence[str]) -> Path:
    """The real path of the profile ``name`` (a name like "shop-strict", a file name, or a path) inside
    ``folders``. Outside them, missing or not a ``.toml`` file: the same refusal, so it tells nothing
    about files elsewhere on the host."""
    text = os.fspath(name)
    unknown = NotPermitted(
        f"no profile {text!r} in the profile library or the configured profile folders "
        f"(profiles: {', '.join(_library_names(folders)) or 'none'}); other files cannot be named here")
    if not text or "\0" in text:
        raise unknown
    if os.path.isabs(text):
        candidates = [text]
    else:
        names = [text] if text.endswith(".toml") else [text + ".toml"]
        candidates = [os.path.join(folder, n) for folder in folders for n in names]
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if not candidate.endswith(".toml") or not _inside(real, folders) or not os.path.lexists(real):
            continue
        _regular_file(real, "profile", text)
        return Path(real)
    raise unknown


def read_profile_file(path: Path, shown: str) -> dict:
    """A profile file read without blocking (O_NONBLOCK, a regular file only, the one stat'ed) and up
    to the size cap; errors say what is wrong, never what the file holds."""
    info = _regular_file(str(path), "profile", shown)
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_NOFOLLOW"):  # POSIX; Windows has none of them
        flags |= getattr(os, name, 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise NotPermitted(f"profile {shown!r} cannot be read") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            raise NotPermitted(f"profile {shown!r} changed while it was opened")
        limit = _max_bytes()
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except BlockingIOError:
        raise NotPermitted(f"profile {shown!r} cannot be read without waiting") from None
    finally:
        os.close(fd)
    if size > limit:
        raise NotPermitted(f"profile {shown!r} is larger than {limit:,} bytes")
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError(f"profile {shown!r} is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line \d+, column \d+\)|\(at end of document\)", str(exc))
        raise ProfileError(f"profile {shown!r} is not valid TOML {where.group(0) if where else ''}".rstrip()) from None


def _file_values(data: Any, key: str) -> list[tuple[dict, str]]:
    """Every (table, key) of ``data``'s rule tables (overrides included) that holds ``key``."""
    found: list[tuple[dict, str]] = []
    rules = data.get("rules") if isinstance(data, dict) else None
    stack = [t for t in rules.values() if isinstance(t, dict)] if isinstance(rules, dict) else []
    while stack:
        table = stack.pop()
        if key in table:
            found.append((table, key))
        stack += [t for t in table.values() if isinstance(t, dict)]
    return found


def _restrict_drill_tables(data: dict, folders: Sequence[str]) -> None:
    """Points every ``drill_table`` at a regular ``.toml`` file under resources/ or the profile
    folders (its real path), or refuses: a profile must not make a rule read a host file."""
    roots = [str(RESOURCES), *folders]
    for table, key in _file_values(data, "drill_table"):
        value = table[key]
        if not isinstance(value, str):
            continue  # validation names the bad type
        candidates = [value] if os.path.isabs(value) else [os.path.join(root, value) for root in roots]
        for candidate in candidates:
            real = os.path.realpath(candidate)
            if candidate.endswith(".toml") and _inside(real, roots) and os.path.lexists(real):
                _regular_file(real, "drill table", value)
                table[key] = real
                break
        else:
            raise NotPermitted(f"drill table {value!r}: not a drill table under resources/ or the configured "
                               "profile folders; other files cannot be named here")


def restricted_profile(process: str, user: Any, folders: Sequence[str]) -> Mapping[str, Any] | None:
    """``user`` (a profile name/path inside ``folders`` or an object of overrides) as checked overrides
    for ``load_profile``, for a caller that may not read arbitrary files (the model, a code cell)."""
    if user is None:
        return None
    if isinstance(user, Mapping):
        data, origin, shown = copy.deepcopy(dict(user)), "(inline)", None
    elif isinstance(user, (str, os.PathLike)):
        shown = os.fspath(user)
        path = find_profile(shown, folders)
        data, origin = read_profile_file(path, shown), path.name
    else:
        raise ProfileError("profile must be the name of a profile or an object of overrides")
    _restrict_drill_tables(data, folders)
    if shown is not None:
        if process not in processes():
            _builtin(process)  # the unknown-process error, which names no content
        try:
            _merge(_builtin(process), data, origin)
        except Exception:  # whatever it is, its text may quote the file (a KeyError names the key)
            raise ProfileError(
                f"profile {origin!r} is not a valid {process} profile; the user sees which key is wrong with "
                f"`freecad-spatial check --process {process} --profile <its path>`") from None
    return LibraryProfile(data, origin)
