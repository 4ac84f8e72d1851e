"""Typed reading of YAML with the line of every key and item, for ``path:line`` problems.

``yaml.safe_load`` forgets where things were; composing to nodes keeps ``start_mark.line`` so
a problem can point at the very key or list item to fix. Every check records a problem and
carries on (returning None) so one run reports everything wrong with a file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .problems import Problem, Severity

# libyaml when available: composing is most of the load time of a module.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
NULL = "tag:yaml.org,2002:null"

_KIND = {
    STR: "text",
    INT: "a whole number",
    FLOAT: "a number",
    BOOL: "true/false",
    TIMESTAMP: "a date",
    NULL: "empty",
}


def describe(node: Node) -> str:
    """What a node holds, in words a content writer knows."""
    if isinstance(node, MappingNode):
        return "a set of 'key: value' lines"
    if isinstance(node, SequenceNode):
        return "a list"
    return _KIND.get(node.tag, "a value")


@dataclass
class Source:
    """One YAML text inside a file; ``first_line`` is the file line where the text starts."""

    path: str
    first_line: int
    problems: list[Problem]

    def line(self, node: Node) -> int:
        return self.first_line + node.start_mark.line

    def report(self, line: int, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(self.path, line, message, severity))

    def error(self, node: Node, message: str) -> None:
        self.report(self.line(node), message)

    def compose(self, text: str) -> Node | None:
        """Parse ``text`` to a node tree, reporting a syntax error at the line YAML names."""
        try:
            return yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = self.first_line + (mark.line if mark else 0)
            context = exc.context or ""
            if context and exc.context_mark and exc.context_mark is not mark:
                context += f" (line {self.first_line + exc.context_mark.line})"
            what = " ".join(part for part in (context, exc.problem) if part)
            self.report(line, f"YAML syntax error: {what or exc}")
        except yaml.YAMLError as exc:
            self.report(self.first_line, f"YAML syntax error: {exc}")
        return None

    # --- shapes ----------------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        where: str,
        *,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> dict[str, tuple[Node, Node]] | None:
        """Keys of a mapping with their (key, value) nodes; unknown/missing keys reported."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{where} must be 'key: value' lines, not {describe(node)}")
            return None
        allowed = [*required, *optional]
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node.tag)
            if key not in allowed:
                self.error(
                    key_node,
                    f"unknown key '{key}' in {where}; expected one of {', '.join(allowed)}",
                )
            elif key in entries:
                self.error(key_node, f"key '{key}' appears twice in {where}")
            else:
                entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries:
                self.error(node, f"missing required key '{key}' in {where}")
        return entries

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list ('- item' lines), not {describe(node)}")
            return None
        return list(node.value)

    # --- scalars ---------------------------------------------------------------------

    def text(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag != STR:
            self.error(node, f"{what} must be text, not {describe(node)}")
            return None
        if not node.value.strip():
            self.error(node, f"{what} is empty")
            return None
        return node.value.strip()

    def text_list(self, node: Node, what: str) -> list[str] | None:
        items = self.sequence(node, what)
        if items is None:
            return None
        values = [self.text(item, f"each item of {what}") for item in items]
        if any(value is None for value in values):
            return None
        return [value for value in values if value is not None]

    def choice_list(self, node: Node, what: str, allowed: Sequence[str]) -> list[str] | None:
        values = self.text_list(node, what)
        if values is None:
            return None
        if not values:
            self.error(node, f"{what} is empty; use one or more of {', '.join(allowed)}")
            return None
        ok = True
        for item, value in zip(node.value, values, strict=True):
            if value not in allowed:
                self.error(item, f"'{value}' is not a valid {what}; use {' or '.join(allowed)}")
                ok = False
        return values if ok else None

    def positive_int(self, node: Node, what: str) -> int | None:
        if not isinstance(node, ScalarNode) or node.tag != INT:
            self.error(node, f"{what} must be a whole number, not {describe(node)}")
            return None
        value = _construct(node)
        if not isinstance(value, int) or value <= 0:
            self.error(node, f"{what} must be greater than 0")
            return None
        return value

    def fraction(self, node: Node, what: str) -> float | None:
        if not isinstance(node, ScalarNode) or node.tag not in (INT, FLOAT):
            self.error(node, f"{what} must be a number such as 0.8, not {describe(node)}")
            return None
        value = float(_construct(node))
        if not 0 < value <= 1:
            self.error(node, f"{what} must be more than 0 and at most 1 (e.g. 0.8), not {value}")
            return None
        return value

    def boolean(self, node: Node, what: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != BOOL:
            self.error(node, f"{what} must be true or false, not {describe(node)}")
            return None
        return bool(_construct(node))

    def date(self, node: Node, what: str) -> dt.date | None:
        if not isinstance(node, ScalarNode) or node.tag != TIMESTAMP:
            self.error(node, f"{what} must be a date like 2025-01-31, not {describe(node)}")
            return None
        try:
            value = _construct(node)
        except ValueError as exc:
            self.error(node, f"{what} is not a real date: {exc}")
            return None
        return value.date() if isinstance(value, dt.datetime) else value


def _construct(node: Node) -> object:
    """Build the Python value of one scalar node with YAML's safe rules."""
    return SafeConstructor().construct_object(node, deep=True)
