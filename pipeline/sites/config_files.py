"""A site builder's own configuration, read as text and never run.

gallery needs a few facts from a site's configuration: an Eleventy config's folders, what it copies
into the built site and whether it runs eleventy-img's transform over every `<img>`; whether a Hugo
site has a theme or layouts to build a page with. A JavaScript config is a program, and gallery
runs nobody's program to find out: these facts are read from the file's text, the way people write
them (`dir: {input: "content"}`, `setInputDirectory("content")`, `addPassthroughCopy(...)`). What is
not written in a recognisable form counts as absent, which costs at most a warning too many.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# A JavaScript string literal, or a comment (dropped): strings first, so `"https://x"` stays whole.
_STRING = r""""(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`"""
_STRING_OR_COMMENT = re.compile(rf"({_STRING})|//[^\n]*|/\*.*?\*/", re.DOTALL)
_FOLDERS = ("input", "output", "includes", "layouts", "data")
_DIR_OBJECT = re.compile(r"""\bdir["']?\s*:\s*\{([^{}]*)\}""")
_DIR_KEY = re.compile(rf"""\b({"|".join(_FOLDERS)})["']?\s*:\s*({_STRING})""")
_DIR_SETTER = re.compile(rf"""\.set(Input|Output|Includes|Layouts|Data)Directory\(\s*({_STRING})""")
_PASSTHROUGH = re.compile(r"\.addPassthroughCopy\(\s*")
_PAIR = re.compile(rf"""({_STRING}|[\w$]+)\s*:\s*({_STRING})""")
_BRACE_OR_STRING = re.compile(rf"{_STRING}|[{{}}]")
_GLOB = re.compile(r"[*?{}\[\]]")


def _unquote(literal: str) -> str:
    return literal[1:-1] if literal[:1] in "\"'`" else literal


def _js_code(text: str) -> str:
    """The config's text without comments: a commented-out line says nothing."""
    return _STRING_OR_COMMENT.sub(lambda found: found.group(1) or "", text)


def _relative(path: str) -> str:
    """A path as Eleventy compares them: no leading `./`, no trailing `/`, `.` for the root."""
    return os.path.normpath(path.strip() or ".").replace(os.sep, "/")


@dataclass(frozen=True)
class EleventyConfig:
    """What an Eleventy config says about the site's folders and its copies, as written there.

    Folders are Eleventy's defaults unless the config names them; `includes`, `layouts` and `data`
    are relative to `input`, as Eleventy reads them. `copies` are the passthrough copies, each
    (source, target) with target "" when the source's own path is kept.
    """

    file: Path | None = None
    input: str = "."
    output: str = "_site"
    includes: str = "_includes"
    layouts: str = ""  # "" = layouts are looked up in the includes folder
    data: str = "_data"
    copies: tuple[tuple[str, str], ...] = ()
    image_transform: bool = False

    def folder(self, name: str) -> str:
        """`input`, or one of the folders relative to it, as a path relative to the site's root."""
        return _relative(self.input if name == "input" else f"{self.input}/{getattr(self, name)}")

    def publishes(self, folder: str) -> str:
        """How the passthrough copies treat FOLDER (relative to the root): "files" when a glob in it
        copies its files, "folder" when a copy takes the whole folder (dot files included), else ""."""
        folder = _relative(folder)
        for source, _target in self.copies:
            source = _relative(source)
            if _GLOB.search(source):
                if source.startswith(f"{folder}/") and not _GLOB.search(source[: len(folder) + 1]):
                    return "files"
            elif source == "." or folder == source or folder.startswith(f"{source}/"):
                return "folder"
        return ""


