"""The documentation site: it builds with warnings as errors, the tour page is the README tour,
every command and public module has its page, and the runnable snippets of the pages run.

A code block of a page under ``docs/`` (README sections included into a page count as part of
it) runs here when the line before its fence is ``<!-- runnable -->``: the ``python`` blocks of
one page share one namespace, in page order, and ``bash`` blocks run with ``.venv/bin`` first on
``PATH``; both in a fresh temporary folder. Keep them to a few seconds each.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API_MODULES = ["alphabet", "io", "motifs", "simulate", "models", "train", "attribution", "interpret", "msa",
               "plot", "report", "genome", "data"]
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>[^\n`]*)\n"
                   r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S)


def _load_hooks():
    spec = importlib.util.spec_from_file_location("seqlens_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_docstrings():
    spec = importlib.util.spec_from_file_location("seqlens_docs_api_extensions", DOCS / "api_extensions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_tour_blocks() -> list[str]:
    """Fenced code blocks of the README's tour section (read here independently of the hooks)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = re.search(r"^## .*tour.*$", text, re.M | re.I)
    assert start, "README.md has no '## ... tour' section"
    end = re.search(r"^## ", text[start.end():], re.M)
    section = text[start.end(): start.end() + end.start() if end else len(text)]
    return [m["body"].rstrip("\n") for m in FENCE.finditer(section)]


def page_code_blocks(page: Path) -> list[str]:
    """Text of every ``<pre><code>`` block of a built HTML page, as a reader sees it."""
    text = page.read_text(encoding="utf-8")
    article = text[text.find("<article"): text.find("</article>")]
    blocks = re.findall(r"<pre[^>]*>(.*?)</pre>", article, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", b)).rstrip("\n") for b in blocks]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once with ``mkdocs build --strict`` (what ``make docs`` runs)."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        reason = "mkdocs is not installed (pip install -e '.[docs]'; `make test` installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must build the documentation")
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    return out


def test_site_builds_with_every_page(site):
    for page in ["index.html", "install/index.html", "tour/index.html", "study/index.html",
                 "anchors/index.html", "cli/index.html", "api/index.html"]:
        assert (site / page).is_file(), page
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Correspondences with the anchors" in home  # the nav


def test_tour_page_is_the_readme_tour(site):
    expected = readme_tour_blocks()
    assert len(expected) >= 2
    assert page_code_blocks(site / "tour" / "index.html") == expected


def test_tour_test_runs_the_docs_tour_commands(site):
    """The shell commands of the docs' tour page are exactly those tests/test_tour.py runs."""
    tour_test = ROOT / "tests" / "test_tour.py"
    if not tour_test.is_file():
        pytest.skip("tests/test_tour.py is not written yet")
    spec = importlib.util.spec_from_file_location("seqlens_tour_test", tour_test)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (site / "tour" / "index.html").read_text(encoding="utf-8")
    shell = [block for block, info in zip(page_code_blocks(site / "tour" / "index.html"),
                                          re.findall(r'<div class="language-(\w+)', page), strict=True)
             if info in ("bash", "sh")]
    commands = [line.strip() for block in shell for line in re.sub(r"\\\n", " ", block).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands and commands == module.tour_commands()


def test_every_command_and_subcommand_has_its_help(site):
    import argparse

    from seqlens.cli import COMMAND_MODULES, build_parser

    def walk(parser, prog):
        yield prog, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{prog} {name}")

    parser = build_parser()
    commands = dict(walk(parser, "seqlens"))
    top = [prog.split()[1] for prog in commands if prog.count(" ") == 1]
    assert set(COMMAND_MODULES) <= set(top)
    for name in top:
        page = (site / "cli" / name / "index.html").read_text(encoding="utf-8")
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        for prog, sub in commands.items():
            if prog == f"seqlens {name}" or prog.startswith(f"seqlens {name} "):
                assert f"usage: {prog}" in text, prog
                for action in sub._actions:  # every option is shown
                    for flag in action.option_strings:
                        if action.help != argparse.SUPPRESS:
                            assert flag in text, (prog, flag)


def test_api_pages_render_the_docstrings(site):
    names = {"alphabet": "one_hot", "io": "output_folder", "motifs": "Motif", "simulate": "regulatory_code",
             "models": "build_model", "train": "fit", "attribution": "saliency",
             "interpret": "evaluate_attribution", "msa": "Potts", "plot": "logo", "report": "Report",
             "genome": "Genome", "data": "data_path"}
    assert set(names) == set(API_MODULES)
    for module, name in names.items():
        page = (site / "api" / module / "index.html").read_text(encoding="utf-8")
        assert f'id="seqlens.{module}' in page and name in page, module
        assert ":func:`" not in page and ":class:`" not in page, module  # roles become code
    # each object once, where it is defined; a re-export from a private module stays
    msa = (site / "api" / "msa" / "index.html").read_text(encoding="utf-8")
    assert 'id="seqlens.msa.potts.Potts"' in msa and 'id="seqlens.msa.Potts"' not in msa
    attribution = (site / "api" / "attribution" / "index.html").read_text(encoding="utf-8")
    assert 'id="seqlens.attribution.correct_gradients"' in attribution


def test_guide_pages_are_in_the_site(site):
    home = (site / "index.html").read_text(encoding="utf-8")
    for page in sorted((DOCS / "guide").glob("*.md")):
        assert (site / "guide" / page.stem / "index.html").is_file(), page.name
        assert f"guide/{page.stem}/" in home, f"{page.name} is not in the navigation"


def test_study_sections_and_cli_are_generated():
    hooks = _load_hooks()
    from seqlens.study.runner import SECTIONS

    text = hooks.study_sections()
    for key in SECTIONS:
        assert f"### `{key}`" in text
    pages = hooks.command_pages()
    from seqlens.cli import COMMAND_MODULES

    assert set(COMMAND_MODULES) | {"index", "predict", "evaluate-attributions"} <= set(pages)
    assert "usage: seqlens msa contacts" in pages["msa"]


def test_readme_section_is_included_and_missing_one_refused():
    hooks = _load_hooks()
    text = ("# t\n\nintro\n\n## Tour\n\n### CLI\n\n```bash\n### not a heading\n```\n\n"
            "[r](docs/x.png) [n](NOTICE.md) [a](#set-up) [w](https://x.org)\n\n## Next\n")
    body = hooks.readme_section("tour", text)
    assert body.startswith("### CLI") and "## Next" not in body
    assert hooks.readme_section("intro", text).strip() == "intro"
    demoted = hooks._demote(body)
    assert "\n## CLI" in "\n" + demoted and "### not a heading" in demoted
    assert "[r](x.png)" in demoted and "n (`NOTICE.md` in the source tree)" in demoted
    assert " a [w](https://x.org)" in demoted
    with pytest.raises(ValueError, match="expected one '## Missing"):
        hooks.readme_section("Missing", text)


def test_links_to_guides_not_there_yet_become_text(tmp_path):
    hooks = _load_hooks()
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "here.md").write_text("# Here\n")
    text = "[a](guide/here.md#x) and [b](guide/gone.md) and [c](tour.md)"
    assert hooks.unlink_missing_guides(text, tmp_path) == "[a](guide/here.md#x) and b and [c](tour.md)"


