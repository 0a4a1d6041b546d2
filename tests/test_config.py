"""A setting of the wrong type is explained in TOML's words, with an example, for every setting.

The settings are found by walking the Config dataclasses, so a setting added later is covered here
without another edit.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from pipeline.config.load import load_config
from pipeline.config.sections import Config
from pipeline.errors import ConfigError

# A value of another type than each kind of default, as a person might write it in TOML.
WRONG = {bool: '"yes"', int: '"2048"', float: '"0.5"', str: "5", tuple: '"480"'}
# What the message must call each kind.
WORDS = {
    bool: ("true or false",),
    int: ("a whole number such as ",),
    float: ("a number such as ",),
    str: ("text in quotes such as ",),
    tuple: ("a list of whole numbers such as ", "a list of text in quotes such as ", "a table such as "),
}
PYTHON_WORDS = re.compile(r"\b(tuple|str|int|bool|float|dict|list\[|NoneType)\b")


def _every_setting() -> list[tuple[str, str, object]]:
    settings = []
    for section in dataclasses.fields(Config):
        defaults = section.default_factory()  # type: ignore[misc]
        settings += [(section.name, f.name, getattr(defaults, f.name)) for f in dataclasses.fields(defaults)]
    return settings


@pytest.mark.parametrize(("section", "key", "default"), _every_setting(), ids=lambda value: str(value))
def test_a_value_of_the_wrong_type_is_explained_in_toml(
    section: str, key: str, default: object, tmp_path: Path
) -> None:
    wrong = WRONG[type(default)]
    settings = tmp_path / "gallery.toml"
    settings.write_text(f"[{section}]\n{key} = {wrong}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(settings)
    message = str(caught.value)
    start, end = f"{settings}: {section}.{key} should be ", f", got {wrong}"
    assert message.startswith(start) and message.endswith(end), message
    expected = message.removeprefix(start).removesuffix(end)
    assert not PYTHON_WORDS.search(expected), message
    assert expected.startswith(WORDS[type(default)]), message
    if isinstance(default, bool):
        return
    example = expected.split("such as ", 1)[1]
    value = tomllib.loads(f"x = {example}")["x"]  # the example is TOML
    if default not in ("", ()):
        assert value == (list(default) if isinstance(default, tuple) else default), "the example is the default"
    # ...and a value the setting takes: it may be refused for what it says, never for its type.
    settings.write_text(f"[{section}]\n{key} = {example}\n", encoding="utf-8")
    try:
        load_config(settings)
    except ConfigError as error:
        assert " should be " not in str(error), str(error)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            '[variants]\nwidths = "480"',
            'variants.widths should be a list of whole numbers such as [480, 960, 1600], got "480"',
        ),
        (
            '[variants]\nwidths = ["480"]',
            'variants.widths should be a list of whole numbers such as [480, 960, 1600], got ["480"]',
        ),
        (
            '[time]\noffsets = "-00:42:10"',
            'time.offsets should be a table such as { "Canon EOS R5" = "-00:42:10" }, got',
        ),
        (
            "[metadata]\nallow = 'Artist'",
            'metadata.allow should be a list of text in quotes such as ["Artist", "Copyright"]',
        ),
        ("[image]\nmax_edge = 2048.5", "image.max_edge should be a whole number such as 2048, got 2048.5"),
        ('[markup]\nfigure = "false"', 'markup.figure should be true or false, got "false"'),
    ],
)
def test_the_messages_a_person_meets_first(document: str, message: str, tmp_path: Path) -> None:
    settings = tmp_path / "gallery.toml"
    settings.write_text(document, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(settings)
    assert str(caught.value) == f"{settings}: {message}" or str(caught.value).startswith(f"{settings}: {message}")


def test_keyword_overrides_are_explained_the_same_way() -> None:
    with pytest.raises(
        ConfigError, match=r'^override: image\.max_edge should be a whole number such as 2048, got "2048"$'
    ):
        Config().with_overrides(image__max_edge="2048")
    assert Config().with_overrides(variants__widths=[480]).variants.widths == (480,)
    assert Config().with_overrides(time__offsets={"Canon EOS R5": "-00:42:10"}).time.offsets == (
        ("Canon EOS R5", "-00:42:10"),
    )
    assert Config().with_overrides(time__offsets=(("4012345", "+00:01:00"),)).time.offsets == (
        ("4012345", "+00:01:00"),
    )
