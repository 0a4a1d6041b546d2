"""The `[text]` templates (`{title} - {number:02d}`) and the precedence of a photo's texts: what a
person wrote in captions.toml, then what the photo carries, then the templates."""

from __future__ import annotations

from datetime import date

from ..errors import ConfigError
from ..model import PhotoText


class _NoDate:
    """`{date}` of a photo without a capture date: empty, whatever the format spec asks for (and
    `{date.year}` too, so a template that works for dated photos works for all)."""

    def __format__(self, spec: str) -> str:
        return ""

    def __getattr__(self, name: str) -> _NoDate:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __str__(self) -> str:
        return ""


NO_DATE = _NoDate()
# What each placeholder is, for checking templates before a run: `{title:.40}` and `{filename}` are
# text, `{number:02d}` and `{count}` whole numbers, `{date:%d %B %Y}` a date (`{date}`: 2024-06-23).
TEMPLATE_SAMPLE: dict[str, object] = {
    "title": "Trade mission",
    "number": 7,
    "count": 12,
    "filename": "IMG_0007.JPG",
    "date": date(2024, 6, 23),
}


TEMPLATE_HELP = (
    "{title} and {filename} are text, {number} and {count} whole numbers ({number:02d} gives 07), "
    "{date} the capture date ({date:%d %B %Y} gives 23 June 2024)"
)


def fill_template(template: str, **values: object) -> str:
    """Fill `{title}`-style placeholders, with Python's format specs (`{number:02d}`); a misspelt
    placeholder or a spec its value cannot take is a config error, not a crash."""
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as error:
        raise ConfigError(f"text template {template!r} is invalid ({_reason(error)}); {TEMPLATE_HELP}") from None


def check_template(setting: str, template: str) -> None:
    """Fill a template with values of each placeholder's type, so that a wrong one fails before the
    run starts, with a message that names the setting."""
    try:
        template.format_map(TEMPLATE_SAMPLE)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as error:
        raise ConfigError(f"{setting} = {template!r} cannot be filled: {_reason(error)}; {TEMPLATE_HELP}") from None


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"there is no placeholder {{{error.args[0]}}}"
    return str(error) or type(error).__name__


def photo_text(written: PhotoText, embedded: PhotoText, templates: tuple[str, str], **values: object) -> PhotoText:
    """Per field, the first text that exists: what a person wrote in captions.toml, then what the
    photo carries, then the `[text]` templates (alt, title) filled with `values`."""
    alt, title = (fill_template(template, **values) for template in templates)
    return written.or_else(embedded).or_else(PhotoText(alt, title))
