"""The settings: one section per concern, one `Config` for a whole run, and the checks that refuse
settings that could not work, with a message that names the setting.

The defaults below are the same values that `config.toml` at the repository root documents line by
line (a test keeps the two in step). A run's config is built once (load.py: defaults, the site's
preset, a settings file, then flags or keyword arguments) and passed down to every stage; nothing
re-reads it later.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from .. import formats
from ..errors import ConfigError
from ..exif_tags import allowed_tag_ids
from ..names import utf8_text
from ..sites import folders
from ..text.templates import check_template
from .values import WRONG_TYPE, coerce, expected_value, setting_type, toml_value

# The names of the metadata policies (exif_policy.POLICIES) and markup styles (markup.STYLES), listed
# here as part of the settings' reference; a test keeps each list equal to its registry.
MetadataPolicy = Literal["strip", "keep", "allow"]
ColorMode = Literal["srgb", "preserve"]
MarkupStyle = Literal["markdown", "kramdown", "html", "grid", "hugo"]
Background = Literal["", "color", "placeholder"]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
METADATA_POLICIES: tuple[str, ...] = get_args(MetadataPolicy)
COLOR_MODES: tuple[str, ...] = get_args(ColorMode)
MARKUP_STYLES: tuple[str, ...] = get_args(MarkupStyle)


# Settings that name a file: kept as the file system spells them. Every other text setting is text
# for people, made valid Unicode (bytes from a command line that are not UTF-8 written as `\xNN`).
FILE_NAME = {"file": True}

STDOUT = "-"  # output.manifest = "-": the caller prints the manifest instead of a file being written


@dataclass(frozen=True)
class OutputSettings:
    """Where files go and how the post refers to them."""

    dir: str = field(default="site/assets/img", metadata=FILE_NAME)
    name: str = ""
    url_prefix: str = "{{ site.baseurl }}/assets/img"
    manifest: str = field(default="{dir}/{name}.json", metadata=FILE_NAME)
    post_file: str = field(default="", metadata=FILE_NAME)
    site: str = ""  # "jekyll", "hugo", "eleventy"; "" = the site the working folder is in, if any


@dataclass(frozen=True)
class TextSettings:
    """Post title and the templates that turn it into per-photo alt and title text."""

    title: str = ""
    alt: str = "{title}"
    title_template: str = "{title}"


@dataclass(frozen=True)
class MarkupSettings:
    """The form of the post's image block: plain Markdown, or responsive images for the site builder."""

    style: MarkupStyle = "markdown"
    sizes: str = "(max-width: 800px) 100vw, 800px"
    figure: bool = True
    grid_class: str = "gallery"
    background: Background = ""
    # Extra attributes of every <img> (html and grid styles), name -> value ("" = no value); in TOML,
    # a table: `img_attributes = { "eleventy:ignore" = "" }`.
    img_attributes: tuple[tuple[str, str], ...] = field(default=(), metadata={"example": {"eleventy:ignore": ""}})


@dataclass(frozen=True)
class ImageSettings:
    """The main image each Markdown line links to."""

    enabled: bool = True
    max_edge: int = 2048
    format: str = "jpeg"


@dataclass(frozen=True)
class VariantSettings:
    """Responsive widths for `srcset`, in every listed format."""

    widths: tuple[int, ...] = (480, 960, 1600)
    formats: tuple[str, ...] = ("webp",)


@dataclass(frozen=True)
class ThumbnailSettings:
    """A small preview for grids and contact sheets; `width = 0` turns it off."""

    width: int = 320
    format: str = "webp"
    crop: str = ""  # "" keeps the photo's shape; "1:1", "4:3", ... crops the centre to that aspect


# Encoder settings per format, as each format's record in formats.py declares them: a format added
# there brings its settings along. Each output's cache key takes its own format's settings.
QualitySettings = dataclasses.make_dataclass(
    "QualitySettings",
    [(key, type(value), field(default=value)) for key, value in formats.quality_defaults().items()],
    frozen=True,
)


QualitySettings.__module__ = __name__  # so a worker process finds the class when it unpickles a Config


