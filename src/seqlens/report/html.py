"""A small HTML report: sections of tables and figures, each with a one-line reading.

The report folder holds ``index.html`` plus every file it references (figures as PNG, the CSV
behind every table), so the folder is self-contained and can be copied or zipped as a whole.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from seqlens.io.atomic import atomic_path

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { border-bottom: 2px solid #2a6f97; padding-bottom: .3em; }
h2 { color: #2a6f97; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #eef4f8; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
.reading { background: #f6f9fb; border-left: 4px solid #2a6f97; padding: .3em .8em; margin: .4em 0; }
.meta { color: #666; font-size: 0.85em; }
nav a { margin-right: 1em; }
td.chance { background: #fbe3e3; color: #a40000; font-weight: bold; }
.verdict { padding: 1px 6px; border-radius: 3px; font-weight: bold; white-space: nowrap; }
.v-reproduced { background: #dff3e3; color: #17692b; }
.v-not-reproduced { background: #fde8d8; color: #9a4a00; }
.v-at-chance { background: #fbe3e3; color: #a40000; }
#summary td { text-align: left; }
"""


@dataclass
class _Item:
    kind: str  # "table", "figure", "text" or "finding"
    title: str
    reading: str = ""
    path: str = ""
    html: str = ""
    data: dict = field(default_factory=dict)  # a finding's fields