def test_house_docstrings_are_read_as_numpy():
    rewrite = _load_docstrings().rewrite
    doc = ("Summary.\n\nParameters\n----------\nX : ``(N, A, L)`` one-hot\n    batch.\nn : int\n"
           "a, b : two names.\n\nPlain prose after the items.\n\nReturns\n-------\n``(N,)`` scores,\n"
           "one per row.\n")
    out = rewrite(doc).splitlines()
    assert out[4:7] == ["X", "    ``(N, A, L)`` one-hot", "    batch."]
    assert "n : int" in out  # a real type stays
    assert "a, b" in out and "    two names." in out
    notes = out.index("Notes")
    assert out[notes + 1] == "-----" and out[notes + 2] == "Plain prose after the items."
    assert out[-3:] == [":", "    ``(N,)`` scores,", "    one per row."]
    assert rewrite("See :func:`~seqlens.msa.apc` and :class:`Motif`.") == "See `apc` and `Motif`."


def _runnable_blocks() -> list[tuple[str, list[tuple[str, str]]]]:
    """``(page, [(language, code), ...])`` of the marked blocks, README sections included."""
    include_readme = _load_hooks().include_readme
    pages = []
    for page in sorted(DOCS.rglob("*.md")):
        text = include_readme(page.read_text(encoding="utf-8"))
        blocks = [(m["info"].strip().split()[0] if m["info"].strip() else "", m["body"])
                  for m in FENCE.finditer(text)
                  if text[: m.start()].rstrip().endswith("<!-- runnable -->")]
        if blocks:
            pages.append((str(page.relative_to(DOCS)), blocks))
    return pages


@pytest.mark.parametrize("page, blocks", _runnable_blocks() or [pytest.param("", [], marks=pytest.mark.skip(
    reason="no page marks a block <!-- runnable --> yet"))])
def test_runnable_snippets_run(page, blocks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    namespace: dict = {"__name__": "__docs__"}
    for language, code in blocks:
        if language in ("python", "py"):
            exec(compile(code, f"docs/{page}", "exec"), namespace)
        elif language in ("bash", "sh", "console"):
            run = subprocess.run(["bash", "-euo", "pipefail", "-c", code], env=env, capture_output=True,
                                 text=True, timeout=120)
            assert run.returncode == 0, f"docs/{page}: {code}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        else:
            pytest.fail(f"docs/{page}: a runnable block must be python or bash, got {language!r}")
