"""Changes to captions.toml made the way a careful person would make them by hand.

The file is a person's: comments, notes, the order of entries, entries for photos that are not in
the folder any more, all stay as they were. tomlkit parses it into a document that writes itself
back byte for byte, so a change touches only the values it sets. These functions take the file's
text and give the new text; reading it fresh and writing it atomically is the caller's part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.toml_document import TOMLDocument

from ..errors import ConfigError
from .captions_file import CAPTIONS_FILE, CAPTIONS_HEADER, FIELDS, ORDER_KEY, SKIP_KEY

EDITABLE = (*FIELDS, SKIP_KEY)


def with_fields(text: str | None, name: str, changes: Mapping[str, str | bool]) -> str:
    """The file with `changes` (alt, title, caption: text; skip: true or false) set in the entry of
    photo `name`, which is appended when the file has none. `text` None: there is no file yet."""
    document = _parse(text)
    entry = document.get(name)
    if entry is None:
        entry = tomlkit.table()
        document[name] = entry
    elif not isinstance(entry, MutableMapping):
        raise ConfigError(f"{CAPTIONS_FILE}: {name!r} is not a table of alt, title and caption; fix it by hand")
    for key in EDITABLE:  # in the file's usual order, whatever order the change came in
        if key not in changes:
            continue
        value = changes[key]
        if key == SKIP_KEY and value is False and key not in entry:
            continue  # not skipped is the default: no line needed
        entry[key] = value
    return tomlkit.dumps(document)


def with_order(text: str | None, names: Iterable[str]) -> str:
    """The file with its top-level `order` list set to `names`, one per line."""
    document = _parse(text)
    order = tomlkit.array()
    order.extend(names)
    order.multiline(True)
    document[ORDER_KEY] = order
    return tomlkit.dumps(document)


def _parse(text: str | None) -> TOMLDocument:
    """The file as a document that keeps every byte; a new file starts with the usual header."""
    try:
        document = tomlkit.parse(CAPTIONS_HEADER if text is None else text)
    except TOMLKitError as error:
        raise ConfigError(f"{CAPTIONS_FILE} is not valid TOML ({error}); fix it by hand, then try again") from None
    return document
