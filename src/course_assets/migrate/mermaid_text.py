"""Read Mermaid flowchart text: statements, node ids and bodies, links, and label text.

Knows nothing of styles or of the graph being built; anything it cannot read with certainty
raises `Unsupported`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from course_assets.migrate.model import Arrow, Unsupported

NODE_ID = re.compile(r"\w+(?:-\w+)*")
CLASS_SUFFIX = re.compile(r":::(\w+(?:-\w+)*)")
# A complete link. Dashes, equals signs and dots are greedy, then back off one for the end mark.
_LINK = re.compile(
    r"(?P<start>[<ox])?(?:"
    r"(?P<normal>-{2,})(?P<nend>[->ox])"
    r"|(?P<thick>={2,})(?P<tend>[=>ox])"
    r"|-(?P<dots>\.+)-(?P<dend>[>ox])?"
    r"|(?P<invisible>~{3,})"
    r")"
)
# The opening half of a link with its text inline, as in `A -- text --> B`.
_LABELLED_OPEN = re.compile(r"(?P<start>[<ox])?(?P<open>--|==|-\.)")
_LABELLED_CLOSE = {
    "--": re.compile(r"(?P<body>-{2,})(?P<end>[->ox])"),
    "==": re.compile(r"(?P<body>={2,})(?P<end>[=>ox])"),
    "-.": re.compile(r"(?P<body>\.+)-(?P<end>[>ox])?"),
}
# Openers longest first; each lists its possible closers and the shape they make.
_SHAPES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("(((", ((")))", "double circle"),)),
    ("((", (("))", "circle"),)),
    ("([", (("])", "stadium"),)),
    ("[[", (("]]", "subroutine"),)),
    ("[(", ((")]", "cylinder"),)),
    ("[/", (("/]", "parallelogram"), ("\\]", "trapezoid"))),
    ("[\\", (("\\]", "left parallelogram"), ("/]", "inverted trapezoid"))),
    ("{{", (("}}", "hexagon"),)),
    ("[", (("]", "rectangle"),)),
    ("(", ((")", "rounded"),)),
    ("{", (("}", "rhombus"),)),
    (">", (("]", "asymmetric"),)),
)
KEYWORDS = frozenset({"end", "subgraph", "graph", "flowchart", "style", "classDef", "class",
                       "linkStyle", "click", "direction"})


@dataclass(frozen=True)
class Link:
    """One link of a chain: which ends have arrows, its kind, its length in ranks and its text."""

    arrow: Arrow
    kind: str  # normal, thick, dotted, invisible
    minlen: int
    label: str


def strip_directives(source: str) -> str:
    """Remove `%%{init: ...}%%` directives: they set the theme and config, not the structure."""
    return re.sub(r"%%\{.*?\}%%", "", source, flags=re.DOTALL)


def strip_front_matter(source: str) -> tuple[str, str | None]:
    """Remove the `---` front matter; return the rest and the title it sets, if any."""
    lines = source.splitlines()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != "---":
        return source, None
    for end in range(start + 1, len(lines)):
        if lines[end].strip() == "---":
            title = None
            for line in lines[start + 1:end]:
                match = re.fullmatch(r"title:\s*(.*?)\s*", line)
                if match:
                    title = match.group(1).strip("\"'")
            # Keep the line count so that error messages could still point at lines.
            return "\n" * (end + 1) + "\n".join(lines[end + 1:]), title
    raise Unsupported("the Mermaid front matter (---) is never closed")


def read_shape(cursor: Cursor) -> tuple[str, str] | None:
    """Read a node body such as `[text]` or `((text))`: return its shape and label, if any."""
    text = cursor.text
    for opener, closers in _SHAPES:
        if not text.startswith(opener, cursor.pos):
            continue
        start = cursor.pos + len(opener)
        found = _shape_body(text, start, closers)
        if found is None:
            continue  # e.g. "[(" that is really "[" with text starting "("
        raw, shape, end = found
        cursor.pos = end
        return shape, label_text(raw)
    return None


def read_link(cursor: Cursor) -> Link:
    """Read one link, with its text if it has any (`-->`, `-- text -->`, `-.->|text|`, ...)."""
    cursor.skip_space()
    text, pos = cursor.text, cursor.pos
    label = ""
    match = _LINK.match(text, pos)
    if match:
        start = match.group("start") or ""
        if match.group("normal"):
            kind, end, minlen = "normal", match.group("nend"), len(match.group("normal")) - 1
        elif match.group("thick"):
            kind, end, minlen = "thick", match.group("tend"), len(match.group("thick")) - 1
        elif match.group("dots"):
            kind, end, minlen = "dotted", match.group("dend") or "", len(match.group("dots"))
        else:
            kind, end, minlen = "invisible", "", len(match.group("invisible")) - 2
        cursor.pos = match.end()
    else:
        opened = _LABELLED_OPEN.match(text, pos)
        if opened is None:
            raise Unsupported(f"expected a link at {cursor.rest()!r}")
        start, opener = opened.group("start") or "", opened.group("open")
        body_start = opened.end()
        closing, label_end = _find_close(text, body_start, _LABELLED_CLOSE[opener])
        label = label_text(text[body_start:label_end].strip())
        if not label:
            raise Unsupported(f"cannot read the link at {cursor.rest()!r}")
        kind = {"--": "normal", "==": "thick", "-.": "dotted"}[opener]
        end = closing.group("end") or ""
        body = closing.group("body")
        minlen = len(body) if opener == "-." else len(body) - 1
        cursor.pos = closing.end()
    if "o" in (start, end) or "x" in (start, end):
        raise Unsupported("circle and cross link ends (--o, --x) have no Graphviz equal")
    if start == "<" and end != ">":
        raise Unsupported(f"cannot read the link at {text[pos:cursor.pos]!r}")
    arrow: Arrow = "both" if start == "<" else "forward" if end == ">" else "none"
    cursor.skip_space()
    if cursor.peek("|"):
        if label:
            raise Unsupported("a link with two labels")
        close = _pipe_end(text, cursor.pos + 1)
        label = label_text(text[cursor.pos + 1:close].strip())
        cursor.pos = close + 1
    return Link(arrow, kind, max(1, minlen), label)


class Cursor:
    """A position in one statement, moved forward as its parts are read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def rest(self) -> str:
        return self.text[self.pos:self.pos + 40]


