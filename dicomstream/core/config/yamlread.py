"""Read a stack file as Pulumi does, bounded in time and memory.

Pulumi reads stack files with Go's yaml.v3 (YAML 1.2 core schema: `yes`, `on` and `2024-01-01`
are strings; `true`, `1`, `null` are not). This reader gives the same values from libyaml's event
stream (yaml.v3 is a port of libyaml), with the rules yaml.v3 applies: duplicate keys are refused,
`<<` merge keys are applied (explicit keys win, then the first merged mapping), a recursive alias
is refused, and alias expansion is limited by yaml.v3's ratio rule. What yaml.v3 would turn into a
value we cannot use is refused with a line naming where: tags other than the core ones
(`!!python/object`, `!!binary`, `!!set`, local `!tags`), non-string keys, several documents.

Limits (docs/configuration.md, "Limits"): nested at most `MAX_DEPTH` deep, at most `MAX_VALUES`
values composed or expanded (the file itself is read by `files`, at most `files.MAX_BYTES`).
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from dicomstream.core.config.diagnostics import ConfigError, Issue
from dicomstream.core.config.files import decode_text, read_bytes
from dicomstream.core.naming import shown

MAX_DEPTH = 64
MAX_VALUES = 500_000

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {"str", "int", "float", "bool", "null"}
_MAP = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
        "": None, "~": None, "null": None, "Null": None, "NULL": None,
        ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
        ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
        "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
        "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf")}
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT_RE = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


class _Node:
    __slots__ = ("kind", "tag", "value", "plain", "children", "line", "anchor")

    def __init__(self, kind: str, tag: str | None, line: int, anchor: str | None,
                 value: str = "", plain: bool = False):
        self.kind, self.tag, self.line, self.anchor = kind, tag, line, anchor
        self.value, self.plain = value, plain
        self.children: list[Any] = []


class _Alias:
    """A reference to an anchored node (kept apart so that expansion can be counted)."""

    __slots__ = ("node", "line")

    def __init__(self, node: _Node, line: int):
        self.node, self.line = node, line


# ------------------------------------------------------------------------------- composing


def _where(line: int) -> str:
    return f"line {line + 1}"


def compose(text: str, file: str) -> _Node | None:
    """The node graph of one YAML document (aliases shared, not expanded); None when empty."""
    stack: list[_Node] = []
    open_nodes: set[int] = set()
    anchors: dict[str, _Node] = {}
    root: Any = None
    documents = 0
    nodes = 0

    def fail(line: int, message: str) -> ConfigError:
        return ConfigError([Issue(file, _where(line), message)])

    def add(item: Any) -> None:
        nonlocal root
        if stack:
            stack[-1].children.append(item)
        else:
            root = item

    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            # The parser marks every event it emits; only hand-made events lack one.
            assert event.start_mark is not None
            line = event.start_mark.line
            nodes += isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent,
                                        yaml.SequenceStartEvent))
            if nodes > MAX_VALUES:
                raise fail(line, f"the file holds more than {MAX_VALUES:,} values; refused")
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise fail(line, "a stack file holds one YAML document; remove the second '---'")
            elif isinstance(event, yaml.AliasEvent):
                anchor = event.anchor
                assert anchor is not None  # the parser emits an alias only with its name
                node = anchors.get(anchor)
                if node is None:
                    raise fail(line, f"alias *{anchor[:80]} names no anchor defined before it")
                if id(node) in open_nodes:
                    raise fail(line, f"alias *{anchor[:80]} is inside the value it names "
                                     "(a recursive alias)")
                add(_Alias(node, line))
            elif isinstance(event, yaml.ScalarEvent):
                plain = event.tag is None and bool(event.implicit[0]) and not event.style
                node = _Node("scalar", event.tag, line, event.anchor, event.value, plain)
                if event.anchor is not None:
                    anchors[event.anchor] = node
                add(node)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise fail(line, f"nested more than {MAX_DEPTH} levels deep; a stack file needs fewer than 10")
                kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
                node = _Node(kind, event.tag, line, event.anchor)
                if event.anchor is not None:
                    anchors[event.anchor] = node
                add(node)
                stack.append(node)
                open_nodes.add(id(node))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                open_nodes.discard(id(stack.pop()))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = exc.problem or exc.context or "syntax error"
        raise ConfigError([Issue(file, where, f"not valid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Issue(file, "(file)", f"not valid YAML: {str(exc).splitlines()[0]}")]) from None
    except UnicodeError:  # text that is not valid Unicode (a lone surrogate)
        raise ConfigError([Issue(file, "(file)", "not valid YAML: the text is not valid Unicode")]) from None
    return root


# ------------------------------------------------------------------------------- values


def _go_int(text: str) -> int | None:
    """Go's strconv.ParseInt/ParseUint with base 0 (what yaml.v3 uses), within 64 bits."""
    sign, body = 1, text
    if body[:1] in "+-" and body:
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    base, digits = 10, body
    if body[:2] in ("0x", "0X"):
        base, digits = 16, body[2:]
    elif body[:2] in ("0b", "0B"):
        base, digits = 2, body[2:]
    elif body[:2] in ("0o", "0O"):
        base, digits = 8, body[2:]
    elif body[:1] == "0" and len(body) > 1:
        base, digits = 8, body[1:]
    if not digits or not digits.isascii() or not digits.isalnum():
        return None
    try:
        value = sign * int(digits, base)
    except ValueError:
        return None
    if _INT64[0] <= value <= _INT64[1] or (sign == 1 and text[:1] != "+" and value <= _UINT64_MAX):
        return value
    return None


