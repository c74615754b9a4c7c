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
"""


@dataclass
class _Item:
    kind: str  # "table", "figure" or "text"
    title: str
    reading: str = ""
    path: str = ""
    html: str = ""


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
              float_format: str = "{:.3f}") -> Path:
        """Add a table; its CSV is written to ``tables/<name>.csv`` and linked."""
        csv = self.out_dir / "tables" / f"{name}.csv"
        with atomic_path(csv) as tmp:
            df.to_csv(tmp, index=False)
        body = df.to_html(index=False, border=0, escape=True,
                          float_format=lambda v: float_format.format(v))
        section.items.append(_Item("table", title, reading, f"tables/{name}.csv", body))
        return csv

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
        if len(self.sections) > 1:
            links = " ".join(f"<a href='#{esc(s.key)}'>{esc(s.title)}</a>" for s in self.sections)
            parts.append(f"<nav>{links}</nav>")
        for sec in self.sections:
            parts.append(f"<h2 id='{esc(sec.key)}'>{esc(sec.title)}</h2>")
            if sec.intro:
                parts.append(f"<p>{esc(sec.intro)}</p>")
            for item in sec.items:
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


def referenced_files(index: str | Path) -> list[Path]:
    """Every local file an ``index.html`` links to (``src``/``href`` attributes), as paths."""
    import re

    index = Path(index)
    refs = re.findall(r"""(?:src|href)=['"]([^'"#]+)['"]""", index.read_text())
    return [index.parent / r for r in refs if "://" not in r]
