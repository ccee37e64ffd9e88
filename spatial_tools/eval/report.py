"""The report of a results file: accuracy per suite x mode with Wilson 95 % intervals, the tool-access
delta (tools - context, and the share of the gap to 100 % it closes), tokens and cost per item, errors;
as Markdown, JSON or HTML (with the PNG bar chart embedded)."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from pathlib import Path

from .model_modes import eval_settings
from .results import Result
from .stats import wilson

SCORING_RULE = (
    "Each item scores 0 or 1 (items whose tolerance rule is 'ratio': min/max of the two values). The answer is "
    "read after the last 'ANSWER:' marker (else the whole reply): numbers as the last number with its unit "
    "converted, within the item's tolerance; counts exactly; yes/no; refs and lists as normalised sets; DFM "
    "findings on the rule id and the refs (all on the planted feature). An item whose run failed (error) scores "
    "0 and is counted. Intervals: Wilson 95 %."
)
MODE_ORDER = ("reference", "context", "code", "tools", "cells")


def _cost(model: str, tokens_in: float, tokens_out: float) -> float | None:
    price = eval_settings().get("prices", {}).get(model)
    if not price:
        return None
    return (tokens_in * price[0] + tokens_out * price[1]) / 1e6


def summarise(results: list[Result]) -> dict:
    """The report's numbers, from the records alone."""
    cells: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for r in results:
        cells[(r.suite, r.mode, r.model)].append(r)
    rows = []
    for (suite, mode, model), group in sorted(cells.items(), key=lambda kv: (kv[0][0], MODE_ORDER.index(kv[0][1])
                                                                             if kv[0][1] in MODE_ORDER else 9, kv[0][2])):
        n = len(group)
        total = sum(r.score for r in group)
        low, high = wilson(total, n)
        errors: dict[str, int] = defaultdict(int)
        for r in group:
            if r.error:
                errors[r.error_kind or "error"] += 1
        tin = sum(r.tokens_in for r in group) / n
        tout = sum(r.tokens_out for r in group) / n
        rows.append({"suite": suite, "mode": mode, "model": model, "n": n, "score": total,
                     "accuracy": total / n, "ci95": [low, high],
                     "tokens_in_per_item": tin, "tokens_out_per_item": tout,
                     "cost_per_item_usd": _cost(model, tin, tout),
                     "tool_calls_per_item": sum(len(r.tool_calls) for r in group) / n,
                     "wall_s_per_item": sum(r.wall_s for r in group) / n, "errors": dict(errors)})
    deltas = []
    by = {(r["suite"], r["mode"], r["model"]): r for r in rows}
    for (suite, mode, model), row in by.items():
        if mode != "tools" or (suite, "context", model) not in by:
            continue
        ctx = by[(suite, "context", model)]
        delta = row["accuracy"] - ctx["accuracy"]
        gap = 1.0 - ctx["accuracy"]
        deltas.append({"suite": suite, "model": model, "context": ctx["accuracy"], "tools": row["accuracy"],
                       "delta": delta, "gap_closed": (delta / gap) if gap > 0 else None})
    return {"schema": "freecad-spatial/eval-report@1", "scoring": SCORING_RULE, "rows": rows, "deltas": deltas}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def markdown(summary: dict, chart: str | None = None) -> str:
    lines = ["# freecad-spatial eval report", "",
             "| suite | mode | model | n | accuracy | 95 % CI | tokens in/out per item | cost per item | tool calls per item | errors |",
             "|---|---|---|---:|---:|---|---:|---:|---:|---|"]
    for r in summary["rows"]:
        cost = "–" if r["cost_per_item_usd"] is None else f"${r['cost_per_item_usd']:.4f}"
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "–"
        lines.append(f"| {r['suite']} | {r['mode']} | {r['model']} | {r['n']} | {_pct(r['accuracy'])} | "
                     f"{_pct(r['ci95'][0])} – {_pct(r['ci95'][1])} | {r['tokens_in_per_item']:.0f} / "
                     f"{r['tokens_out_per_item']:.0f} | {cost} | {r['tool_calls_per_item']:.1f} | {errors} |")
    if summary["deltas"]:
        lines += ["", "## Tool-access delta (tools − context)", "",
                  "| suite | model | context | tools | delta | share of the gap to 100 % closed |", "|---|---|---:|---:|---:|---:|"]
        for d in summary["deltas"]:
            lines.append(f"| {d['suite']} | {d['model']} | {_pct(d['context'])} | {_pct(d['tools'])} | "
                         f"{100 * d['delta']:+.1f} pts | {_pct(d['gap_closed'])} |")
    if chart:
        lines += ["", f"![accuracy per suite and mode]({Path(chart).name})"]
    lines += ["", f"Scoring: {summary['scoring']}", ""]
    return "\n".join(lines)


