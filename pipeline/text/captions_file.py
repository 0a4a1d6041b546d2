"""captions.toml, the file a person writes beside the photos: the one place that reads and writes it.

Reading (`load_captions`) gives texts keyed by file name, `skip` and `order`; `match_captions`
matches the entries to the photos they mean, for every command. Writing: `gallery captions`
appends entries for new photos, every existing byte kept (`captions_entry`, `merge_captions`);
`gallery edit` changes values the way a careful person would by hand (`with_fields`, `with_order`:
tomlkit parses the file into a document that writes itself back byte for byte, so comments, notes
and entries for photos no longer in the folder stay as they were).
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, MutableMapping
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.toml_document import TOMLDocument

from ..config.values import toml_string
from ..errors import ConfigError
from ..model import TEXT_FIELDS, Captions, PhotoText, Problem
from ..names import one_line
from .clean import clean_text

CAPTIONS_FILE = "captions.toml"
ORDER_KEY = "order"  # top level: file names published first, in this order
SKIP_KEY = "skip"  # per photo: true leaves it out of everything published
FIELDS = TEXT_FIELDS


def load_captions(source: Path) -> Captions:
    """What a person wrote in SOURCE/captions.toml: texts keyed by original file name, the photos
    marked `skip = true`, and the top-level `order` list (all empty without a file).

    A malformed file is a ConfigError that names the file and the line, so nothing is published
    with half of the captions silently missing.
    """
    path = source / CAPTIONS_FILE
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        return Captions()
    except OSError as error:
        raise ConfigError(f"{path} cannot be read: {error.strerror or error}") from None
    try:
        text = raw_bytes.decode("utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    order = document.pop(ORDER_KEY, [])
    if not isinstance(order, list) or not all(isinstance(name, str) for name in order):
        raise ConfigError(
            f'{path}, line {_line_of(text, ORDER_KEY)}: order must be a list of file names, ["a.jpg", ...]'
        )
    captions, skip = {}, set()
    for name, entry in document.items():
        where = f"{path}, line {_line_of(text, name)}"
        if not isinstance(entry, dict):
            raise ConfigError(f'{where}: {name!r} must be a table such as ["{name}"] with alt, title, caption')
        for key, value in entry.items():
            if isinstance(value, dict):  # [IMG_1.jpg] unquoted is the table "IMG_1" holding a table "jpg"
                raise ConfigError(f'{where}: put file names in quotes: ["{name}.{key}"]')
            if key == SKIP_KEY:
                if not isinstance(value, bool):
                    raise ConfigError(f"{where}: {name!r} skip must be true or false, got {value!r}")
                continue
            if key not in FIELDS:
                known = ", ".join((*FIELDS, SKIP_KEY))
                raise ConfigError(f"{where}: unknown key {key!r} for {name!r}; known: {known}")
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {name!r} {key} must be text in quotes, got {value!r}")
        captions[name] = PhotoText(*(clean_text(entry.get(field, "")) for field in FIELDS))
        if entry.get(SKIP_KEY) is True:
            skip.add(name)
    return Captions(captions, frozenset(skip), tuple(order))


def match_captions(written: Captions, source: Path, photos: Collection[str], others: Collection[str]) -> Captions:
    """captions.toml's entries keyed by the photos they mean, with notes on the entries that needed
    a guess or matched nothing. Texts, `skip` and `order` are all matched here, for every command.

    `photos` and `others` are display names (names.display_name) of the photos of the plan and of
    the folder's other files. An entry means the file of exactly its name; else the one file whose
    name differs from it only in case or Unicode form (with a note, since the entry is misspelt);
    two such files make the entry ambiguous: it means neither. An entry for another file (a photo
    that cannot be read, a duplicate) means nothing, without a note: that file's own message says
    why. Every other entry matches nothing, which is said: above all for `skip`, where the photo the
    person wanted left out would otherwise be published without a word.
    """
    path, wanted = source / CAPTIONS_FILE, frozenset(photos)
    exact: dict[str, list[str]] = defaultdict(list)
    loose: dict[str, list[str]] = defaultdict(list)
    for name in sorted({*photos, *others}):
        exact[name].append(name)
        loose[_loose(name)].append(name)
    notes: list[Problem] = []

    def meant(entry: str, unmatched: str, claimed: Collection[str] = ()) -> str | None:
        found = exact.get(unicodedata.normalize("NFC", entry)) or loose.get(_loose(entry), [])
        if not found:
            notes.append(Problem(path, unmatched))
            return None
        if len(found) > 1:
            files = " and ".join(found)
            ambiguous = f"entry {entry!r} could mean {files}, whose names differ only in case; it is used for neither"
            notes.append(Problem(path, f"{ambiguous}: write the file name exactly as it is"))
            return None
        name = found[0]
        if name in claimed:
            notes.append(Problem(path, f"entry {entry!r} means {name}, which has an entry of its own; it is ignored"))
            return None
        if name != unicodedata.normalize("NFC", entry):
            notes.append(Problem(path, f"entry {entry!r} is taken to mean {name}; write the name as the file has it"))
        return name if name in wanted else None

    texts: dict[str, PhotoText] = {}
    skip = set()
    # Entries that name a file exactly come first: a misspelt second entry never displaces one.
    by_exact_name = sorted(written.texts.items(), key=lambda item: unicodedata.normalize("NFC", item[0]) not in exact)
    for entry, text in by_exact_name:
        left_out = ": nothing was left out (skip = true)" if entry in written.skip else ""
        matched = meant(entry, f"entry {entry!r} matches no photo in the folder (renamed?){left_out}", texts)
        if matched is not None:
            texts[matched] = text
            if entry in written.skip:
                skip.add(matched)
    order = (meant(entry, f"order: {entry!r} matches no photo in the folder (renamed?)") for entry in written.order)
    return Captions(texts, frozenset(skip), tuple(name for name in order if name), tuple(notes))


def _loose(name: str) -> str:
    """A file name as a person may write it: any case, any Unicode normal form."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", name).casefold())


