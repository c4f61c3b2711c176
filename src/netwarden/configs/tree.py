"""A hierarchical model of device configurations: blocks and their children, each with its line number.

One parser per family of languages, driven by the platform's syntax file (``configs/syntax/<platform>.yml``):

* ``indent``: Cisco IOS / NX-OS, Arista EOS, FRR. Indentation nests; FRR's ``exit`` lines close blocks.
* ``braces``: Junos (curly form and ``set`` form, merged into one tree keyed by path) and nftables.
* ``flat``: Linux files, one statement per line.

Lines that cannot be classified (unknown top-level statement, unbalanced brace, text after ``end``, control
characters, a block or banner left open at the end of the text) are reported in :attr:`ConfigTree.unclassified`,
never dropped silently; a configuration that stops early is marked :attr:`ConfigTree.truncated`. Binary input
raises :class:`ConfigSyntaxError`.

    tree = parse(text, "cisco_ios")
    for iface in tree.blocks(r"^interface "):
        if not iface.find(r"^shutdown$"):
            ...
    tree.block(["system", "services"])          # Junos, from either form
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from netwarden.configs.syntax import Syntax, syntaxes
from netwarden.errors import InvalidInput

MAX_BYTES = 256 * 1024 * 1024
MAX_LINES = 5_000_000
MAX_REPORTED = 1000

# Control characters that never occur in configuration text. Tab, CR, form feed and ETX (^C, the
# delimiter IOS stores around banners in startup-config) are allowed.
_CONTROL = re.compile(r"[\x00-\x02\x04-\x08\x0b\x0e-\x1f\x7f]")


class ConfigSyntaxError(InvalidInput):
    """The text is not a configuration of that platform (binary, oversized, or strict parsing failed)."""

    code = "config-syntax"


class UnknownConfigSyntax(InvalidInput):
    """No syntax file for that platform name."""

    code = "unknown-config-syntax"


@dataclass(frozen=True, slots=True)
class Unclassified:
    """A line the parser could not place, with why."""

    line: int
    text: str
    reason: str


class Node:
    """One statement of a :class:`ConfigTree`: a light view (tree, position) onto the tree's arrays.

    ``text`` is the statement without indentation, ``{`` or ``;``; ``line`` its 1-based line number.
    ``verbatim`` nodes are the bodies of banners: kept in sections and diffs, never searched.
    """

    __slots__ = ("_tree", "index")

    def __init__(self, tree: ConfigTree, index: int) -> None:
        self._tree = tree
        self.index = index

    def __repr__(self) -> str:
        return f"Node(line={self.line}, text={self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other._tree is self._tree and other.index == self.index

    def __hash__(self) -> int:
        return hash((id(self._tree), self.index))

    @property
    def text(self) -> str:
        return "" if self.index < 0 else self._tree._text[self.index]

    @property
    def line(self) -> int:
        return 0 if self.index < 0 else self._tree._line[self.index]

    @property
    def depth(self) -> int:
        """0 for a top-level statement, -1 for the root."""
        return -1 if self.index < 0 else self._tree._depth[self.index]

    @property
    def inactive(self) -> bool:
        """Junos ``inactive:`` / ``deactivate``."""
        return self.index in self._tree._inactive

    @property
    def verbatim(self) -> bool:
        return self.index in self._tree._verbatim

    @property
    def end(self) -> int:
        """Position after the last descendant: descendants are ``index + 1 .. end - 1``."""
        return len(self._tree._text) if self.index < 0 else self._tree._end[self.index]

    @property
    def parent(self) -> Node | None:
        """The enclosing statement; the tree's root for a top-level one, None for the root."""
        if self.index < 0:
            return None
        return Node(self._tree, self._tree._parent[self.index])

    @property
    def children(self) -> list[Node]:
        """The direct children, in file order."""
        tree, ends = self._tree, self._tree._end
        out: list[Node] = []
        k, end = self.index + 1, self.end
        while k < end:
            out.append(Node(tree, k))
            k = ends[k]
        return out

    @property
    def path(self) -> tuple[str, ...]:
        """The texts from the top-level statement down to this one."""
        texts, parents = self._tree._text, self._tree._parent
        out: list[str] = []
        k = self.index
        while k >= 0:
            out.append(texts[k])
            k = parents[k]
        return tuple(reversed(out))

    @property
    def keyword(self) -> str:
        """The first word of the statement."""
        return self.text.partition(" ")[0]

    def walk(self) -> Iterator[Node]:
        """Every descendant, depth first in file order (not this node)."""
        tree = self._tree
        for k in range(self.index + 1, self.end):
            yield Node(tree, k)

    def find(self, pattern: str | re.Pattern[str]) -> list[Node]:
        """Descendants (any depth, banners excluded) whose text the regex finds (``re.search``)."""
        search = _compile(pattern).search
        tree = self._tree
        texts, verbatim = tree._text, tree._verbatim
        return [
            Node(tree, k)
            for k in range(self.index + 1, self.end)
            if search(texts[k]) and (not verbatim or k not in verbatim)
        ]

    def contains(self, pattern: str | re.Pattern[str]) -> bool:
        """True when a descendant's text matches (cheaper than :meth:`find`)."""
        search = _compile(pattern).search
        tree = self._tree
        texts, verbatim = tree._text, tree._verbatim
        return any(search(texts[k]) and (not verbatim or k not in verbatim) for k in range(self.index + 1, self.end))

    def child(self, pattern: str | re.Pattern[str]) -> Node | None:
        """The first direct child whose text the regex finds."""
        search = _compile(pattern).search
        return next((c for c in self.children if not c.verbatim and search(c.text)), None)

    def last_child(self) -> Node | None:
        """The last direct child, or None."""
        children = self.children
        return children[-1] if children else None

    def section(self, include_self: bool = True) -> list[tuple[int, str]]:
        """The statement (unless ``include_self`` is false) and its descendants as (relative depth, text)."""
        tree = self._tree
        if include_self and self.index >= 0:
            base, start = self.depth, self.index
        else:
            base, start = self.depth + 1, self.index + 1
        return [(tree._depth[k] - base, tree._text[k]) for k in range(start, self.end)]

    def render(self, indent: str = " ") -> str:
        """The statement and its descendants as indented text (one ``indent`` per level)."""
        return "\n".join(indent * depth + text for depth, text in self.section())


class ConfigTree:
    """A parsed configuration: statements in file order with their depth, parent and subtree end.

    The statements are held in parallel arrays (the parser appends to them); :class:`Node` is a view.
    """

    def __init__(self, platform: str, text_lines: int) -> None:
        self.platform = platform
        self.line_count = text_lines
        self.unclassified: list[Unclassified] = []
        self.unclassified_total = 0
        self.truncated = False
        self.had_preamble = False
        self._text: list[str] = []
        self._line: list[int] = []
        self._depth: list[int] = []
        self._parent: list[int] = []
        self._end: list[int] = []
        self._verbatim: set[int] = set()
        self._inactive: set[int] = set()
        self._joined: str | None = None
        self._paths: dict[tuple[str, ...], int] | None = None

    def __repr__(self) -> str:
        return (
            f"ConfigTree(platform={self.platform!r}, statements={len(self._text)}, "
            f"unclassified={self.unclassified_total}, truncated={self.truncated})"
        )

    def __len__(self) -> int:
        return len(self._text)

    @property
    def root(self) -> Node:
        """A pseudo-statement above the top level (text ``""``, line 0)."""
        return Node(self, -1)

    @property
    def children(self) -> list[Node]:
        """The top-level statements."""
        return self.root.children

    @property
    def empty(self) -> bool:
        """No statement at all (an empty or comment-only text)."""
        return not self._text

    def node(self, index: int) -> Node:
        return Node(self, index)

    def report(self, line: int, text: str, reason: str) -> None:
        """Record a line that could not be classified (the parsers call this)."""
        self.unclassified_total += 1
        if len(self.unclassified) < MAX_REPORTED:
            self.unclassified.append(Unclassified(line, text[:200], reason))

    def walk(self) -> Iterator[Node]:
        """Every statement, depth first in file order."""
        return self.root.walk()

    def lines(self, indent: str = " ") -> list[str]:
        """The tree as indented text lines (comments and blank lines gone)."""
        return [indent * d + t for d, t in zip(self._depth, self._text, strict=True)]

    # ------------------------------------------------------------ search

    def _joined_text(self) -> str:
        if self._joined is None:
            self._joined = "\n" + "\n".join(self._text)
        return self._joined

    def _hits(self, needle: str) -> list[int]:
        """Positions of the statements containing ``needle`` (a leading newline anchors it at the start)."""
        joined = self._joined_text()
        out: list[int] = []
        pos = joined.find(needle)
        newlines, scanned = 0, 0
        while pos >= 0:
            newlines += joined.count("\n", scanned, pos + 1)
            scanned = pos + 1
            k = newlines - 1
            if not out or out[-1] != k:
                out.append(k)
            pos = joined.find(needle, pos + 1)
        return out

    def find_indices(self, pattern: str | re.Pattern[str], *, top_level: bool = False) -> list[int]:
        """Like :meth:`find`, as positions (the policy engine's fast path)."""
        rx = _compile(pattern)
        search = rx.search
        texts, verbatim, depths = self._text, self._verbatim, self._depth
        anchored, literal = _plan(rx)
        if literal:
            candidates = self._hits("\n" + literal if anchored else literal)
            found = [k for k in candidates if search(texts[k])]
        else:
            found = [k for k, text in enumerate(texts) if search(text)]
        if verbatim:
            found = [k for k in found if k not in verbatim]
        if top_level:
            found = [k for k in found if depths[k] == 0]
        return found

    def find(self, pattern: str | re.Pattern[str], *, top_level: bool = False) -> list[Node]:
        """Statements (any depth, or top level only) whose text the regex finds, in file order.

        A regex starting with literal text (``^ntp server``, ``password 7 ``) is first located as a substring
        of the whole configuration, so rules that do not match cost almost nothing.
        """
        return [Node(self, k) for k in self.find_indices(pattern, top_level=top_level)]

    def find_path(self, pattern: str | re.Pattern[str]) -> list[Node]:
        """Statements whose whole path, joined by spaces (Junos ``set`` form), the regex finds."""
        search = _compile(pattern).search
        return [n for n in self.walk() if not n.verbatim and search(" ".join(n.path))]

    def block_indices(self, patterns: Sequence[str | re.Pattern[str]]) -> list[int]:
        """Like :meth:`blocks`, as positions."""
        if not patterns:
            return []
        level = self.find_indices(patterns[0], top_level=True)
        texts, ends, verbatim = self._text, self._end, self._verbatim
        for pattern in patterns[1:]:
            search = _compile(pattern).search
            nxt: list[int] = []
            for k in level:
                c, end = k + 1, ends[k]
                while c < end:
                    if search(texts[c]) and c not in verbatim:
                        nxt.append(c)
                    c = ends[c]
            level = nxt
        return level

    def blocks(self, *patterns: str | re.Pattern[str]) -> list[Node]:
        """Statements reached by one regex per level from the top: ``blocks("^system$", "^services$")``."""
        return [Node(self, k) for k in self.block_indices(patterns)]

    def block(self, path: str | Sequence[str]) -> Node | None:
        """The statement at this exact path of texts (``"router ospf"`` or ``["interfaces", "ge-0/0/0"]``)."""
        key = (path,) if isinstance(path, str) else tuple(path)
        if self._paths is None:
            paths: dict[tuple[str, ...], int] = {}
            prefix: list[str] = []
            for k, (text, depth) in enumerate(zip(self._text, self._depth, strict=True)):
                del prefix[depth:]
                prefix.append(text)
                if k not in self._verbatim:
                    paths.setdefault(tuple(prefix), k)
            self._paths = paths
        found = self._paths.get(key)
        return None if found is None else Node(self, found)


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    rx = _COMPILED.get(pattern)
    if rx is None:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise InvalidInput(f"bad regular expression {pattern!r}: {exc}") from exc
        if len(_COMPILED) < 4096:
            _COMPILED[pattern] = rx
    return rx


_PLANS: dict[tuple[str, int], tuple[bool, str]] = {}
_LITERAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:/@,=\"'<>!%&~` ")
_ESCAPABLE = frozenset(".-/:@,=+*?()[]{}|^$\\ #\"'")


