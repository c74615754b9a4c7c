"""Griffe extensions for the API pages (configured in mkdocs.yml).

``HouseDocstrings`` reads seqlens' docstrings the way they are written. seqlens documents
parameters numpy-style but puts the description after the colon (``lambda_h : L2 strength on
fields.``), with types in the signature, and its Returns sections are prose (``(N, A, L)`` float32
array ...). Read as strict numpy, the description would land in the "type" column. Before griffe
parses a docstring, this rewrites such items into numpy's typeless forms (``lambda_h`` / indented
description; ``:`` / indented prose for returns), so the type comes from the signature. An item
whose text after the colon is a Python expression (``int``, ``np.ndarray | None``) is a real type
and is left alone. Sphinx roles (``:func:`name```) become inline code.

``DocumentedOnce`` renders each object once, where it is defined: a package that re-exports names
from its submodules (``from seqlens.msa.potts import Potts``) lists them in its docstring, and the
objects themselves appear under their submodule (objects defined in a private module, such as
``seqlens.attribution._utils``, stay where they are re-exported).
"""

from __future__ import annotations

import ast
import re

import griffe

NAMED_SECTIONS = {"parameters", "other parameters", "attributes", "receives"}
RETURN_SECTIONS = {"returns", "yields"}
_ITEM = re.compile(r"^(?P<names>\*{0,2}[A-Za-z_]\w*(?:, \*{0,2}[A-Za-z_]\w*)*) : (?P<rest>.+)$")
_DASHES = re.compile(r"^-{3,}$")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")
_NAMES = re.compile(r"^\*{0,2}[A-Za-z_]\w*(?:, \*{0,2}[A-Za-z_]\w*)*$")


def _is_type(text: str) -> bool:
    try:
        ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return False
    return True


def rewrite(docstring: str) -> str:
    """The docstring with description-after-colon items turned into numpy's typeless items.

    In a Parameters-like section, a prose paragraph after a blank line (not an item) starts a
    ``Notes`` section; an unindented line right after an item continues it. In a Returns section,
    consecutive prose lines make one item described by that prose.
    """
    lines = docstring.splitlines()
    out: list[str] = []
    section, blank_before, prose = None, True, False
    for k, line in enumerate(lines):
        following = lines[k + 1].strip() if k + 1 < len(lines) else ""
        if line.strip() and _DASHES.match(following) and not line.startswith(" "):
            section, prose = line.strip().lower(), False
            out.append(line)
            continue
        indented_or_blank = not line.strip() or line.startswith(" ") or _DASHES.match(line.strip())
        if section not in NAMED_SECTIONS | RETURN_SECTIONS or indented_or_blank:
            blank_before = not line.strip()
            prose = prose and bool(line.strip())
            out.append(line)
            continue
        match = _ITEM.match(line)
        typed = match is not None and _is_type(match["rest"])
        if typed or _NAMES.match(line):
            out.append(line)
        elif match and section in NAMED_SECTIONS:
            out += [match["names"], "    " + match["rest"]]
        elif match:
            out += [match["names"] + " :", "    " + match["rest"]]
        elif section in RETURN_SECTIONS:
            out += ["    " + line] if prose else [":", "    " + line]
            prose = True
        elif blank_before:
            out += ["Notes", "-----", line]
            section = "notes"
        else:
            out.append("    " + line)
        blank_before = False
    return _ROLE.sub(lambda m: f"`{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}`", "\n".join(out))


class HouseDocstrings(griffe.Extension):
    """Rewrite every docstring with :func:`rewrite` before it is parsed."""

    def on_instance(self, *, node, obj, agent, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)


class DocumentedOnce(griffe.Extension):
    """Drop re-exported seqlens objects (aliases) from the modules that import them."""

    def on_package(self, *, pkg, loader, **kwargs) -> None:
        if pkg.path == "seqlens":
            self._drop_aliases(pkg)

    def _drop_aliases(self, module) -> None:
        for name, member in list(module.members.items()):
            if member.is_alias:
                try:
                    target = member.final_target
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    continue  # unresolved: keep what griffe shows
                public_home = not any(part.startswith("_") for part in target.path.split("."))
                if not target.is_module and target.path.startswith("seqlens.") and public_home:
                    module.del_member(name)
            elif member.is_module:
                self._drop_aliases(member)
