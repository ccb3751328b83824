"""The code blocks of ``docs/*.rst``, as the tests read them.

A block is a ``.. code-block:: LANGUAGE`` (or ``.. code::``,
``.. sourcecode::``) directive, or a literal block after a paragraph that
ends with ``::``. Its *marker* is an RST comment on the line before it,
``.. test: ...``, which readers of the rendered page never see (see
``tests/test_docs.py`` for what a marker may say). Tests that run a block
take it from here, by page and a piece of its text, so they run what the
page says, never a copy of it::

    from tests.docs import block

    code = block("getting-started.rst", "class Profile").code
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. (?:code-block|code|sourcecode)::\s*(?P<language>\S*)\s*$")  # fmt: skip
MARKER = re.compile(r"^\s*\.\. test:\s*(?P<marker>.*?)\s*$")
# A paragraph line that ends with "::" and is not itself a directive.
LITERAL = re.compile(r"^(?P<indent>\s*)(?!\.\. )(?:\S.*)?::\s*$")
# Markdown (README.md): a fenced block, and its marker as an HTML comment.
FENCE = re.compile(r"^```(?P<language>\S*)\s*$")
MARKDOWN_MARKER = re.compile(r"^<!--\s*test:\s*(?P<marker>.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    """One code block of a page: where it is, its language and its text."""

    page: str
    line: int
    language: str
    code: str
    #: The text of its ``.. test:`` comment, or None.
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def path(self) -> str | None:
        """The file it shows, when its first line is a comment naming one
        (``# chat/consumers.py``, or ``# chat/consumers.py, continued``)."""
        first = self.code.lstrip().split("\n", 1)[0]
        found = re.fullmatch(r"#\s*([\w./-]+\.\w+)(?:, continued)?\s*", first)
        return found.group(1) if found else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse(page: str, text: str) -> list[Block]:
    """Every code block of the RST ``text`` of ``page``, in order."""
    lines = text.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = DIRECTIVE.match(line)
        literal = None if directive else LITERAL.match(line)
        if not (directive or literal):
            index += 1
            continue
        start = index
        indent = _indent(line)
        language = directive.group("language") if directive else "literal"
        index += 1
        # The directive's options (":caption: ..."), then the content.
        while directive and index < len(lines) and lines[index].strip().startswith(":"):
            index += 1
        content = []
        while index < len(lines) and (
            not lines[index].strip() or _indent(lines[index]) > indent
        ):
            content.append(lines[index])
            index += 1
        code = textwrap.dedent("\n".join(content)).strip("\n")
        if not code:  # "::" ending a paragraph with nothing indented after it
            continue
        marker = None
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if literal is None and before >= 0:
            found = MARKER.match(lines[before])
            marker = found.group("marker") if found else None
        blocks.append(Block(page, start + 1, language, code + "\n", marker))
    return blocks


def parse_markdown(page: str, text: str) -> list[Block]:
    """Every fenced code block of the Markdown ``text`` of ``page``, in order."""
    lines = text.splitlines()
    blocks = []
    start: int | None = None
    for index, line in enumerate(lines):
        fence = FENCE.match(line)
        if fence and start is None:
            start, language = index, fence.group("language")
        elif line.startswith("```") and start is not None:
            found = MARKDOWN_MARKER.match(lines[start - 1]) if start else None
            code = "\n".join(lines[start + 1 : index]).strip("\n") + "\n"
            marker = found.group("marker") if found else None
            blocks.append(Block(page, start + 1, language, code, marker))
            start = None
    return blocks


@cache
def page_blocks(page: str) -> tuple[Block, ...]:
    """The blocks of ``docs/<page>``, or of ``README.md``."""
    if page == "README.md":
        return tuple(parse_markdown(page, (ROOT / page).read_text()))
    return tuple(parse(page, (DOCS / page).read_text()))


def pages() -> list[str]:
    """The pages of ``docs/``, by file name."""
    return sorted(path.name for path in DOCS.glob("*.rst"))


def all_blocks() -> list[Block]:
    """The blocks of every page, then of ``README.md``."""
    return [found for page in [*pages(), "README.md"] for found in page_blocks(page)]


def block(page: str, containing: str) -> Block:
    """The one block of ``page`` whose text contains ``containing``."""
    found = [each for each in page_blocks(page) if containing in each.code]
    if len(found) != 1:
        where = ", ".join(each.id for each in found) or "none"
        raise LookupError(
            f"{len(found)} blocks of docs/{page} contain {containing!r} ({where}): "
            "the test that runs it must name one"
        )
    return found[0]