def read_eleventy(file: Path) -> EleventyConfig:
    """The facts of an Eleventy config file; a file that cannot be read gives Eleventy's defaults."""
    try:
        code = _js_code(file.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return EleventyConfig(file)
    folders: dict[str, str] = {}
    for body in _DIR_OBJECT.findall(code):
        folders |= {key: _unquote(value) for key, value in _DIR_KEY.findall(body)}
    folders |= {key.lower(): _unquote(value) for key, value in _DIR_SETTER.findall(code)}
    return EleventyConfig(
        file, **folders, copies=tuple(_passthrough_copies(code)), image_transform="eleventyImageTransformPlugin" in code
    )


def _passthrough_copies(code: str) -> list[tuple[str, str]]:
    """The first argument of every `addPassthroughCopy(...)`: a path or glob, or an object of
    source: target pairs."""
    copies = []
    for call in _PASSTHROUGH.finditer(code):
        rest = code[call.end() :]
        if literal := re.match(_STRING, rest):
            copies.append((_unquote(literal.group()), ""))
        elif rest.startswith("{"):
            copies += [(_unquote(key), _unquote(value)) for key, value in _PAIR.findall(_braced(rest))]
    return copies


def _braced(text: str) -> str:
    """The `{...}` object at the start of TEXT, braces inside strings (globs such as `*.{jpeg,webp}`)
    not counted."""
    depth = 0
    for token in _BRACE_OR_STRING.finditer(text):
        if token.group() in "{}":
            depth += 1 if token.group() == "{" else -1
            if depth == 0:
                return text[1 : token.start()]
    return ""


def eleventy_layout_given(folder: Path, input_folder: Path) -> bool:
    """Whether directory data of FOLDER or a folder above it (up to the input folder) sets `layout`:
    `blog/blog.11tydata.js`, `posts/posts.json` and the like, as Eleventy's starter gives its posts."""
    folder, input_folder = folder.resolve(), input_folder.resolve()
    for current in (folder, *folder.parents):
        data = [current / f"{current.name}.11tydata.{ext}" for ext in ("js", "mjs", "cjs", "json")]
        for file in [*data, current / f"{current.name}.json"]:
            try:
                if re.search(r"""\blayout["']?\s*:""", _js_code(file.read_text(encoding="utf-8", errors="replace"))):
                    return True
            except OSError:
                continue
        if current == input_folder or not current.is_relative_to(input_folder):
            return False
    return False


def eleventy_post_layout(layouts: Path) -> str:
    """A layout for posts that the site has (`layouts/post.*` or `post.*` in its layouts folder), as
    a post's front matter names it; "" when there is none."""
    for pattern in ("layouts/post.*", "post.*"):
        for found in sorted(layouts.glob(pattern)):
            if found.is_file():
                return found.relative_to(layouts).as_posix()
    return ""


# --- Hugo --------------------------------------------------------------------------------------------------

HUGO_FORMATS = ("toml", "yaml", "yml", "json")
# A theme named in the config (`theme = "x"`, `theme: [x]`, `"theme": "x"`), or Hugo modules imported.
_HUGO_THEME = re.compile(r"""(?m)(?:^|[{,])\s*["']?theme["']?\s*[=:]|\bimports\b""")
# Templates a regular page is rendered with: single.html (every version), page.html and all.html
# (the template system of Hugo 0.146 and later), in layouts/ or a section's folder in it.
_PAGE_TEMPLATES = ("single", "page", "all")
_NOT_PAGE_FOLDERS = {"partials", "_partials", "shortcodes", "_shortcodes", "_markup"}


def hugo_config_folder(root: Path) -> list[Path]:
    """The files of Hugo's configuration folder, `config/_default/` (hugo.toml, params.yaml, ...)."""
    default = root / "config" / "_default"
    found = sorted(default.glob("*.*")) if default.is_dir() else []
    return [file for file in found if file.suffix[1:] in HUGO_FORMATS and file.is_file()]


def hugo_config_files(root: Path) -> list[Path]:
    """The site's configuration: hugo.* or config.* at its root, and its configuration folder."""
    files = [root / f"{stem}.{ext}" for stem in ("hugo", "config") for ext in HUGO_FORMATS]
    return [file for file in files if file.is_file()] + hugo_config_folder(root)


def hugo_has_theme(root: Path) -> bool:
    for file in hugo_config_files(root):
        try:
            if _HUGO_THEME.search(file.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


def hugo_has_page_layout(root: Path) -> bool:
    layouts = root / "layouts"
    for file in layouts.rglob("*.*") if layouts.is_dir() else []:
        inside = file.relative_to(layouts).parts[:-1]
        if file.name.split(".")[0] in _PAGE_TEMPLATES and not _NOT_PAGE_FOLDERS & set(inside):
            return True
    return False