def _plan(rx: re.Pattern[str]) -> tuple[bool, str]:
    """(anchored at the start, literal text every match starts with) for a regex; ``""`` when none."""
    key = (rx.pattern, rx.flags)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _make_plan(rx.pattern, rx.flags)
        if len(_PLANS) < 4096:
            _PLANS[key] = plan
    return plan


def _has_top_alternation(pattern: str) -> bool:
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


def _make_plan(pattern: str, flags: int) -> tuple[bool, str]:
    if flags & (re.IGNORECASE | re.VERBOSE | re.MULTILINE) or pattern.startswith("(?") or _has_top_alternation(pattern):
        return False, ""
    anchored = pattern.startswith("^")
    i = 1 if anchored else 0
    chars: list[str] = []
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern) and pattern[i + 1] in _ESCAPABLE:
                chars.append(pattern[i + 1])
                i += 2
                continue
            break
        if ch not in _LITERAL_CHARS:
            break
        chars.append(ch)
        i += 1
    if i < len(pattern) and pattern[i] in "?*{" and chars:
        chars.pop()  # the last character is optional
    return anchored, "".join(chars)


# ---------------------------------------------------------------- entry point


def syntax_for(platform: str) -> Syntax:
    """The syntax of ``platform``.

    Raises:
        UnknownConfigSyntax: when no syntax file has that name.
    """
    known = syntaxes()
    syntax = known.get(platform)
    if syntax is None:
        raise UnknownConfigSyntax(f"no config syntax for platform {platform!r}; known: {', '.join(sorted(known))}")
    return syntax