def _line_of(text: str, name: str) -> int:
    """Line of the first mention of a photo's name, to point the person at the entry."""
    for number, line in enumerate(text.splitlines(), start=1):
        if name in line:
            return number
    return 1


CAPTIONS_HEADER = """\
# Alt text, title and caption per photo, keyed by file name. Written by `gallery captions`, which
# adds entries for new photos and never changes what is already here.
# alt:     what the photo shows, for people who cannot see it (one sentence, under 150 characters).
# title:   the tooltip; caption: visible text under the photo (with a caption style).
# An empty value falls back to text embedded in the photo, then to the [text] templates of the config.
"""


def captions_entry(name: str, known: PhotoText, note: str, skip: bool = False) -> str:
    """One `["file.jpg"]` table, pre-filled with what is known; `skip = true` when asked to leave it out.

    `name` is the photo's `display_name`. The note is a TOML comment, which ends at a line break: it is
    written through `one_line`, so no file name in it can start a line of its own (a key, a table).
    """
    lines = [f"[{toml_string(name)}]  # {one_line(note)}" if note else f"[{toml_string(name)}]"]
    lines += [f"{field} = {toml_string(getattr(known, field))}" for field in FIELDS]
    lines += [f"{SKIP_KEY} = true"] if skip else []
    return "\n".join(lines) + "\n"


def merge_captions(existing: str | None, entries: Iterable[tuple[str, str]]) -> str:
    """Append `(name, table)` entries to a captions file, keeping every existing byte as written."""
    text = existing if existing is not None else CAPTIONS_HEADER
    additions = "".join(f"\n{table}" for _, table in entries)
    if not additions:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + additions


# Editing (gallery edit) -------------------------------------------------------------------------

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