@dataclass(frozen=True)
class MetadataSettings:
    """What metadata reaches published files, and how colour is handled."""

    policy: MetadataPolicy = "strip"
    allow: tuple[str, ...] = field(default=(), metadata={"example": ("Artist", "Copyright")})
    gps: bool = False
    serials: bool = False
    maker_notes: bool = False
    thumbnail: bool = False
    color: ColorMode = "srgb"
    background: str = "#ffffff"
    owners: tuple[str, ...] = field(default=(), metadata={"example": ("Jane Doe",)})


@dataclass(frozen=True)
class CreditSettings:
    """Photo credit written into every published image's EXIF, under every metadata policy."""

    artist: str = ""
    copyright: str = ""


@dataclass(frozen=True)
class WatermarkSettings:
    """A visible mark on the published images; off while both `text` and `logo` are empty."""

    text: str = ""
    logo: str = field(default="", metadata=FILE_NAME)  # an image file (PNG with transparency works best)
    corner: Corner = "bottom-right"
    opacity: float = 0.5
    size: float = 0.2  # width of the mark as a fraction of the image's width
    thumbnails: bool = False


@dataclass(frozen=True)
class LimitSettings:
    """Safety limits checked before any pixel is decoded."""

    max_pixels: int = 250_000_000
    follow_external_symlinks: bool = False


@dataclass(frozen=True)
class RunSettings:
    """How the work is scheduled; never changes output bytes."""

    jobs: int = 0
    force: bool = False
    quiet: bool = False
    wait: int = 0


@dataclass(frozen=True)
class TimeSettings:
    """Clock corrections for cameras whose clocks disagree, applied before photos are ordered.

    `offsets`: camera ("Make Model", the model alone, or a serial number) -> "+HH:MM[:SS]" or "-...",
    added to that camera's capture times; in TOML, a table: `offsets = { "Canon EOS R5" = "-00:42:10" }`.
    """

    offsets: tuple[tuple[str, str], ...] = field(default=(), metadata={"example": {"Canon EOS R5": "-00:42:10"}})


@dataclass(frozen=True)
class WatchSettings:
    """`gallery watch`: when a file counts as fully arrived, how changes are noticed, what a deletion does."""

    settle: float = 1.5
    poll: bool = False
    keep_deleted: bool = False


@dataclass(frozen=True)
class Config:
    output: OutputSettings = field(default_factory=OutputSettings)
    text: TextSettings = field(default_factory=TextSettings)
    image: ImageSettings = field(default_factory=ImageSettings)
    variants: VariantSettings = field(default_factory=VariantSettings)
    thumbnail: ThumbnailSettings = field(default_factory=ThumbnailSettings)
    quality: Any = field(default_factory=QualitySettings)  # a QualitySettings
    metadata: MetadataSettings = field(default_factory=MetadataSettings)
    time: TimeSettings = field(default_factory=TimeSettings)
    credit: CreditSettings = field(default_factory=CreditSettings)
    watermark: WatermarkSettings = field(default_factory=WatermarkSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    run: RunSettings = field(default_factory=RunSettings)
    markup: MarkupSettings = field(default_factory=MarkupSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)

    @property
    def jobs(self) -> int:
        """Worker count: the configured number, or every core when 0."""
        return self.run.jobs or os.cpu_count() or 1

    def with_overrides(self, **overrides: Any) -> Config:
        """Return a copy with `section__key=value` overrides applied; None values are ignored.

        This is how CLI flags and library keyword arguments land on top of the file.
        """
        sections: dict[str, dict[str, Any]] = {}
        for dotted, value in overrides.items():
            if value is None:
                continue
            section, _, key = dotted.partition("__")
            if not key:
                raise ConfigError(f"override {dotted!r} must be written as section__key")
            sections.setdefault(section, {})[key] = value
        return merge(self, sections, origin="override")


def _section_types() -> dict[str, type]:
    return {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]  # every section's default is its class


def merge(base: Config, raw: dict[str, Any], origin: str) -> Config:
    types = _section_types()
    changes: dict[str, Any] = {}
    for section, values in raw.items():
        if section not in types:
            raise ConfigError(f"{origin}: unknown section [{section}]; known sections: {', '.join(types)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table of settings")
        current = getattr(base, section)
        known = {f.name: f for f in dataclasses.fields(current)}
        updates = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(
                    f"{origin}: unknown setting {section}.{key}; known in [{section}]: {', '.join(known)}"
                )
            kind = setting_type(types[section], key)
            converted = coerce(value, kind)
            if converted is WRONG_TYPE:
                expected = expected_value(types[section], known[key])
                raise ConfigError(f"{origin}: {section}.{key} should be {expected}, got {toml_value(value)}")
            if get_origin(kind) is Literal and converted not in get_args(kind):
                choices = ", ".join(choice or '""' for choice in get_args(kind))
                raise ConfigError(f"{origin}: {section}.{key} must be one of {choices}, got {converted!r}")
            updates[key] = converted if known[key].metadata.get("file") else _as_text(converted)
        changes[section] = dataclasses.replace(current, **updates)
    config = dataclasses.replace(base, **changes)
    validate(config)
    return config


def _as_text(value: Any) -> Any:
    """A text setting (or a list or table of them) as text that can be written as UTF-8."""
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, tuple):
        return tuple(_as_text(item) for item in value)
    return value