def split_statements(line: str) -> list[str]:
    """Split `line` at semicolons that are outside quotes, brackets and |link text|."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote, pipe = 0, False, False
    for char in line:
        if char == '"':
            quote = not quote
        elif not quote:
            if char in "[({":
                depth += 1
            elif char in "])}" and depth:
                depth -= 1
            elif char == "|" and not depth:
                pipe = not pipe
            elif char == ";" and not depth and not pipe:
                parts.append("".join(current).strip())
                current = []
                continue
        current.append(char)
    parts.append("".join(current).strip())
    return parts


def split_first(rest: str, statement: str) -> tuple[str, str]:
    """Split `rest` into its first word and the remainder, both required."""
    parts = rest.split(None, 1)
    if len(parts) != 2:
        raise Unsupported(f"cannot read {statement!r}")
    return parts[0], parts[1]


def _shape_body(text: str, start: int, closers: tuple[tuple[str, str], ...]
                ) -> tuple[str, str, int] | None:
    """Return (raw text, shape, end position) of a node body that starts at `start`."""
    quoted = _quoted_at(text, start, repr(text[start - 1:]))
    if quoted is not None:
        inner, close_quote = quoted
        after = close_quote + 1
        while after < len(text) and text[after] == " ":
            after += 1
        for closer, shape in closers:
            if text.startswith(closer, after):
                return text[inner:close_quote + 1], shape, after + len(closer)
        return None
    best: tuple[int, str, str] | None = None
    for closer, shape in closers:
        found = text.find(closer, start)
        if found >= 0 and (best is None or found < best[0]):
            best = (found, closer, shape)
    if best is None:
        return None
    found, closer, shape = best
    raw = text[start:found]
    if '"' in raw:
        raise Unsupported(f"a stray quote in node text {raw!r}")
    return raw, shape, found + len(closer)


def _find_close(text: str, start: int, pattern: re.Pattern[str]) -> tuple[re.Match[str], int]:
    """Find where the text of a `A -- text --> B` link ends and its closing half."""
    search_from = start
    stripped = text[start:].lstrip()
    if stripped.startswith('"'):
        open_quote = text.index('"', start)
        close_quote = text.find('"', open_quote + 1)
        if close_quote < 0:
            raise Unsupported("an unclosed quote in link text")
        search_from = close_quote + 1
    position = search_from
    while True:
        match = pattern.search(text, position)
        if match is None:
            raise Unsupported(f"cannot find where the link text ends in {text[start:]!r}")
        if match.start() > start and text[start:match.start()].strip():
            return match, match.start()
        position = match.start() + 1


def _pipe_end(text: str, start: int) -> int:
    quoted = _quoted_at(text, start, "link text")
    end = text.find("|", quoted[1] + 1 if quoted else start)
    if end < 0:
        raise Unsupported("link text |...| is never closed")
    return end


def _quoted_at(text: str, start: int, what: str) -> tuple[int, int] | None:
    """Return where the quoted text that starts at `start` (after spaces) opens and closes."""
    inner = start
    while inner < len(text) and text[inner] == " ":
        inner += 1
    if inner >= len(text) or text[inner] != '"':
        return None
    close_quote = text.find('"', inner + 1)
    if close_quote < 0:
        raise Unsupported(f"an unclosed quote in {what}")
    return inner, close_quote


def quoted_whole(text: str) -> str:
    """Return the text inside the quotes that `text` consists of."""
    match = re.fullmatch(r'"([^"]*)"', text.strip())
    if match is None:
        raise Unsupported(f"cannot read the quoted text {text!r}")
    return match.group(1)


def label_text(raw: str) -> str:
    """Turn Mermaid node or link text into a Graphviz escString."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
        if text.startswith("`"):
            raise Unsupported("Markdown strings in labels are not supported")
    if '"' in text:
        raise Unsupported(f"a stray quote in the text {raw!r}")
    if re.search(r"\bfa[bsrl]?:fa-", text):
        raise Unsupported("Font Awesome icons in labels are not supported")
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    if re.search(r"</?[A-Za-z][^>]*>", text):
        raise Unsupported(f"HTML in the text {raw!r} is not supported")
    # Mermaid writes entities as #name; or #123; where HTML has &name; and &#123;.
    text = re.sub(r"#([A-Za-z][A-Za-z0-9]*|[0-9]+);",
                  lambda m: html.unescape(("&#" if m.group(1).isdigit() else "&") + m.group(1)
                                          + ";"),
                  text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return escape("\n".join(lines).strip("\n"))


def escape(text: str) -> str:
    """Return `text` as a Graphviz escString that shows it as written."""
    # A lone backslash would start a Graphviz escape sequence; text shown as is needs it doubled.
    escaped = text.replace("\\", "\\\\")
    if escaped.startswith("<") and escaped.endswith(">"):
        # The graphviz library would send such a string as an HTML label.
        raise Unsupported(f"the text {text!r} would be read as an HTML label")
    return escaped
