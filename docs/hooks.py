"""MkDocs hooks: the parts of the site that are generated at build time, so they cannot go stale.

- README sections are included, not copied: ``<!-- readme-section: Heading -->`` in a page is
  replaced by the body of the README section whose ``## `` heading starts with ``Heading``
  (``<!-- readme-section: intro -->``: the text before the first ``## ``). The tour page includes
  the README tour this way, so the two cannot diverge.
- ``Command line``: one page per command of ``seqlens.cli.COMMAND_MODULES``, rendering the
  ``--help`` of the command and of every subcommand from the argparse parsers.
- ``Python API``: one page per public module of ``seqlens`` (mkdocstrings renders the docstrings).
- ``Guides``: every ``docs/guide/*.md`` present at build time, in a fixed order for the known ones.
- ``<!-- study-sections -->``: the sections of ``seqlens study`` and its settings per mode.
"""

from __future__ import annotations

import contextlib
import os
import pkgutil
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# guide pages in this order first; any other docs/guide/*.md follows alphabetically
GUIDE_ORDER = ["your-own-data", "your-own-model", "variants", "formats", "from-tangermeme-and-captum"]
# API pages in this order first; any other public module follows alphabetically
API_ORDER = ["alphabet", "io", "motifs", "simulate", "models", "train", "attribution", "interpret", "msa",
             "plot", "report", "genome", "data"]
NOT_API = {"cli"}  # the command line has its own pages
HELP_COLUMNS = "100"  # width of the rendered --help text

_COMMANDS: dict[str, str] = {}  # set by on_config, read by on_files
_API: dict[str, str] = {}

_MARKER = re.compile(r"<!--\s*readme-section:\s*(.+?)\s*-->")
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


# ---------------------------------------------------------------- README sections


def readme_section(heading: str, text: str | None = None) -> str:
    """Body of the README's ``## `` section whose heading starts with ``heading`` (case-insensitive),
    without the heading line; ``"intro"`` is the text between the title and the first ``## ``."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    level2 = [i for i, line in enumerate(lines) if line.startswith("## ")]
    if heading.lower() == "intro":
        start = next((i + 1 for i, line in enumerate(lines) if line.startswith("# ")), 0)
        end = level2[0] if level2 else len(lines)
    else:
        starts = [i for i in level2 if lines[i][3:].strip().lower().startswith(heading.lower())]
        if len(starts) != 1:
            raise ValueError(f"README.md: expected one '## {heading}...' section, found {len(starts)} "
                             f"(headings: {[lines[i][3:] for i in level2]})")
        start = starts[0] + 1
        end = next((i for i in level2 if i > start), len(lines))
    return "\n".join(lines[start:end]).strip("\n") + "\n"


def _docs_link(match: re.Match) -> str:
    """A README link, relative to the repository root, made right for a page at the top of docs/."""
    bang, label, target = match.groups()
    if re.match(r"^([a-z]+:|/)", target):
        return match.group(0)
    if target.startswith("#"):  # an anchor of the README, not of this page
        return label
    if target.startswith("docs/"):
        return f"{bang}[{label}]({target[len('docs/'):]})"
    return f"{label} (`{target}` in the source tree)"


def _demote(markdown: str) -> str:
    """``### x`` -> ``## x`` outside code fences (the included section lives under the page title)."""
    out, fence = [], None
    for line in markdown.splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        elif fence is None:
            if re.match(r"^#{3,6} ", line):
                line = line[1:]
            line = _LINK.sub(_docs_link, line)
        out.append(line)
    return "\n".join(out) + "\n"


def include_readme(markdown: str) -> str:
    """Replace every ``<!-- readme-section: Heading -->`` marker with that README section."""
    return _MARKER.sub(lambda m: _demote(readme_section(m.group(1))), markdown)


# ---------------------------------------------------------------- command line


@contextlib.contextmanager
def _columns(width: str):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _subcommands(parser) -> list:
    """``(name, one-line help, parser)`` of each subcommand of ``parser``, in --help order."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def command_pages() -> dict[str, str]:
    """``{command: markdown}``, one page per top-level command, plus ``"index"``."""
    from seqlens.cli import COMMAND_MODULES, build_parser

    with _columns(HELP_COLUMNS):
        parser = build_parser()
        commands = _subcommands(parser)
        missing = set(COMMAND_MODULES) - {name for name, _, _ in commands}
        if missing:
            raise ValueError(f"commands of COMMAND_MODULES not in the parser: {sorted(missing)}")
        pages = {"index": _command_index(parser, commands)}
        for name, summary, sub in commands:
            pages[name] = _command_page(f"seqlens {name}", summary, sub)
    return pages


def _command_index(parser, commands) -> str:
    rows = "\n".join(f"| [`seqlens {name}`]({name}.md) | {_cell(summary)} |" for name, summary, _ in commands)
    return (
        "# Command line\n\n"
        "Every page of this section is rendered at build time from the command's own argparse "
        "parser (`seqlens <command> --help`), so it always matches the installed version.\n\n"
        "| command | what it does |\n|---|---|\n" + rows + "\n\n"
        "## `seqlens --help`\n\n```text\n" + parser.format_help().rstrip() + "\n```\n"
    )


def _command_page(prog: str, summary: str, parser, level: int = 1) -> str:
    """Heading, one-line summary and --help of ``prog``, then the same for each of its subcommands."""
    text = f"{'#' * level} `{prog}`\n\n"
    if summary:
        text += summary[0].upper() + summary[1:] + ".\n\n"
    text += "```text\n" + parser.format_help().rstrip() + "\n```\n"
    for name, sub_summary, sub in _subcommands(parser):
        text += "\n" + _command_page(f"{prog} {name}", sub_summary, sub, min(level + 1, 6))
    return text


# ---------------------------------------------------------------- Python API


def api_modules() -> list[str]:
    """Public top-level modules of seqlens (no leading underscore, not the CLI), in page order."""
    import seqlens

    names = {m.name for m in pkgutil.iter_modules(seqlens.__path__) if not m.name.startswith("_")}
    names -= NOT_API
    return [n for n in API_ORDER if n in names] + sorted(names - set(API_ORDER))


def _summary(module: str) -> str:
    """First sentence of a module's docstring, read without importing it."""
    import ast

    package = ROOT / "src" / "seqlens" / module
    path = package / "__init__.py" if package.is_dir() else package.with_suffix(".py")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.split(". ")[0].rstrip(".")


