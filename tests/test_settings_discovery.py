"""Which settings file a run reads: `gallery.toml` found by one walk up the folders, which ends at the
nearest site root, repository root or home folder; never a file another user owns or could change;
never a site's own configuration; and always named, on stderr and in `--json`.

Each test builds its own tree under tmp_path with a `.git` at its top, so no file above it (the
machine's temporary folder included) can take part. A settings file here sets `output.name`, which
the run's JSON shows: the test reads what the run did, not what gallery says it read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pipeline.sites import folders

from .conftest import REPO, fixture_photo, require_tool

OTHER_USER = 65534  # nobody


def gallery(*args: str | Path, cwd: Path, home: Path | None = None, prefix: tuple[str, ...] = ()) -> tuple[str, str]:
    """`gallery ARGS` run from CWD (HOME set to HOME when given); its stdout and stderr, after exit 0."""
    env = {**os.environ, "PYTHONPATH": str(REPO)} | ({"HOME": str(home)} if home else {})
    completed = subprocess.run(
        [*prefix, sys.executable, "-m", "pipeline", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, completed.stderr


def settings_said(stderr: str) -> str:
    """The settings line of a run: the first line on stderr that names the settings."""
    lines = [line for line in stderr.splitlines() if line.startswith("settings: ")]
    assert len(lines) == 1, stderr
    return lines[0].removeprefix("settings: ")


def name_used(cwd: Path, photos: Path, **kwargs: object) -> tuple[str, str, dict]:
    """The set name a `process --json` run from CWD used; its stderr; its JSON."""
    stdout, stderr = gallery("process", photos, "--out", cwd / "out", "--json", cwd=cwd, **kwargs)  # type: ignore[arg-type]
    result = json.loads(stdout)
    return result["name"], stderr, result


def settings(folder: Path, name: str) -> Path:
    """A gallery.toml in FOLDER that names the set NAME."""
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / folders.SETTINGS_FILE
    file.write_text(f'[output]\nname = "{name}"\n')
    file.chmod(0o644)
    return file


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    shutil.copy(fixture_photo("kodak-dc240.jpg"), folder)
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository root: the walk never goes above it."""
    (tmp_path / ".git").mkdir()
    return tmp_path


def test_a_settings_file_three_folders_up_is_read_and_named(repo: Path, photos: Path) -> None:
    file = settings(repo, "from-repo-root")
    work = repo / "a" / "b" / "c"
    work.mkdir(parents=True)
    name, stderr, result = name_used(work, photos)
    assert name == "from-repo-root"
    assert settings_said(stderr) == str(file) and result["settings"] == str(file)
    assert stderr.splitlines()[0] == f"settings: {file}", "named first, before the run's own lines"


def test_the_walk_stops_at_the_repository_root(tmp_path: Path, photos: Path) -> None:
    settings(tmp_path, "from-above-the-repo")
    work = tmp_path / "repo" / "photos"
    work.mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    name, stderr, result = name_used(work, photos)
    assert name != "from-above-the-repo"
    assert settings_said(stderr) == "built-in defaults" and result["settings"] is None


def test_the_walk_stops_at_the_site_root(repo: Path, photos: Path) -> None:
    settings(repo, "from-above-the-site")
    site = repo / "blog"
    (site / "content").mkdir(parents=True)
    (site / "hugo.yaml").write_text("title: Blog\n")
    name, stderr, _ = name_used(site, photos)
    assert name != "from-above-the-site" and settings_said(stderr) == "built-in defaults"
    file = settings(site, "from-the-site-root")
    (site / "content" / "posts").mkdir()
    name, stderr, _ = name_used(site / "content" / "posts", photos)
    assert name == "from-the-site-root" and settings_said(stderr) == str(file)


def test_the_walk_stops_at_the_home_folder(repo: Path, photos: Path) -> None:
    """No site and no repository below: the home folder is the last one searched."""
    (repo / ".git").rmdir()
    settings(repo, "from-above-home")
    home = repo / "home" / "me"
    work = home / "events" / "2024"
    work.mkdir(parents=True)
    name, stderr, _ = name_used(work, photos, home=home)
    assert name != "from-above-home" and settings_said(stderr) == "built-in defaults"
    file = settings(home, "from-home")
    name, stderr, _ = name_used(work, photos, home=home)
    assert name == "from-home" and settings_said(stderr) == str(file)


@pytest.mark.parametrize("mode", [0o664, 0o646], ids=["group-writable", "world-writable"])
def test_a_file_others_could_change_is_not_read(repo: Path, photos: Path, mode: int) -> None:
    """The search stops at the refused file: a good one further up is not read either."""
    settings(repo, "from-the-repo-root")
    refused = settings(repo / "events", "from-a-shared-folder")
    refused.chmod(mode)
    name, stderr, result = name_used(repo / "events", photos)
    assert name not in ("from-a-shared-folder", "from-the-repo-root")
    assert f"warning: {refused} is writable by group or others" in stderr
    assert settings_said(stderr) == "built-in defaults" and result["settings"] is None