@dataclass
class Section:
    """One report section: a title, an introduction and a list of tables/figures/text."""

    key: str
    title: str
    intro: str = ""
    items: list[_Item] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A JSON-able copy (read back by :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Section:
        items = [_Item(**item) for item in data.get("items", [])]
        return cls(data["key"], data["title"], data.get("intro", ""), items)

    def files(self) -> list[str]:
        """The report-relative paths of the section's tables and figures."""
        return [item.path for item in self.items if item.path]


class Report:
    """Collects sections, copies their files into ``out_dir`` and writes ``index.html``.

    Parameters
    ----------
    out_dir : the report folder (created); tables go to ``tables/``, figures to ``figures/``.
    title : page title.
    """

    def __init__(self, out_dir: str | Path, title: str = "seqlens report"):
        self.out_dir = Path(out_dir)
        self.title = title
        self.sections: list[Section] = []
        (self.out_dir / "tables").mkdir(parents=True, exist_ok=True)
        (self.out_dir / "figures").mkdir(parents=True, exist_ok=True)

    def section(self, key: str, title: str, intro: str = "") -> Section:
        sec = Section(key, title, intro)
        self.sections.append(sec)
        return sec

    def add(self, section: Section) -> Section:
        """Add a finished section (e.g. :meth:`Section.from_dict` of an earlier run's)."""
        self.sections.append(section)
        return section

    def table(self, section: Section, df: pd.DataFrame, name: str, title: str, reading: str = "",
              float_format: str = "{:.3f}", chance: dict[str, float] | None = None) -> Path:
        """Add a table; its CSV is written to ``tables/<name>.csv`` and linked. ``chance`` maps
        columns to their chance level (AUROC 0.5, match fraction 0.0): cells within
        :data:`~seqlens.report.findings.CHANCE_MARGIN` of it are shown in red as chance-level."""
        csv = self.out_dir / "tables" / f"{name}.csv"
        with atomic_path(csv) as tmp:
            df.to_csv(tmp, index=False)
        body = _table_html(df, float_format, chance or {})
        section.items.append(_Item("table", title, reading, f"tables/{name}.csv", body))
        return csv

    def finding(self, section: Section, finding) -> None:
        """Add a :class:`~seqlens.report.findings.Finding`: shown in its section and collected in
        the summary at the top of the page."""
        section.items.append(_Item("finding", finding.claim, data=asdict(finding)))

    def findings(self) -> list[dict]:
        """Every finding of the report's sections, in order, as dicts."""
        return [item.data for sec in self.sections for item in sec.items if item.kind == "finding"]

    def figure(self, section: Section, path: str | Path, title: str, reading: str = "") -> Path:
        """Add a figure; the file is copied into ``figures/`` unless it is already there."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"figure {path} does not exist")
        dest = self.out_dir / "figures" / path.name
        if path.resolve() != dest.resolve():
            shutil.copyfile(path, dest)
        section.items.append(_Item("figure", title, reading, f"figures/{path.name}"))
        return dest

    def text(self, section: Section, text: str, title: str = "") -> None:
        section.items.append(_Item("text", title, html=f"<p>{html.escape(text)}</p>"))

    def write(self, footer: str = "") -> Path:
        """Write ``index.html`` atomically and return its path."""
        esc = html.escape
        parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(self.title)}</title>",
                 f"<style>{_STYLE}</style></head><body><h1>{esc(self.title)}</h1>"]
        parts.append(_summary_html(self.findings()))
        if len(self.sections) > 1:
            links = " ".join(f"<a href='#{esc(s.key)}'>{esc(s.title)}</a>" for s in self.sections)
            parts.append(f"<nav>{links}</nav>")
        for sec in self.sections:
            parts.append(f"<h2 id='{esc(sec.key)}'>{esc(sec.title)}</h2>")
            if sec.intro:
                parts.append(f"<p>{esc(sec.intro)}</p>")
            for item in sec.items:
                if item.kind == "finding":
                    parts.append(f"<p>{_badge(item.data['verdict'])} {esc(item.title)}: "
                                 f"{esc(item.data['ours'])} (published: {esc(item.data['published'])})</p>")
                    continue
                if item.title:
                    parts.append(f"<h3>{esc(item.title)}</h3>")
                if item.kind == "table":
                    parts.append(item.html)
                    parts.append(f"<div class='meta'><a href='{esc(item.path)}'>CSV</a></div>")
                elif item.kind == "figure":
                    parts.append(f"<figure><img src='{esc(item.path)}' alt='{esc(item.title)}'></figure>")
                else:
                    parts.append(item.html)
                if item.reading:
                    parts.append(f"<div class='reading'>{esc(item.reading)}</div>")
        if footer:
            parts.append(f"<p class='meta'>{esc(footer)}</p>")
        parts.append("</body></html>")
        index = self.out_dir / "index.html"
        with atomic_path(index) as tmp:
            tmp.write_text("\n".join(parts))
        return index


def _badge(verdict: str) -> str:
    return f"<span class='verdict v-{verdict.replace(' ', '-')}'>{html.escape(verdict)}</span>"


def _summary_html(findings: list[dict]) -> str:
    """The one-screen summary: how many findings reproduced, and one row per finding."""
    if not findings:
        return ""
    counts = {v: sum(f["verdict"] == v for f in findings) for v in ("reproduced", "not reproduced",
                                                                     "at chance")}
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(f['claim'])}</td><td>{esc(f['ours'])}</td><td>{esc(f['published'])}"
                   f"</td><td>{_badge(f['verdict'])}</td><td>{esc(f.get('models', ''))}</td></tr>"
                   for f in findings)
    return (f"<section id='summary'><p><b>{counts['reproduced']} of {len(findings)} published findings "
            f"reproduced in this run</b>; {counts['not reproduced']} not reproduced, "
            f"{counts['at chance']} at chance level (these prove nothing).</p>"
            "<table><tr><th>finding</th><th>this run</th><th>published</th><th>verdict</th>"
            f"<th>models</th></tr>{rows}</table></section>")


def _table_html(df: pd.DataFrame, float_format: str, chance: dict[str, float]) -> str:
    """``df`` as an HTML table; numeric cells of the ``chance`` columns that sit at chance level
    get class ``chance`` (red) and a tooltip saying so."""
    from seqlens.report.findings import at_chance

    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in df.columns)
    rows = []
    for values in df.itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, values):
            is_num = isinstance(v, (int, float)) and not isinstance(v, bool)
            text = float_format.format(v) if isinstance(v, float) else str(v)
            if is_num and col in chance and at_chance(float(v), chance[col]):
                cells.append(f"<td class='chance' title='at chance level'>{esc(text)}</td>")
            else:
                cells.append(f"<td>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def referenced_files(index: str | Path) -> list[Path]:
    """Every local file an ``index.html`` links to (``src``/``href`` attributes), as paths."""
    import re

    index = Path(index)
    refs = re.findall(r"""(?:src|href)=['"]([^'"#]+)['"]""", index.read_text())
    return [index.parent / r for r in refs if "://" not in r]