def chart_png(summary: dict, path: str | Path) -> Path | None:
    """Bar chart of accuracy per suite x mode with the 95 % intervals; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = summary["rows"]
    suites = list(dict.fromkeys(r["suite"] for r in rows))
    series = list(dict.fromkeys((r["mode"], r["model"]) for r in rows))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(suites) * max(1, len(series)) / 2), 3.6), dpi=110)
    for k, (mode, model) in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for i, suite in enumerate(suites):
            for r in rows:
                if r["suite"] == suite and r["mode"] == mode and r["model"] == model:
                    xs.append(i + (k - (len(series) - 1) / 2) * width)
                    ys.append(100 * r["accuracy"])
                    lo.append(max(0.0, 100 * (r["accuracy"] - r["ci95"][0])))
                    hi.append(max(0.0, 100 * (r["ci95"][1] - r["accuracy"])))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=mode if mode == model else f"{mode} ({model})")
    ax.set_xticks(range(len(suites)), suites)
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy per suite and mode (95 % Wilson intervals)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=max(1, len(series)), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>freecad-spatial eval report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}
td.n{text-align:right}</style></head><body>
<h1>freecad-spatial eval report</h1>
<table><tr><th>suite</th><th>mode</th><th>model</th><th>n</th><th>accuracy</th><th>95 % CI</th>
<th>tokens in / out per item</th><th>cost per item</th><th>tool calls per item</th><th>errors</th></tr>
{% for r in rows %}<tr><td>{{ r.suite }}</td><td>{{ r.mode }}</td><td>{{ r.model }}</td><td class="n">{{ r.n }}</td>
<td class="n">{{ pct(r.accuracy) }}</td><td>{{ pct(r.ci95[0]) }} – {{ pct(r.ci95[1]) }}</td>
<td class="n">{{ "%.0f"|format(r.tokens_in_per_item) }} / {{ "%.0f"|format(r.tokens_out_per_item) }}</td>
<td class="n">{{ "–" if r.cost_per_item_usd is none else "$%.4f"|format(r.cost_per_item_usd) }}</td>
<td class="n">{{ "%.1f"|format(r.tool_calls_per_item) }}</td>
<td>{% for k, v in r.errors|dictsort %}{{ k }} {{ v }} {% else %}–{% endfor %}</td></tr>
{% endfor %}</table>
{% if deltas %}<h2>Tool-access delta (tools − context)</h2>
<table><tr><th>suite</th><th>model</th><th>context</th><th>tools</th><th>delta</th><th>share of the gap closed</th></tr>
{% for d in deltas %}<tr><td>{{ d.suite }}</td><td>{{ d.model }}</td><td class="n">{{ pct(d.context) }}</td>
<td class="n">{{ pct(d.tools) }}</td><td class="n">{{ "%+.1f"|format(100 * d.delta) }} pts</td>
<td class="n">{{ pct(d.gap_closed) }}</td></tr>{% endfor %}</table>{% endif %}
{% if chart %}<p><img alt="accuracy per suite and mode" src="data:image/png;base64,{{ chart }}"></p>
{% else %}<p>(No chart: matplotlib is not installed; pip install 'freecad-spatial[eval]'.)</p>{% endif %}
<p>Scoring: {{ scoring }}</p>
</body></html>
"""


def render(results: list[Result], fmt: str = "md", chart_path: str | Path | None = None) -> str:
    summary = summarise(results)
    if fmt == "json":
        return json.dumps(summary, indent=2) + "\n"
    chart = chart_png(summary, chart_path) if chart_path and summary["rows"] else None
    if fmt == "md":
        return markdown(summary, str(chart) if chart else None)
    import jinja2

    env = jinja2.Environment(autoescape=True)
    embedded = base64.b64encode(chart.read_bytes()).decode() if chart else None
    return env.from_string(HTML).render(rows=summary["rows"], deltas=summary["deltas"], chart=embedded,
                                        scoring=summary["scoring"], pct=_pct)