def validate(config: Config) -> None:
    """Reject settings that would fail later, with a message that names the setting."""
    for fmt in (config.image.format, config.thumbnail.format, *config.variants.formats):
        formats.check_available(fmt)
        formats.check_colour(fmt, config.metadata.color)
    if any(not isinstance(w, int) or w <= 0 for w in config.variants.widths):
        raise ConfigError(f"variants.widths must be positive integers, got {list(config.variants.widths)}")
    if config.image.max_edge <= 0:
        raise ConfigError("image.max_edge must be a positive number of pixels")
    if config.thumbnail.width < 0:
        raise ConfigError("thumbnail.width must be 0 (off) or a positive number of pixels")
    for fmt in formats.QUALITY_KEYS:
        quality = getattr(config.quality, fmt)
        if not 1 <= quality <= 100:
            raise ConfigError(f"quality.{fmt} must be between 1 and 100, got {quality}")
    if config.metadata.policy == "allow" and not config.metadata.allow:
        raise ConfigError('metadata.policy = "allow" needs tag names in metadata.allow, e.g. ["Artist", "Copyright"]')
    allowed_tag_ids(config.metadata.allow)
    if config.limits.max_pixels <= 0:
        raise ConfigError("limits.max_pixels must be positive")
    if config.run.jobs < 0:
        raise ConfigError("run.jobs must be 0 (all cores) or a positive number")
    if re.search(r'["{}\\\x00-\x1f]', config.markup.sizes):
        raise ConfigError(
            f"markup.sizes must be a CSS sizes list without quotes, braces or backslashes, got {config.markup.sizes!r}"
        )
    if not re.fullmatch(r"[\w\- ]*", config.markup.grid_class):
        raise ConfigError(
            f"markup.grid_class must be CSS class names (letters, digits, - and _), got {config.markup.grid_class!r}"
        )
    if config.run.wait < 0:
        raise ConfigError("run.wait must be 0 (refuse at once) or a positive number of seconds")
    if config.watch.settle < 0:
        raise ConfigError("watch.settle must be 0 or a positive number of seconds")
    # Templates fail here, before a run creates or locks anything, not halfway through it.
    for key in ("alt", "title_template"):
        check_template(f"text.{key}", getattr(config.text, key))
    try:
        config.output.manifest.format(dir="d", name="n")
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"output.manifest {config.output.manifest!r} is invalid ({error}); placeholders: {{dir}} {{name}}"
        ) from None
    if config.output.site not in ("", *folders.SITES):
        raise ConfigError(f"output.site must be one of {', '.join(folders.SITES)}, got {config.output.site!r}")
    for camera, offset in config.time.offsets:
        if not isinstance(offset, str) or not CLOCK_OFFSET.fullmatch(offset):
            raise ConfigError(
                f'time.offsets: {toml_value(camera)} needs an offset such as "-00:42:10" or "+01:00", '
                f"got {toml_value(offset)}"
            )
    _validate_looks(config)
    if not (config.image.enabled or config.variants.widths):
        raise ConfigError("nothing to write: enable [image] or list some variants.widths")


