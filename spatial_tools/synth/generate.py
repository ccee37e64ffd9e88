"""Generates samples: build, STEP, read back, render with id maps, encode, ask; then the JSON lines.

Sample ``i`` depends only on (seed, its family, i), so the output is the same for any ``--jobs`` (spawned
worker processes) and any order; a sample is done when its ``record.json`` exists (written last,
atomically), which is what makes a run resumable.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..samples import _normalise_step
from . import families as fam
from .qa import assembly_items, config, part_items

RUN_FILE = "synth.json"
JSONL = "samples.jsonl"


@dataclass(frozen=True)
class Run:
    """What a run generates; a resumed run must ask for the same."""

    families: tuple[str, ...]
    count: int
    seed: int
    views: tuple[str, ...]
    family_modules: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"families": list(self.families), "count": self.count, "seed": self.seed, "views": list(self.views),
                "family_modules": list(self.family_modules)}


def family_table(modules: Iterable[str] = ()) -> dict[str, fam.Family]:
    table = dict(fam.BUILTIN)
    for module in modules:
        table.update(fam.load_module_families(module))
    return table


def sample_plan(run: Run, index: int, table: dict[str, fam.Family]) -> tuple[str, fam.Family, dict]:
    """(sample id, family, parameters) of sample ``index``: families in turn, parameters from a seeded RNG."""
    name = run.families[index % len(run.families)]
    family = table[name]
    params = family.sample(random.Random(f"{run.seed}/{name}/{index}"))
    return f"{name}-{index:06d}", family, params


def _write(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def make_sample(out: Path, run: Run, index: int, table: dict[str, fam.Family]) -> dict:
    """Builds one sample's files and returns its record (also written as record.json, last)."""
    import FreeCAD
    import Part

    from ..documents import close_document, open_document
    from ..encoder import encode_json
    from ..render.view import render, tessellate

    sample_id, family, params = sample_plan(run, index, table)
    folder = out / "samples" / sample_id
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "source.py", fam.source_file(family, params))
    step = folder / "part.step"
    solids = fam.build(family, params)
    # Part.Compound, not Part.makeCompound: exporting the latter's result segfaults FreeCAD 1.1 headless.
    Part.Compound(solids).exportStep(str(step.with_suffix(".tmp.step")))
    os.replace(step.with_suffix(".tmp.step"), step)
    _normalise_step(step)
    document = open_document(step)  # as a user (and the re-derivation) opens it: the refs are the STEP's
    document.Label = sample_id  # not the process's document counter: the same in any worker
    try:
        objects = [o.Name for o in document.Objects if getattr(o, "Shape", None) is not None]
        items = part_items(document, objects[0]) if family.kind == "part" else assembly_items(document, objects)
        mesh = tessellate([document.getObject(o) for o in objects])
        size = config()["render"]
        views = []
        for view in run.views:
            picture = render(document, view=view, width=size["width"], height=size["height"], mesh=mesh)
            _write(folder / f"{view}.png", picture.png)
            _write(folder / f"{view}.ids.png", picture.id_map_png())
            views.append({"view": view, "image": f"samples/{sample_id}/{view}.png",
                          "id_map": f"samples/{sample_id}/{view}.ids.png", "sha256": picture.sha256})
        _write(folder / "refs.json", json.dumps(picture.refs))
        _write(folder / "scene.json", encode_json(document))
        if family.kind == "part":  # with the GD&T annotation objects part_items put in: the PMI model
            pmi = folder / "part.FCStd"
            document.saveCopy(str(pmi.with_suffix(".tmp.FCStd")))
            os.replace(pmi.with_suffix(".tmp.FCStd"), pmi)
    finally:
        close_document(document)
    qa = [item.to_dict(i) for i, item in enumerate(items, start=1)]
    record = {"id": sample_id, "index": index, "family": family.name, "kind": family.kind, "seed": run.seed,
              "params_json": json.dumps(params, sort_keys=True), "source": f"samples/{sample_id}/source.py",
              "step": f"samples/{sample_id}/part.step", "scene": f"samples/{sample_id}/scene.json",
              "refs": f"samples/{sample_id}/refs.json", "views": views, "qa": qa,
              "pmi": f"samples/{sample_id}/part.FCStd" if family.kind == "part" else None,
              "freecad": ".".join(FreeCAD.Version()[:3])}
    record["images"] = [v["image"] for v in views]
    record["messages"] = conversation(record)
    _write(folder / "record.json", json.dumps(record, sort_keys=True))
    return record