def test_a_file_of_another_user_is_not_read() -> None:
    """As root, the run is made as another user (setpriv), so the file is root's; otherwise the
    file is a link to one of root's files, which the check follows too. The tree lies outside
    pytest's folder, which only its owner may enter."""
    base = Path(tempfile.mkdtemp(prefix="gallery-owner-"))
    try:
        base.chmod(0o755)
        (base / ".git").mkdir()
        photos, work, out = base / "photos", base / "events", base / "out"
        for folder in (photos, work, out):
            folder.mkdir(mode=0o777)
            folder.chmod(0o777)
        shutil.copy(fixture_photo("kodak-dc240.jpg"), photos)
        prefix: tuple[str, ...] = ()
        if os.geteuid() == 0:
            settings(work, "from-someone-else")
            prefix = (require_tool("setpriv", "util-linux"), f"--reuid={OTHER_USER}", f"--regid={OTHER_USER}",
                      "--clear-groups")  # fmt: skip
        else:
            system_files = (Path(name) for name in ("/etc/hostname", "/etc/hosts", "/etc/passwd"))
            foreign = next(path for path in system_files if path.exists() and path.stat().st_uid != os.geteuid())
            (work / folders.SETTINGS_FILE).symlink_to(foreign)
        stdout, stderr = gallery("process", photos, "--out", out, "--json", cwd=work, prefix=prefix)
        assert json.loads(stdout)["name"] != "from-someone-else"
        assert f"warning: {work / folders.SETTINGS_FILE} is owned by another user: not read" in stderr
        assert settings_said(stderr) == "built-in defaults"
    finally:
        shutil.rmtree(base)


def test_a_named_file_is_always_read(repo: Path, photos: Path) -> None:
    named = settings(repo / "shared", "named")
    named.chmod(0o666)
    stdout, stderr = gallery("process", photos, "--out", repo / "out", "--json", "--config", named, cwd=repo)
    result = json.loads(stdout)
    assert result["name"] == "named" and result["settings"] == str(named)
    assert settings_said(stderr) == str(named) and "warning" not in stderr


def test_a_config_toml_is_never_gallerys(repo: Path, photos: Path) -> None:
    """Older versions read ./config.toml when its tables were all gallery's sections; Hugo's
    `[markup]` is one of those names. No config.toml is read now, whatever it holds."""
    (repo / "config.toml").write_text('[output]\nname = "from-config-toml"\n')
    name, stderr, _ = name_used(repo, photos)
    assert name != "from-config-toml" and settings_said(stderr) == "built-in defaults"


def test_every_command_names_its_settings(repo: Path, photos: Path) -> None:
    file = settings(repo, "named-set")
    out = ["--out", repo / "out"]
    for command in (["process", photos, *out], ["captions", photos, "--dry-run"], ["review", photos, *out],
                    ["preview", photos, *out], ["watch", photos, *out, "--once"]):  # fmt: skip
        stdout, stderr = gallery(*command, cwd=repo)
        assert settings_said(stderr) == str(file), command
    for command in (
        ["process", photos, *out, "--dry-run"],
        ["review", photos, *out],
        ["watch", photos, *out, "--once"],
    ):
        stdout, stderr = gallery(*command, "--json", cwd=repo)
        assert json.loads(stdout)["settings"] == str(file), command
    stdout, stderr = gallery("process", photos, *out, "--quiet", cwd=repo)
    assert stderr == "", "--quiet prints errors only"


# --- which folder is a site's root ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "builder"),
    [
        (["hugo.toml"], "hugo"),
        (["hugo.yaml"], "hugo"),
        (["hugo.yml"], "hugo"),
        (["hugo.json"], "hugo"),
        (["config/_default/hugo.toml"], "hugo"),
        (["config/_default/params.yaml", "config/_default/menus.en.yaml"], "hugo"),
        (["config.toml", "content/"], "hugo"),
        (["config.yaml", "content/"], "hugo"),
        (["config.yml", "content/", "themes/"], "hugo"),
        (["config.json", "archetypes/"], "hugo"),
        (["config.toml"], None),
        (["config.yml", "layouts/", "static/"], None),
        (["eleventy.config.js"], "eleventy"),
        (["eleventy.config.mjs"], "eleventy"),
        (["eleventy.config.cjs"], "eleventy"),
        (["eleventy.config.ts"], "eleventy"),
        ([".eleventy.js"], "eleventy"),
        (["eleventy.config.js", "content/", "config.yml"], "eleventy"),
        (["_config.yml"], "jekyll"),
        (["_config.yaml"], "jekyll"),
        (["_config.toml"], "jekyll"),
        (["_config.yml", "config.toml", "content/"], "jekyll"),
    ],
)
def test_each_builder_is_known_by_every_config_form(tmp_path: Path, files: list[str], builder: str | None) -> None:
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if name.endswith("/") else path.write_text("")
    assert folders.builder_at(tmp_path) == builder


def test_gallerys_own_repository_is_no_site() -> None:
    assert (REPO / "config.toml").is_file()
    assert folders.builder_at(REPO) is None and folders.find_root(REPO / "tests") is None


def test_no_site_above_a_repository_root(repo: Path) -> None:
    (repo / "hugo.toml").write_text("")
    inner = repo / "vendor" / "theme"
    (inner / ".git").mkdir(parents=True)
    assert folders.find_root(inner) is None
    assert folders.find_root(repo / "content" / "posts") == ("hugo", repo.resolve())