CLOCK_OFFSET = re.compile(r"[+-]\d{1,2}:[0-5]\d(:[0-5]\d)?")
# A JPEG's whole EXIF must fit one 64 KB APP1 segment, beside whatever the policy keeps of the
# photo's own: each credit field gets at most this many bytes of UTF-8 (a name or a licence line
# needs far fewer), so both together leave over 60 KB to the photo's EXIF.
MAX_CREDIT_BYTES = 2000
# The mark is one line shown at a fifth of an image's width by default: beyond this it is unreadable,
# and drawing it costs time and memory in proportion to its length.
MAX_WATERMARK_TEXT = 200
IMG_ATTRIBUTE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")
# What gallery writes on an <img> itself: markup.img_attributes cannot replace or repeat them.
GALLERYS_IMG_ATTRIBUTES = frozenset(
    ("src", "srcset", "sizes", "alt", "title", "width", "height", "loading", "fetchpriority", "decoding", "style")
)


def _validate_looks(config: Config) -> None:
    """Thumbnail crop, markup background and attributes, credit and watermark."""
    if config.thumbnail.crop and not re.fullmatch(r"[1-9]\d{0,3}:[1-9]\d{0,3}", config.thumbnail.crop):
        raise ConfigError(
            f'thumbnail.crop must be "" or an aspect such as "1:1" or "4:3", got {config.thumbnail.crop!r}'
        )
    for pair in config.markup.img_attributes:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ConfigError(
                'markup.img_attributes must be a table of attribute names and values, e.g. { "eleventy:ignore" = "" }'
            )
        name, value = pair
        if not (isinstance(name, str) and IMG_ATTRIBUTE.fullmatch(name)) or name.lower() in GALLERYS_IMG_ATTRIBUTES:
            raise ConfigError(
                f"markup.img_attributes: {name!r} is not an attribute name gallery leaves to the settings "
                f"(letters, digits, - _ : .; not one of {', '.join(sorted(GALLERYS_IMG_ATTRIBUTES))})"
            )
        if not isinstance(value, str) or not value.isprintable():
            raise ConfigError(f"markup.img_attributes: the value of {name} must be one line of text, got {value!r}")
    owners = [o.casefold() for o in config.metadata.owners if o.strip()]
    for key in ("artist", "copyright"):
        value = getattr(config.credit, key)
        if any(owner in value.casefold() for owner in owners):
            raise ConfigError(f"credit.{key} holds a name listed in metadata.owners: it would be removed again")
        if not value.isprintable():
            raise ConfigError(f"credit.{key} must be one line of printable text")
        if (size := len(value.encode("utf-8", "surrogatepass"))) > MAX_CREDIT_BYTES:
            raise ConfigError(
                f"credit.{key} is {size:,} bytes of UTF-8; at most {MAX_CREDIT_BYTES:,} fit beside a photo's own EXIF"
            )
    mark = config.watermark
    if not mark.text.isprintable():
        raise ConfigError("watermark.text must be one line of printable text")
    if len(mark.text) > MAX_WATERMARK_TEXT:
        raise ConfigError(
            f"watermark.text is {len(mark.text):,} characters; a mark has at most {MAX_WATERMARK_TEXT} (one short line)"
        )
    if mark.text and mark.logo:
        raise ConfigError("watermark: give text or logo, not both")
    if not 0 < mark.opacity <= 1:
        raise ConfigError(f"watermark.opacity must be above 0 and at most 1, got {mark.opacity}")
    if not 0 < mark.size <= 1:
        raise ConfigError(f"watermark.size must be above 0 and at most 1 (of the image's width), got {mark.size}")
    if mark.logo and not Path(mark.logo).is_file():
        raise ConfigError(f"watermark.logo {mark.logo} is not a file")
