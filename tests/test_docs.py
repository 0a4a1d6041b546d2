"""The documentation: a short README, and reference pages under docs/ that cover the whole CLI.

- README.md stays a start page of at most 200 lines whose first code block is the two commands a
  newcomer runs (CI greps the `-m pytest` line from it and runs that).
- docs/usage.md has a section per command (`gallery NAME` in its heading) naming every option.
- Every settings section and key of `Config` appears in docs/.
- Every relative link in README.md and docs/*.md leads to a file that exists, and every `#anchor`
  to a heading of that file (GitHub's heading ids).

The CLI and the settings are collected by introspection, so a new command, option or setting
fails here until it is documented.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"
USAGE = DOCS / "usage.md"

README_MAX_LINES = 200
SETUP_AND_RUN = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/gallery process sample_images"
RUN_TESTS = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


# --- reading Markdown ---------------------------------------------------------------------------


def parse(text: str) -> tuple[list[tuple[int, str]], list[tuple[str, list[str]]]]:
    """Markdown split into prose, as (line index, line), and fenced code blocks, as (info string, lines)."""
    prose: list[tuple[int, str]] = []
    blocks: list[tuple[str, list[str]]] = []
    fence: str | None = None
    for index, line in enumerate(text.splitlines()):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            blocks.append((line.strip()[len(fence) :].strip(), []))
        elif fence is not None and match and match.group(1).startswith(fence) and not line.strip().strip(fence[0]):
            fence = None  # a closing fence: the same character, at least as long, nothing after it
        elif fence is not None:
            blocks[-1][1].append(line)
        else:
            prose.append((index, line))
    return prose, blocks


def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    return parse(text)[1]


def headings(text: str) -> list[tuple[int, str, int]]:
    """(level, text, line index) of each ATX heading outside code blocks."""
    found = []
    for index, line in parse(text)[0]:
        heading = HEADING.match(line)
        if heading:
            found.append((len(heading.group(1)), heading.group(2), index))
    return found


def plain(heading: str) -> str:
    """A heading's text as rendered: code spans unwrapped, links reduced to their text."""
    heading = INLINE_CODE.sub(lambda m: m.group(2).strip(), heading)
    heading = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[*]|(?<!\w)_|_(?!\w)", "", heading)


