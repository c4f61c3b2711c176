"""The three readers that turn configuration lines into a tree, each driven by a :class:`Syntax`.

They are hot loops (the benchmark parses two million lines): no per-line function calls beyond the string
methods, and regexes only where the syntax file asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from netwarden.configs.syntax import Syntax
from netwarden.configs.tree import ConfigTree

Reader = Callable[[list[str], Syntax, ConfigTree, set[int]], None]

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/")


def _literal_prefix(pattern: str) -> str:
    """The plain characters a regex starts with (after ``^``): a cheap ``startswith`` filter."""
    out = []
    for ch in pattern.removeprefix("^").removeprefix("\\s*"):
        if not (ch.isalnum() or ch in "-_"):
            break
        out.append(ch)
    return "".join(out)


def _expander(words: list[str]) -> Callable[[str], str | None]:
    """Unique-prefix expansion of top-level words (``int`` -> ``interface``)."""
    known = sorted(words)

    def expand(word: str) -> str | None:
        if len(word) < 2:
            return None
        hits = [k for k in known if k.startswith(word)]
        return hits[0] if len(hits) == 1 else None

    return expand


def _finish(tree: ConfigTree, syntax: Syntax, end_line: int, last_line: int, last_text: str) -> None:
    want_end = syntax.require_end == "always" or (syntax.require_end == "if_preamble" and tree.had_preamble)
    if want_end and not end_line:
        tree.truncated = True
        tree.report(last_line, last_text, f"no '{syntax.end_marker}' line: the configuration looks truncated")


def read_indent(lines: list[str], syntax: Syntax, tree: ConfigTree, bad: set[int]) -> None:
    """Indentation-nested configurations (IOS, NX-OS, EOS, FRR)."""
    texts, lnos, depths, parents, ends = tree._text, tree._line, tree._depth, tree._parent, tree._end
    comments = tuple(syntax.comments)
    comment_first = "".join(comments) if all(len(c) == 1 for c in comments) else ""
    top = frozenset(syntax.top_level)
    terminators = frozenset(syntax.terminators)
    end_marker = syntax.end_marker
    preamble = [re.compile(p) for p in syntax.preamble]
    multiline = [
        (re.compile(m.start), re.compile(m.end) if m.end else None, _literal_prefix(m.start)) for m in syntax.multiline
    ]
    ml_prefixes = tuple(lit for _, _, lit in multiline)
    expand = _expander(syntax.top_level) if syntax.expand_abbreviations else None
    stack_indent: list[int] = [-1]
    stack_idx: list[int] = [-1]
    seen_statement = False
    end_line = 0
    last_line = 0
    k = 0
    it = enumerate(lines, 1)
    for i, raw in it:
        s = raw.rstrip()
        if not s:
            continue
        if bad and i in bad:
            tree.report(i, s, "control characters")
            continue
        stripped = s.lstrip()
        if (stripped[0] in comment_first) if comment_first else stripped.startswith(comments):
            continue
        last_line = i
        if end_line:
            tree.report(i, s, f"text after '{end_marker}' (line {end_line})")
            continue
        if not seen_statement:
            if preamble and any(p.match(stripped) for p in preamble):
                tree.had_preamble = True
                continue
            seen_statement = True
        indent = len(s) - len(stripped)
        if terminators and stripped in terminators:
            before = len(stack_idx)
            while stack_indent[-1] >= indent:
                stack_indent.pop()
                ends[stack_idx.pop()] = k
            if len(stack_idx) == before:
                if stack_idx[-1] < 0:
                    tree.report(i, s, f"'{stripped}' outside any block")
                else:
                    stack_indent.pop()
                    ends[stack_idx.pop()] = k
            continue
        while stack_indent[-1] >= indent:
            stack_indent.pop()
            ends[stack_idx.pop()] = k
        parent = stack_idx[-1]
        if parent < 0:
            if stripped == end_marker:
                end_line = i
                continue
            if indent:
                tree.report(i, s, "indented line outside any block")
            if top:
                word = stripped.partition(" ")[0]
                if word not in top:
                    full = expand(word) if expand is not None else None
                    if full is None:
                        tree.report(i, s, f"unknown top-level statement {word!r} for {syntax.name}")
                    else:
                        stripped = full + stripped[len(word) :]
        if ml_prefixes and stripped.startswith(ml_prefixes):
            after = _read_multiline(it, i, stripped, parent, len(stack_idx) - 1, k, multiline, tree)
            if after != k:
                k = after
                continue
        texts.append(stripped)
        lnos.append(i)
        depths.append(len(stack_idx) - 1)
        parents.append(parent)
        ends.append(0)
        stack_indent.append(indent)
        stack_idx.append(k)
        k += 1
    for idx in stack_idx[1:]:
        ends[idx] = k
    _finish(tree, syntax, end_line, last_line, lines[last_line - 1].rstrip() if last_line else "")


def _read_multiline(
    it: Iterator[tuple[int, str]],
    i: int,
    stripped: str,
    parent: int,
    depth: int,
    k: int,
    multiline: list[tuple[re.Pattern[str], re.Pattern[str] | None, str]],
    tree: ConfigTree,
) -> int:
    """Read a banner-like statement found on line ``i``; returns the next free position (``k`` if none)."""
    for start_rx, end_rx, _ in multiline:
        m = start_rx.match(stripped)
        if m is None:
            continue
        head = k
        tree._text.append(stripped)
        tree._line.append(i)
        tree._depth.append(depth)
        tree._parent.append(parent)
        tree._end.append(0)
        k += 1
        delim = m.group("delim") if end_rx is None else ""
        closed = end_rx is None and delim in stripped[m.end() :]
        if not closed:
            for j, raw in it:
                body = raw.rstrip()
                if end_rx is not None:
                    if end_rx.match(body.strip()):
                        closed = True
                        break
                else:
                    pos = body.find(delim)
                    if pos >= 0:
                        closed = True
                        body = body[:pos].rstrip()
                        if not body.strip():
                            break
                _append_verbatim(tree, body, j, depth + 1, head)
                k += 1
                if closed:
                    break
        tree._end[head] = k
        if not closed:
            tree.truncated = True
            tree.report(i, stripped, "text statement never closed: the configuration looks truncated")
        return k
    return k


def _append_verbatim(tree: ConfigTree, text: str, line: int, depth: int, parent: int) -> None:
    k = len(tree._text)
    tree._text.append(text)
    tree._line.append(line)
    tree._depth.append(depth)
    tree._parent.append(parent)
    tree._end.append(k + 1)
    tree._verbatim.add(k)


# A statement being built by the brace reader: [text, line, inactive, children]. The Junos set form adds
# statements to blocks read earlier, so the tree is drafted first and laid out in file order at the end.
Draft = list[Any]


def read_braces(lines: list[str], syntax: Syntax, tree: ConfigTree, bad: set[int]) -> None:
    """Curly-brace configurations (Junos, nftables); Junos ``set`` lines merge into the same tree."""
    comments = tuple(syntax.comments)
    annotations = tuple(syntax.annotations)
    inactive_mark = syntax.inactive_annotation
    end_char = syntax.statement_end
    block_comments = syntax.block_comments
    inline_comments = syntax.inline_comments
    drafts = _Drafts(syntax, tree)
    root = drafts.root
    setter = _SetForm(syntax, drafts) if syntax.set_form is not None else None
    stack: list[Draft] = [root]
    in_comment_since = 0
    last_line, last_text = 0, ""
    for i, raw in enumerate(lines, 1):
        s = raw.strip()
        if not s:
            continue
        if bad and i in bad:
            tree.report(i, s, "control characters")
            continue
        if in_comment_since:
            end = s.find("*/")
            if end < 0:
                continue
            in_comment_since = 0
            s = s[end + 2 :].strip()
        if block_comments and "/*" in s:
            s = _BLOCK_COMMENT.sub("", s).strip()
            start = s.find("/*")
            if start >= 0:
                in_comment_since = i
                s = s[:start].strip()
        if not s or s.startswith(comments):
            continue
        if inline_comments and "#" in s:
            s = _strip_inline_comment(s)
            if not s:
                continue
        inactive = False
        if annotations and s.startswith(annotations):
            for mark in annotations:
                if s.startswith(mark):
                    inactive = mark == inactive_mark
                    s = s[len(mark) :].lstrip()
                    break
            if not s:
                continue
        last_line, last_text = i, s
        parent = stack[-1]
        if setter is not None and parent is root and setter.handles(s):
            setter.apply(s, i)
            continue
        counted = _QUOTED.sub('""', s) if '"' in s else s
        opens = counted.count("{")
        closes = counted.count("}")
        if opens == closes and (opens == 0 or counted.strip("} \t;")):
            drafts.add(parent, _statement(s, end_char), i, inactive)
        elif not counted.strip("} \t;"):
            for _ in range(closes):
                if len(stack) > 1:
                    stack.pop()
                else:
                    tree.report(i, s, "'}' closes no open block")
        elif opens > closes:
            header = s[:-1].rstrip() if s.endswith("{") and opens - closes == 1 else s
            node = drafts.add(parent, header, i, inactive)
            stack.extend([node] * (opens - closes))
        elif counted.startswith("}"):
            tree.report(i, s, "text after '}'")
            for _ in range(closes - opens):
                if len(stack) > 1:
                    stack.pop()
        else:
            # "5.6.7.8 }": the last element of a list, then the close.
            content = s
            for _ in range(closes - opens):
                content = content.rstrip()
                content = content[:-1] if content.endswith("}") else content
            drafts.add(parent, _statement(content.strip(), end_char), i, inactive)
            for _ in range(closes - opens):
                if len(stack) > 1:
                    stack.pop()
                else:
                    tree.report(i, s, "'}' closes no open block")
    if in_comment_since:
        tree.truncated = True
        tree.report(in_comment_since, lines[in_comment_since - 1].strip(), "comment never closed")
    if len(stack) > 1:
        tree.truncated = True
        seen: set[int] = set()
        for node in reversed(stack[1:]):
            if id(node) not in seen:
                seen.add(id(node))
                tree.report(node[1], node[0], "block never closed: the configuration looks truncated")
    drafts.lay_out()
    _finish(tree, syntax, 0, last_line, last_text)


def _statement(s: str, end_char: str) -> str:
    if end_char and s.endswith(end_char):
        return s[: -len(end_char)].rstrip()
    return s


def _strip_inline_comment(s: str) -> str:
    if '"' not in s:
        return s[: s.index("#")].rstrip()
    in_quote = False
    for pos, ch in enumerate(s):
        if ch == '"':
            in_quote = not in_quote
        elif ch == "#" and not in_quote:
            return s[:pos].rstrip()
    return s


class _Drafts:
    """The draft tree of the brace reader, merged by (parent, text) when the syntax has a set form."""

    def __init__(self, syntax: Syntax, tree: ConfigTree) -> None:
        self.tree = tree
        self.root: Draft = ["", 0, False, []]
        self.top = frozenset(syntax.top_level)
        self.name = syntax.name
        self.merge = syntax.set_form is not None
        self.by_text: dict[tuple[int, str], Draft] = {}

    def lookup(self, parent: Draft, text: str) -> Draft | None:
        return self.by_text.get((id(parent), text))

    def add(self, parent: Draft, text: str, line: int, inactive: bool) -> Draft:
        if parent is self.root and self.top:
            word = text.partition(" ")[0]
            if word not in self.top:
                self.tree.report(line, text, f"unknown top-level statement {word!r} for {self.name}")
        if self.merge:
            existing = self.by_text.get((id(parent), text))
            if existing is not None:
                existing[2] = existing[2] or inactive
                return existing
        node: Draft = [text, line, inactive, []]
        parent[3].append(node)
        if self.merge:
            self.by_text[(id(parent), text)] = node
        return node

    def lay_out(self) -> None:
        """Write the drafts into the tree's arrays in depth-first order."""
        tree = self.tree
        texts, lnos, depths, parents, ends = tree._text, tree._line, tree._depth, tree._parent, tree._end
        stack: list[tuple[Draft, int, int]] = [(c, 0, -1) for c in reversed(self.root[3])]
        while stack:
            draft, depth, parent = stack.pop()
            k = len(texts)
            texts.append(draft[0])
            lnos.append(draft[1])
            depths.append(depth)
            parents.append(parent)
            ends.append(k + 1)
            if draft[2]:
                tree._inactive.add(k)
            stack.extend((c, depth + 1, k) for c in reversed(draft[3]))
        for k in range(len(texts) - 1, -1, -1):
            p = parents[k]
            if p >= 0 and ends[k] > ends[p]:
                ends[p] = ends[k]