def resolve(tag: str, text: str) -> tuple[str, Any]:
    """yaml.v3's `resolve`: the (tag, value) of a scalar; `tag` is '' for a plain scalar."""
    if tag != "str" and text[:1] in ("", "+", "-", ".", "~", *"0123456789yYnNtTfFoO"):
        if text in _MAP:
            value = _MAP[text]
            return ("bool" if isinstance(value, bool) else "null" if value is None else "float"), value
        if text[:1] == ".":
            if _DOT_FLOAT_RE.fullmatch(text):
                return "float", float(text)
        elif text[:1] in "+-0123456789":
            plain = text.replace("_", "")
            number = _go_int(plain)
            if number is not None:
                return "int", number
            if _FLOAT_RE.fullmatch(plain):
                value = float(plain)
                if value not in (float("inf"), float("-inf")):
                    return "float", value
    return "str", text


def _tag_refused(tag: str) -> str:
    short = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
    return (f"YAML tag {shown(short)} is not allowed; a stack file holds plain strings, numbers, "
            "booleans, lists and mappings")


class _Decoder:
    """Nodes to Python values with yaml.v3's rules and budgets."""

    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.alias_count = 0
        self.alias_depth = 0

    def fail(self, line: int, message: str) -> ConfigError:
        return ConfigError([Issue(self.file, _where(line), message)])

    def _tick(self, line: int) -> None:
        self.count += 1
        if self.alias_depth:
            self.alias_count += 1
        # yaml.v3's rule against alias bombs: past 1,000 values, at most 99% of them (falling
        # to 10% at 4,000,000) may come from alias expansion.
        if self.alias_count > 100 and self.count > 1000:
            low, high = 400_000, 4_000_000
            allowed = 0.99 if self.count <= low else 0.10 if self.count >= high else \
                0.99 - 0.89 * (self.count - low) / (high - low)
            if self.alias_count / self.count > allowed:
                raise self.fail(line, f"aliases expand to more than {self.count:,} values "
                                      f"({self.alias_count:,} of them copies); refused as an alias bomb")
        if self.count > MAX_VALUES:
            raise self.fail(line, f"the file expands to more than {MAX_VALUES:,} values; refused")

    def value(self, item: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(getattr(item, "line", 0), f"values nest more than {MAX_DEPTH} levels deep")
        if isinstance(item, _Alias):
            self.alias_depth += 1
            try:
                return self.value(item.node, depth)
            finally:
                self.alias_depth -= 1
        node: _Node = item
        self._tick(node.line)
        if node.kind == "scalar":
            return self.scalar(node)
        self._check_collection_tag(node)
        if node.kind == "seq":
            return [self.value(child, depth + 1) for child in node.children]
        return self.mapping(node, depth)

    def _check_collection_tag(self, node: _Node) -> None:
        expected = "map" if node.kind == "map" else "seq"
        if node.tag not in (None, "!", _CORE + expected):
            raise self.fail(node.line, _tag_refused(node.tag))

    def scalar(self, node: _Node) -> Any:
        if node.plain:
            return resolve("", node.value)[1]
        if node.tag in (None, "!"):
            return node.value
        if not node.tag.startswith(_CORE) or node.tag[len(_CORE):] not in _SCALAR_TAGS:
            raise self.fail(node.line, _tag_refused(node.tag))
        wanted = node.tag[len(_CORE):]
        if wanted == "str":
            return node.value
        tag, value = resolve(wanted, node.value)
        if tag == wanted:
            return value
        if wanted == "float" and tag == "int":
            return float(value)
        raise self.fail(node.line, f"cannot read !!{tag} {shown(node.value)} as !!{wanted}")

    def mapping(self, node: _Node, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        lines: dict[str, int] = {}
        merges: list[Any] = []
        pairs = node.children
        for i in range(0, len(pairs), 2):
            key_item, value_item = pairs[i], pairs[i + 1]
            key_node = key_item.node if isinstance(key_item, _Alias) else key_item
            if key_node.kind == "scalar" and key_node.plain and key_node.value == "<<":
                if "<<" in lines:
                    raise self.fail(key_node.line, f"merge key '<<' appears twice in one mapping "
                                                   f"(first on line {lines['<<'] + 1})")
                lines["<<"] = key_node.line
                merges.append(value_item)
                continue
            key = self.value(key_item, depth + 1) if key_node.kind == "scalar" else None
            if not isinstance(key, str):
                what = "a list or mapping" if key_node.kind != "scalar" else f"the {type(key).__name__} {shown(key)}"
                raise self.fail(key_node.line, f"a key is {what}; keys are names (quote it if it is one)")
            if key in lines:
                raise self.fail(key_node.line, f"key {shown(key)} is defined twice (first on line "
                                               f"{lines[key] + 1}); Pulumi refuses duplicate keys")
            lines[key] = key_node.line
            result[key] = self.value(value_item, depth + 1)
        for merge in merges:
            target = merge.node if isinstance(merge, _Alias) else merge
            # yaml.v3: a mapping, an alias of a mapping, or a written list of (aliases of) mappings.
            listed = target.kind == "seq" and not isinstance(merge, _Alias)
            sources = [merge] if target.kind == "map" else list(target.children) if listed else []
            if not sources or any((s.node if isinstance(s, _Alias) else s).kind != "map" for s in sources):
                raise self.fail(target.line, "merge key '<<' takes a mapping or a list of mappings")
            for source in sources:
                merged = self.value(source, depth + 1)
                for key, value in merged.items():
                    result.setdefault(key, value)
        return result


def parse(text: str, file: str) -> Any:
    """The document's value as yaml.v3 decodes it into `interface{}` (timestamps as strings)."""
    root = compose(text, file)
    return None if root is None else _Decoder(file).value(root)


def uses_anchors(text: str, file: str) -> bool:
    """Whether the document defines anchors, uses aliases or merge keys (promote cannot edit those safely)."""
    root = compose(text, file)
    seen: set[int] = set()
    todo = [root] if root is not None else []
    while todo:
        item = todo.pop()
        if isinstance(item, _Alias):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if item.anchor is not None or (item.kind == "scalar" and item.plain and item.value == "<<"):
            return True
        todo.extend(item.children)
    return False


def load_file(path: os.PathLike | str, file: str | None = None) -> Any:
    """Read, decode and parse one stack file (every limit above applies)."""
    file = file or str(path)
    return parse(decode_text(read_bytes(path, file), file), file)