def github_slug(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, each space a hyphen."""
    text = plain(heading).strip().lower()
    text = "".join(char for char in text if char.isalnum() or char in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading id of a Markdown file, numbered like GitHub's when a heading repeats."""
    seen: dict[str, int] = {}
    ids = set()
    for _, text, _ in headings(path.read_text(encoding="utf-8")):
        slug = github_slug(text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(slug if count == 0 else f"{slug}-{count}")
    return ids


def link_targets(text: str) -> list[str]:
    """The targets of inline and reference links outside code (fenced blocks and code spans)."""
    targets = []
    for _, line in parse(text)[0]:
        reference = REFERENCE_LINK.match(line)
        if reference:
            targets.append(reference.group(1))
            continue
        line = INLINE_CODE.sub("code", line)
        targets.extend(match.group(1) for match in INLINE_LINK.finditer(line))
    return targets


def section(text: str, title: re.Pattern[str]) -> str | None:
    """The text under the first heading whose plain text matches `title`, down to the next heading
    of the same or a higher level; None when no heading matches."""
    lines = text.splitlines()
    found = headings(text)
    for position, (level, heading, index) in enumerate(found):
        if title.search(plain(heading)):
            end = next((i for lvl, _, i in found[position + 1 :] if lvl <= level), len(lines))
            return "\n".join(lines[index + 1 : end])
    return None


def mentions(text: str, word: str) -> bool:
    """`word` appears in `text` as a whole token: `--out` is not in `--output`, `dir` not in `dir_x`."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


# --- the helpers themselves ---------------------------------------------------------------------


def test_helpers_read_markdown_as_github_does():
    assert github_slug("`gallery inspect`: what a file gives away") == "gallery-inspect-what-a-file-gives-away"
    assert github_slug("Alt text, title and caption") == "alt-text-title-and-caption"
    assert github_slug("`[output]`") == "output"
    assert github_slug("Levers, measured") == "levers-measured"
    text = "# T\n\nSee [a](a.md#x) and `[not](a link)`.\n\n```sh\n[no](b.md)\n# not a heading\n```\n[r]: c.md\n"
    assert link_targets(text) == ["a.md#x", "c.md"]
    assert [h[1] for h in headings(text)] == ["T"]
    assert mentions("use --out DIR", "--out")
    assert not mentions("use --output FILE", "--out")
    assert not mentions("--title-template", "--title")
    assert section("# A\n## `gallery x`\nbody\n## next\nmore\n", re.compile(r"gallery x")) == "body"


# --- README -------------------------------------------------------------------------------------


def test_readme_is_short_and_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    count = len(text.splitlines())
    assert count <= README_MAX_LINES, f"README.md has {count} lines, more than {README_MAX_LINES}"
    blocks = fenced_blocks(text)
    assert blocks, "README.md has no code block"
    _, first = blocks[0]
    assert first == [SETUP_AND_RUN, RUN_TESTS], f"README.md's first code block is {first}"
    # CI runs the first README line that contains `-m pytest`: it must be the test command.
    pytest_lines = [line for line in text.splitlines() if "-m pytest" in line]
    assert pytest_lines and pytest_lines[0] == RUN_TESTS


def test_readme_links_every_docs_page():
    pages = doc_pages()
    assert len(pages) >= 8, f"expected the reference pages under docs/, found {[p.name for p in pages]}"
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in link_targets(README.read_text())}
    missing = [page.name for page in pages if page.resolve() not in linked]
    assert not missing, f"README.md links no docs page named {missing}"


# --- the CLI ------------------------------------------------------------------------------------


def cli_commands() -> dict:
    import typer

    from pipeline.cli.app import app

    return dict(typer.main.get_command(app).commands)


def test_every_command_and_option_is_in_usage():
    commands = cli_commands()
    assert commands, "no commands found in pipeline.cli.app"
    usage = USAGE.read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    checked = 0
    problems = []
    for name, command in sorted(commands.items()):
        if not mentions(readme, f"gallery {name}"):
            problems.append(f"README.md: no `gallery {name}`")
        body = section(usage, re.compile(rf"(?<![\w-])gallery {re.escape(name)}(?![\w-])"))
        if body is None:
            problems.append(f"docs/usage.md: no heading for `gallery {name}`")
            continue
        for param in command.params:
            # Typer ships its own click, so options are told by click's `param_type_name`, not by class.
            if param.param_type_name != "option" or "--help" in param.opts:
                continue
            long = next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
            checked += 1
            if not mentions(body, long):
                problems.append(f"docs/usage.md: `gallery {name}` section does not mention {long}")
    assert checked, "no options found on any command"
    assert not problems, "undocumented:\n" + "\n".join(problems)


# --- the settings -------------------------------------------------------------------------------


def config_sections() -> dict[str, list[str]]:
    from pipeline.config.sections import Config

    config = Config()
    return {
        section.name: [key.name for key in dataclasses.fields(getattr(config, section.name))]
        for section in dataclasses.fields(Config)
    }


def toml_tables(texts: list[str]) -> dict[str, set[str]]:
    """Keys per `[section]` in the ```toml blocks of the given Markdown texts."""
    tables: dict[str, set[str]] = {}
    for text in texts:
        for info, lines in fenced_blocks(text):
            if info.split()[:1] != ["toml"]:
                continue
            current = None
            for line in lines:
                table = re.match(r"^\s*\[([\w.-]+)\]", line)
                key = re.match(r"^\s*([\w-]+)\s*=", line)
                if table:
                    current = table.group(1)
                    tables.setdefault(current, set())
                elif key and current:
                    tables[current].add(key.group(1))
    return tables


def test_every_setting_is_documented():
    sections = config_sections()
    assert sections and all(sections.values()), f"no settings found: {sections}"
    texts = [page.read_text(encoding="utf-8") for page in doc_pages()]
    everything = "\n".join(texts)
    tables = toml_tables(texts)
    problems = []
    for name, keys in sections.items():
        if f"[{name}]" not in everything:
            problems.append(f"[{name}]: section not named in docs/")
        for key in keys:
            if not mentions(everything, f"{name}.{key}") and key not in tables.get(name, ()):
                problems.append(f"{name}.{key}: not in docs/ (as `{name}.{key}` or in a [{name}] TOML table)")
    assert not problems, "undocumented settings:\n" + "\n".join(problems)


# --- links --------------------------------------------------------------------------------------


def test_relative_links_lead_somewhere():
    pages = [README, *doc_pages()]
    checked = anchored = 0
    problems = []
    for page in pages:
        for target in link_targets(page.read_text(encoding="utf-8")):
            if SCHEME.match(target):
                continue
            checked += 1
            path_part, _, anchor = target.partition("#")
            linked = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(REPO)}: {target}"
            if not linked.exists():
                problems.append(f"{where}: no such file")
                continue
            if anchor:
                anchored += 1
                if linked.suffix != ".md":
                    problems.append(f"{where}: anchor into a file that is not Markdown")
                elif anchor not in anchors(linked):
                    problems.append(f"{where}: no heading with id #{anchor} in {linked.relative_to(REPO)}")
    assert checked and anchored, "no relative links found"
    assert not problems, "broken links:\n" + "\n".join(dict.fromkeys(problems))