class _SetForm:
    """Junos ``set``/``deactivate`` lines, placed at the level the curly form would use."""

    def __init__(self, syntax: Syntax, drafts: _Drafts) -> None:
        spec = syntax.set_form
        assert spec is not None
        self.drafts = drafts
        self.tree = drafts.tree
        self.set_word = spec.set + " "
        self.deactivate_word = spec.deactivate + " "
        self.containers = frozenset(spec.containers)
        self.named = frozenset(spec.named_containers)
        self.name_lists = frozenset(spec.name_lists)

    def handles(self, s: str) -> bool:
        return s.startswith(self.set_word) or s.startswith(self.deactivate_word)

    def levels(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i, n = 0, len(words)
        bare_name_next = False
        while i < n:
            word = words[i]
            if bare_name_next:
                out.append(word)
                bare_name_next = False
                i += 1
            elif word in self.name_lists:
                out.append(word)
                bare_name_next = True
                i += 1
            elif word in self.containers:
                out.append(word)
                i += 1
            elif word in self.named and i + 1 < n:
                out.append(f"{word} {words[i + 1]}")
                i += 2
            else:
                out.append(" ".join(words[i:]))
                break
        return out

    def apply(self, s: str, line: int) -> None:
        deactivate = s.startswith(self.deactivate_word)
        rest = s[len(self.deactivate_word if deactivate else self.set_word) :]
        words = _TOKENS.findall(rest) if '"' in rest else rest.split()
        if not words:
            self.tree.report(line, s, "'set' without a statement")
            return
        levels = self.levels(words)
        node = self.drafts.root
        for text in levels:
            child = self.drafts.lookup(node, text)
            if child is None:
                if deactivate:
                    self.tree.report(line, s, "deactivates a statement that is not configured")
                    return
                child = self.drafts.add(node, text, line, False)
            node = child
        if deactivate:
            node[2] = True


def read_flat(lines: list[str], syntax: Syntax, tree: ConfigTree, bad: set[int]) -> None:
    """One statement per line, no blocks (Linux files)."""
    comments = tuple(syntax.comments)
    top = frozenset(syntax.top_level)
    texts, lnos, depths, parents, ends = tree._text, tree._line, tree._depth, tree._parent, tree._end
    for i, raw in enumerate(lines, 1):
        s = raw.strip()
        if not s or s.startswith(comments):
            continue
        if bad and i in bad:
            tree.report(i, s, "control characters")
            continue
        if top and s.partition(" ")[0] not in top:
            tree.report(i, s, f"unknown statement {s.partition(' ')[0]!r} for {syntax.name}")
        ends.append(len(texts) + 1)
        texts.append(s)
        lnos.append(i)
        depths.append(0)
        parents.append(-1)


READERS: dict[str, Reader] = {"indent": read_indent, "braces": read_braces, "flat": read_flat}

__all__ = ["READERS", "read_braces", "read_flat", "read_indent"]
