"""One self-contained HTML report: each part drawn with numbered findings, and a table.

Everything is inline (CSS, the SVG pictures from render_svg, a few lines of
script to jump from a marker to its row), so the file can be mailed or kept
as a CI artifact. Severities map to explicit colours; anything else is drawn
in a loud "unknown" style, never in a reassuring one.
"""

from __future__ import annotations

import datetime

from freecad_spatial import __version__

from ..dfm.rules import describe
from .batch import FileResult, Report
from .output import printable

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>DFM report — {{ report.process }}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1180px; padding: 16px 24px; color: #1d232b; }
  h1 { font-size: 1.5em; margin: 0.2em 0; }
  h2 { font-size: 1.15em; margin: 0; word-break: break-all; }
  .meta { color: #56606d; font-size: 0.9em; }
  .summary span { display: inline-block; margin-right: 1.2em; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.8em; font-weight: 600; color: #fff; }
  .sev-error { background: #d73a49; }
  .sev-warning { background: #e38c09; }
  .sev-info { background: #0366d6; }
  .sev-unknown { background: #7800a0; outline: 2px dashed #000; }
  .status-pass { background: #1a7f37; }
  .reattached { background: #6f42c1; font-size: 0.7em; }
  .status-error { background: #1d232b; }
  td.title { font-weight: 600; }
  td.title .message { font-weight: 400; color: #1d232b; margin-top: 2px; }
  td.title .note { font-weight: 400; }
  section.file { border: 1px solid #d8dee4; border-radius: 6px; margin: 18px 0; padding: 12px 16px; }
  .file-head { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
  .reason { background: #fff1f0; border-left: 4px solid #d73a49; padding: 6px 10px; margin: 6px 0; }
  .body { display: flex; gap: 18px; align-items: flex-start; flex-wrap: wrap; }
  .picture { flex: 0 1 460px; }
  .picture svg { border: 1px solid #e4e8ec; border-radius: 4px; width: 100%; height: auto; }
  .picture .marker { cursor: pointer; }
  table { border-collapse: collapse; font-size: 0.88em; flex: 1 1 560px; }
  th, td { text-align: left; vertical-align: top; padding: 4px 6px; border-bottom: 1px solid #eaeef2; }
  th { background: #f4f6f8; }
  td.num { font-weight: 700; text-align: center; }
  tr.flash { background: #fff8c5; }
  code { font-size: 0.95em; }
  .note { color: #56606d; font-size: 0.85em; }
  .none { color: #56606d; font-style: italic; }
  details.skipped { margin-top: 0.6em; color: #56606d; font-size: 0.85em; }
  details.skipped summary { cursor: pointer; }
</style>
</head>
<body>
<h1>DFM report — {{ report.process }}</h1>
<div class="meta">freecad-spatial {{ version }} · {{ generated }} · material <b>{{ report.profile.get("material", "?") }}</b>
{%- if report.process == "injection-molding" and report.profile.get("pull_direction") %} · pull direction {{ report.profile.pull_direction | vec }}{% endif %}
{%- if report.process == "fdm" and report.profile.get("build_direction") %} · build direction {{ report.profile.build_direction | vec }}{% endif %}
 · profile {{ report.profile.get("sources", []) | join(" + ") }} · fails on <b>{{ report.fail_on }}</b></div>
<p class="summary">
  <span>{{ counts.files }} file(s): {{ counts.files_ok }} checked, {{ counts.files_error }} not checked</span>
  <span><span class="badge sev-error">{{ counts.error }} error{{ 's' if counts.error != 1 }}</span></span>
  <span><span class="badge sev-warning">{{ counts.warning }} warning{{ 's' if counts.warning != 1 }}</span></span>
  <span><span class="badge sev-info">{{ counts.info }} info</span></span>
</p>
{% if report.not_implemented %}<p class="note">Not implemented yet, so not checked: {% for r in report.not_implemented %}<code>{{ r }}</code>{% if not loop.last %}, {% endif %}{% endfor %}.</p>{% endif %}
{% for section in sections %}{{ section | safe }}{% endfor %}
<script>
document.querySelectorAll("section.file").forEach(function (section) {
  section.querySelectorAll(".picture .marker").forEach(function (marker) {
    marker.addEventListener("click", function () {
      var row = section.querySelector('tr[data-finding="' + marker.getAttribute("data-finding") + '"]');
      if (!row) return;
      row.scrollIntoView({behavior: "smooth", block: "center"});
      row.classList.add("flash");
      setTimeout(function () { row.classList.remove("flash"); }, 1500);
    });
  });
});
</script>
</body>
</html>
"""

SECTION = r"""<section class="file" id="file-{{ index }}">
  <div class="file-head"><span class="badge {{ verdict.css }}" title="{{ verdict.tip }}">{{ verdict.text }}</span><h2>{{ file.name }}</h2><span class="meta">{{ '%.2f' | format(file.seconds) }} s</span></div>
  {% if file.error %}<div class="reason">{{ file.error | printable }}</div>{% endif %}
  <div class="body">
    {% if file.svg %}<div class="picture">{{ file.svg | safe }}</div>{% endif %}
    {% if file.findings %}
    <table>
      <tr><th>#</th><th>severity</th><th>rule</th><th>finding</th><th>where</th><th>measured</th></tr>
      {% for f in file.findings %}{% set n = numbers[loop.index0] %}
      <tr id="file-{{ index }}-finding-{{ n }}" data-finding="{{ n }}">
        <td class="num">{{ n }}{% if attachments and attachments[loop.index0] == "rematched" %}<div><span class="badge reattached" title="The part changed since this finding was made; it was found again on {{ f.refs | join(', ') }} by its geometry. Check that it still applies.">re-attached</span></div>{% endif %}</td>
        <td><span class="badge {{ severity_class.get(f.severity.value, 'sev-unknown') }}">{{ f.severity.value }}</span></td>
        <td><code title="{{ rules[f.rule].title }}">{{ f.rule }}</code></td>
        <td class="title">{{ title_of(f) }}{% if title_of(f) != f.message %}<div class="message">{{ f.message }}</div>{% endif %}{% if f.suggestion %}<div class="note">{{ f.suggestion }}</div>{% endif %}</td>
        <td>{% for ref in f.refs[:6] %}<code>{{ ref }}</code>{% if not loop.last %}, {% endif %}{% endfor %}{% if f.refs | length > 6 %} … (+{{ f.refs | length - 6 }}){% endif %}
            {% if f.location %}<div class="note">at {{ f.location | vec }} mm</div>{% endif %}</td>
        <td>{% if f.measured is not none %}{{ f.measured | amount(f.unit) }}{% if f.limit is not none %}<div class="note">limit {{ f.limit | amount(f.unit) }}</div>{% endif %}{% endif %}</td>
      </tr>
      {% endfor %}
    </table>
    {% elif file.status == "ok" %}<p class="none">No findings for the rules that ran.</p>{% endif %}
  </div>
  {% if file.skipped %}<details class="skipped"><summary>Reviewed or not checked ({{ file.skipped | length }})</summary>
    <ul>{% for s in file.skipped %}<li>{% if s.get("number") %}<b>#{{ s.number }}</b> {% endif %}{% if s.rule %}<code>{{ s.rule }}</code>{% endif %}{% if s.object %} on <code>{{ s.object }}</code>{% endif %}: {{ s.reason | printable }}</li>{% endfor %}</ul>
  </details>{% endif %}
</section>
"""

SEVERITY_CLASS = {"error": "sev-error", "warning": "sev-warning", "info": "sev-info"}
# How a value reads with its unit: 0.5 mm, 1.5°, 5.8:1, 12 %.
UNIT_FORMATS = {"mm": "{:.4g} mm", "deg": "{:.4g}°", "ratio": "{:.4g}:1", "%": "{:.4g} %", "mm3": "{:.4g} mm³"}


def amount(value: float, unit: str | None) -> str:
    """A measured value or limit as an engineer writes it."""
    return UNIT_FORMATS.get(unit or "", "{:.4g}" + (f" {unit}" if unit else "")).format(value)


def verdict(file: FileResult) -> dict:
    """The badge beside a file's name: its worst open finding and how many, 'pass' only when there are none.

    A file with errors must never carry a neutral "ok" (it was checked, but it did not pass).
    """
    if file.status != "ok":
        return {"text": "not checked", "css": "status-error", "tip": "the file could not be checked"}
    counts = {s: sum(1 for f in file.findings if f.severity.value == s) for s in SEVERITY_CLASS}
    for severity in ("error", "warning", "info"):
        if counts[severity]:
            n = counts[severity]
            return {"text": f"{n} {severity}{'s' if n != 1 and severity != 'info' else ''}", "css": SEVERITY_CLASS[severity],
                    "tip": ", ".join(f"{c} {s}" for s, c in counts.items() if c)}
    return {"text": "pass", "css": "status-pass", "tip": "checked: no open findings for the rules that ran"}


class MissingDependency(RuntimeError):
    """jinja2 is not installed."""


def require_jinja2():
    """The jinja2 module, or MissingDependency saying how to install it."""
    try:
        import jinja2
    except ImportError:
        raise MissingDependency("the HTML report needs jinja2: pip install jinja2") from None
    return jinja2


def render(report: Report, now: datetime.datetime | None = None) -> str:
    jinja2 = require_jinja2()
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["vec"] = lambda v: "({})".format(", ".join(f"{c:.4g}" for c in v))
    env.filters["printable"] = printable
    env.filters["amount"] = amount
    rule_ids = {f.rule for file in report.files for f in file.findings}
    rules = {r: describe(r) for r in rule_ids}
    section = env.from_string(SECTION)

    def one(i: int, file: FileResult) -> str:
        from ..dfm.titles import title_of

        text = section.render(file=file, index=i + 1, rules=rules, severity_class=SEVERITY_CLASS, verdict=verdict(file),
                              numbers=file.finding_numbers(), title_of=title_of,
                              attachments=file.attachments if file.attachments and len(file.attachments) == len(file.findings) else None)
        text.encode("utf-8")  # fails here, for this file alone, if it cannot be written
        return text

    sections = report.entries(one)
    return env.from_string(TEMPLATE).render(
        report=report,
        counts=report.counts(),  # after the sections: a file whose section failed counts as an error
        sections=sections,
        version=__version__,
        generated=(now or datetime.datetime.now()).strftime("%Y-%m-%d %H:%M"),
    )