def api_pages() -> dict[str, str]:
    """``{module: markdown}`` for every public module, plus ``"index"``."""
    modules = api_modules()
    rows = "\n".join(f"| [`seqlens.{m}`]({m}.md) | {_cell(_summary(m))} |" for m in modules)
    pages = {"index": "# Python API\n\nGenerated from the docstrings of the public modules (shapes are "
                      "`(N, A, L)` one-hot batches unless a docstring says otherwise).\n\n"
                      "| module | contents |\n|---|---|\n" + rows + "\n"}
    for m in modules:
        pages[m] = f"# `seqlens.{m}`\n\n::: seqlens.{m}\n"
    return pages


# ---------------------------------------------------------------- the study


def study_sections() -> str:
    """Markdown list of the study's sections (from their module docstrings) and a settings table."""
    import ast

    from seqlens.study.context import SETTINGS
    from seqlens.study.runner import SECTIONS

    parts = []
    for key, module in SECTIONS.items():
        path = ROOT / "src" / "seqlens" / "study" / f"{module}.py"
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        title, _, body = doc.partition("\n\n")
        parts.append(f"### `{key}`: {title.split(': ', 1)[-1].rstrip('.')}\n\n{' '.join(body.split())}\n")
    modes = [m for m in ("quick", "default") if m in SETTINGS]
    keys = sorted(set().union(*(SETTINGS[m] for m in modes)))
    rows = "\n".join(
        f"| `{k}` | " + " | ".join(f"`{SETTINGS[m].get(k, '')}`" for m in modes) + " |" for k in keys)
    table = ("| setting | " + " | ".join(f"`--{m}`" if m == "quick" else m for m in modes) + " |\n"
             + "|---" * (len(modes) + 1) + "|\n" + rows + "\n")
    return "\n".join(parts) + "\n### Settings per mode\n\n" + table


# ---------------------------------------------------------------- MkDocs events


def _guide_pages(docs_dir: Path) -> list[str]:
    found = {p.stem: f"guide/{p.name}" for p in sorted((docs_dir / "guide").glob("*.md"))}
    return [found[s] for s in GUIDE_ORDER if s in found] + [found[s] for s in found if s not in GUIDE_ORDER]


def on_config(config):
    """Fill the nav sections ``Guides``, ``Command line`` and ``Python API`` (empty in mkdocs.yml)."""
    global _COMMANDS, _API
    _COMMANDS, _API = command_pages(), api_pages()
    fill = {
        "Guides": _guide_pages(Path(config["docs_dir"])),
        "Command line": [f"cli/{name}.md" for name in _COMMANDS],
        "Python API": [f"api/{name}.md" for name in _API],
    }
    nav = []
    for entry in config["nav"]:
        (title, value), = entry.items() if isinstance(entry, dict) else ((None, entry),)
        if title in fill:
            if fill[title]:
                nav.append({title: fill[title]})
        else:
            nav.append(entry)
    config["nav"] = nav
    return config


def on_files(files, config):
    """Add the generated command-line and API pages."""
    for folder, pages in (("cli", _COMMANDS), ("api", _API)):
        for name, content in pages.items():
            files.append(File.generated(config, f"{folder}/{name}.md", content=content))
    return files


_GUIDE_LINK = re.compile(r"\[([^\]]+)\]\((guide/[\w.-]+\.md)(#[^)\s]*)?\)")


def unlink_missing_guides(markdown: str, docs_dir: Path) -> str:
    """``[label](guide/x.md)`` -> ``label`` when docs/guide/x.md is not there (yet): guide pages
    are written by others and may land after the pages that point to them."""
    return _GUIDE_LINK.sub(lambda m: m.group(0) if (docs_dir / m.group(2)).is_file() else m.group(1),
                           markdown)


def on_page_markdown(markdown, page, config, files):
    markdown = include_readme(markdown)
    if not page.file.src_uri.startswith("guide/"):
        markdown = unlink_missing_guides(markdown, Path(config["docs_dir"]))
    if "<!-- study-sections -->" in markdown:
        markdown = markdown.replace("<!-- study-sections -->", study_sections())
    if "<!-- tangermeme-captum -->" in markdown:
        guide = Path(config["docs_dir"]) / "guide" / "from-tangermeme-and-captum.md"
        markdown = markdown.replace("<!-- tangermeme-captum -->", (
            "The genomics half (tangermeme and captum: functions, arguments and conventions side "
            "by side) has its own page: "
            "[Coming from tangermeme and captum](guide/from-tangermeme-and-captum.md)."
            if guide.is_file() else
            "The page mapping tangermeme and captum to seqlens is not part of this build yet."))
    return markdown

