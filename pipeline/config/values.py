"""A setting's value checked against its type, and the type said in TOML's words with an example
(`a list of whole numbers such as [480, 960, 1600]`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args, get_origin, get_type_hints

WRONG_TYPE = object()  # what coerce gives for a value of the wrong type
ANY_TEXT = '"..."'  # the example of a text setting whose default is empty


def setting_type(section: type, key: str) -> Any:
    """The declared type of a setting: bool, int, float, str (or a Literal of strings), a tuple of
    ints or strs (a TOML array), or a tuple of string pairs (a TOML table)."""
    return get_type_hints(section)[key]


def coerce(value: Any, kind: Any) -> Any:
    """The value as a setting of this type holds it (arrays become tuples, a table sorted pairs),
    or WRONG_TYPE."""
    if kind is bool:
        return value if isinstance(value, bool) else WRONG_TYPE
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else WRONG_TYPE
    if kind is float:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else WRONG_TYPE
    if kind is str or get_origin(kind) is Literal:
        return value if isinstance(value, str) else WRONG_TYPE
    item = get_args(kind)[0]
    if get_origin(item) is tuple:  # a table of text -> text, kept as sorted pairs (hashable)
        if isinstance(value, dict):
            return tuple(sorted((str(k), v) for k, v in value.items()))
        pairs = isinstance(value, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value)
        return tuple(tuple(pair) for pair in value) if pairs else WRONG_TYPE
    if not isinstance(value, (list, tuple)):
        return WRONG_TYPE
    items = tuple(coerce(one, item) for one in value)
    return WRONG_TYPE if WRONG_TYPE in items else items


def expected_value(section: type, setting: dataclasses.Field[Any]) -> str:
    """What a setting takes, in TOML's words, with an example: its default, or where that is empty
    the example its field declares."""
    kind = setting_type(section, setting.name)
    default = getattr(section(), setting.name)
    example = toml_value(setting.metadata.get("example", default))
    if kind is bool:
        return "true or false"
    if kind is int:
        return f"a whole number such as {example}"
    if kind is float:
        return f"a number such as {example}"
    if kind is str or get_origin(kind) is Literal:
        return f"text in quotes such as {example if default else ANY_TEXT}"
    item = get_args(kind)[0]
    if get_origin(item) is tuple:
        return f"a table such as {example}"
    return f"a list of {'whole numbers' if item is int else 'text in quotes'} such as {example}"


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for ch in text:
        if ch in '"\\':
            escaped.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(ch)
    return '"' + "".join(escaped) + '"'


def toml_value(value: Any) -> str:
    """A value as TOML writes it: `"480"`, `true`, `[480, 960]`, `{ "Canon EOS R5" = "-00:42:10" }`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dict):
        pairs = ", ".join(f"{toml_string(str(key))} = {toml_value(item)}" for key, item in value.items())
        return f"{{ {pairs} }}" if pairs else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return str(value)  # numbers, dates and times read the same in TOML
