"""Every test builds a new app, and each new app compiled again what the last one had
compiled: its routes' URL builders (most of ``create_app``'s time) and every template it
rendered (most of a first request's time). The tests keep both, once per process:

- Werkzeug compiles, for each route, two small URL-building functions from a syntax tree.
  They depend only on the rule's parsed parts and defaults, never on the app, so each one is
  compiled once and the same function is handed to every later rule with the same parts
  (``Rule._compile_builder`` memoized; nothing else about routing changes).
- Jinja's own bytecode cache (``jinja2.BytecodeCache``, here kept in memory and shared by
  every app through ``Flask.jinja_options``): a template is compiled once per process and
  loaded from its bytecode by later apps, keyed by its name, file and source checksum, as
  Jinja does with a cache on disk.

``tests/test_compile_cache.py`` checks that both hand out exactly what compiling anew would.
A Werkzeug whose ``Rule`` no longer has ``_compile_builder`` or ``_trace`` keeps compiling
(the tests are then only slower).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from jinja2.bccache import Bucket, BytecodeCache
from werkzeug.routing.rules import Rule

ORIGINAL = getattr(Rule, "_compile_builder", None)
_BUILDERS: dict[tuple, Callable[..., Any]] = {}


def _key(rule: Rule, append_unknown: bool) -> tuple | None:
    trace = getattr(rule, "_trace", None)
    if trace is None:
        return None
    defaults = rule.defaults or {}
    # A default for a part of the path is converted to text while compiling (by the rule's
    # own converter): those rules are left to Werkzeug.
    if any(dynamic and name in defaults for dynamic, name in trace):
        return None
    frozen = tuple(sorted((k, type(v).__name__, repr(v)) for k, v in defaults.items()))
    return (rule.rule, tuple(trace), frozen, bool(append_unknown))


def _compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., Any]:
    key = _key(self, append_unknown)
    if key is None:
        return ORIGINAL(self, append_unknown)
    builder = _BUILDERS.get(key)
    if builder is None:
        builder = _BUILDERS[key] = ORIGINAL(self, append_unknown)
    return builder


class MemoryBytecodeCache(BytecodeCache):
    """Jinja's bytecode cache, kept in this process's memory."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self.store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)  # a changed source (checksum) is compiled anew

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self.store.clear()


TEMPLATES = MemoryBytecodeCache()
_FLASK_OPTIONS = dict(Flask.jinja_options)


def install() -> None:
    """Keep route builders and template bytecode in this process (apps made from now on)."""
    Flask.jinja_options = {**_FLASK_OPTIONS, "bytecode_cache": TEMPLATES}
    if ORIGINAL is not None and Rule._compile_builder is not _compile_builder:
        Rule._compile_builder = _compile_builder


def uninstall() -> None:
    """Compile everything anew again (apps made from now on)."""
    Flask.jinja_options = dict(_FLASK_OPTIONS)
    if ORIGINAL is not None:
        Rule._compile_builder = ORIGINAL
    _BUILDERS.clear()
    TEMPLATES.clear()