def _part(kind: str, text: str | None = None, image: str | None = None) -> dict:
    return {"type": kind, "text": text, "image": image}  # every part has every key: one Arrow schema


def conversation(record: dict) -> list[dict]:
    """System, then the views and the first question, then answer/question turns (HF chat format)."""
    prompts = config()["prompts"]
    names = ", ".join(v["view"] for v in record["views"])
    messages = [{"role": "system", "content": [_part("text", prompts["system"])]}]
    for n, item in enumerate(record["qa"]):
        if n == 0:
            content = [_part("image", image=v["image"]) for v in record["views"]]
            content.append(_part("text", prompts["first_user"].format(views=names, question=item["question"])))
        else:
            content = [_part("text", item["question"])]
        messages.append({"role": "user", "content": content})
        messages.append({"role": "assistant", "content": [_part("text", item["answer"])]})
    return messages


def _done(out: Path, sample_id: str) -> bool:
    return (out / "samples" / sample_id / "record.json").exists()


_WORKER: dict[str, Any] = {}


def _start_worker(out: Path, run: Run) -> None:
    """A spawned worker: FreeCAD loaded fresh (a fork of a process with threads may deadlock, as it did
    on FreeCAD 1.1 / Python 3.14), the families re-read from the run (a user's module is not picklable)."""
    from freecad_spatial.spatial_tools import freecad_env

    freecad_env.load()
    _WORKER.update(out=out, run=run, table=family_table(run.family_modules))


def _work(index: int) -> tuple[int, str | None]:
    try:
        make_sample(_WORKER["out"], _WORKER["run"], index, _WORKER["table"])
        return index, None
    except Exception as exc:  # one broken sample is reported, the others go on
        return index, f"{type(exc).__name__}: {exc}"


def generate(out: Path, run: Run, jobs: int = 1, progress: Callable[[int, int], None] | None = None) -> dict:
    """Generates the missing samples of ``run`` in ``out`` and writes samples.jsonl and the dataset card."""
    out.mkdir(parents=True, exist_ok=True)
    table = family_table(run.family_modules)
    unknown = [f for f in run.families if f not in table]
    if unknown:
        raise ValueError(f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(table))})")
    run_file = out / RUN_FILE
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        same_run = {k: v for k, v in previous.items() if k != "count"} == {k: v for k, v in run.to_dict().items() if k != "count"}
        if not same_run:
            raise ValueError(f"{out} holds a run with other settings ({previous}); use another --out")
    _write(run_file, json.dumps(run.to_dict(), sort_keys=True))
    todo = [i for i in range(run.count) if not _done(out, sample_plan(run, i, table)[0])]
    skipped = run.count - len(todo)
    failures: dict[int, str] = {}
    started = time.perf_counter()
    _WORKER.update(out=out, run=run, table=table)
    if jobs > 1 and len(todo) > 1:
        with multiprocessing.get_context("spawn").Pool(jobs, _start_worker, (out, run)) as pool:
            for n, (index, problem) in enumerate(pool.imap_unordered(_work, todo), start=1):
                if problem:
                    failures[index] = problem
                if progress:
                    progress(n, len(todo))
    else:
        for n, index in enumerate(todo, start=1):
            _, problem = _work(index)
            if problem:
                failures[index] = problem
            if progress:
                progress(n, len(todo))
    seconds = time.perf_counter() - started
    records = write_jsonl(out, run, table)
    from .card import write_card

    write_card(out, run, records)
    return {"generated": len(todo) - len(failures), "resumed": skipped, "failed": failures,
            "samples": len(records), "seconds": round(seconds, 3), "out": str(out)}


def write_jsonl(out: Path, run: Run, table: dict[str, fam.Family]) -> list[dict]:
    """samples.jsonl from the finished samples' records, in index order (the same for any --jobs)."""
    records = []
    for i in range(run.count):
        path = out / "samples" / sample_plan(run, i, table)[0] / "record.json"
        if path.exists():
            records.append(json.loads(path.read_text()))
    _write(out / JSONL, "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records))
    return records