def parse(text: str | bytes, platform: str, *, strict: bool = False) -> ConfigTree:
    """Parse a configuration into a tree.

    Args:
        text: the configuration (bytes are read as UTF-8, else Latin-1).
        platform: a syntax name (``cisco_ios``, ``cisco_nxos``, ``arista_eos``, ``juniper_junos``, ``frr``,
            ``nftables``, ``linux``).
        strict: raise instead of reporting when a line cannot be classified or the text is truncated.

    Raises:
        ConfigSyntaxError: binary or oversized input; with ``strict``, any unclassified line.
        UnknownConfigSyntax: no syntax for ``platform``.
    """
    syntax = syntax_for(platform)
    if isinstance(text, bytes | bytearray):
        text = _decode(bytes(text), platform)
    if not isinstance(text, str):
        raise ConfigSyntaxError(f"{platform} config: expected text, got {type(text).__name__}")
    if len(text) > MAX_BYTES:
        raise ConfigSyntaxError(
            f"{platform} config: {len(text)} characters is over the {MAX_BYTES} limit; split or trim it"
        )
    lines = text.split("\n")
    if len(lines) > MAX_LINES:
        raise ConfigSyntaxError(f"{platform} config: {len(lines)} lines is over the {MAX_LINES} limit")
    tree = ConfigTree(platform, len(lines))
    bad = _control_lines(text, platform, len(lines))
    # Imported here: the readers build this module's Node and ConfigTree.
    from netwarden.configs.syntax.readers import READERS

    READERS[syntax.style](lines, syntax, tree, bad)
    if strict and tree.unclassified_total:
        first = tree.unclassified[0]
        raise ConfigSyntaxError(
            f"{platform} config: {tree.unclassified_total} line(s) not understood, first at line {first.line} "
            f"({first.reason}): {first.text[:60]!r}"
        )
    return tree


def _decode(data: bytes, platform: str) -> str:
    if b"\x00" in data:
        raise ConfigSyntaxError(
            f"{platform} config: binary data (NUL byte at offset {data.index(0)}); expected the text of the config"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _control_lines(text: str, platform: str, total_lines: int) -> set[int]:
    """Line numbers holding control characters; raises when the text looks binary."""
    match = _CONTROL.search(text)
    if match is None:
        return set()
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise ConfigSyntaxError(f"{platform} config: binary data (NUL byte on line {line}); expected the config text")
    bad: set[int] = set()
    pos, line = 0, 1
    for m in _CONTROL.finditer(text, match.start()):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        bad.add(line)
    if len(bad) > max(10, total_lines // 10):
        raise ConfigSyntaxError(
            f"{platform} config: {len(bad)} of {total_lines} lines hold control characters; "
            "this looks like binary data, not configuration text"
        )
    return bad


__all__ = [
    "ConfigSyntaxError",
    "ConfigTree",
    "Node",
    "Unclassified",
    "UnknownConfigSyntax",
    "parse",
    "syntax_for",
]
