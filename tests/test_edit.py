"""`gallery edit` without a browser: its API as scripts use it, and its guard as an attacker meets it.

The editor runs as the real command in a subprocess; requests are written byte for byte with
http.client, so Host, Origin and odd paths reach the server exactly as sent. What the editor
writes is read back with tomllib and compared with what the test sent; what it publishes is
compared, file by file, with what `gallery process` makes of the same captions.toml.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import signal
import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pillow_heif
import psutil
import pytest
from PIL import Image, ImageOps

from .conftest import fixture_folder, fixture_photo, run_gallery, said
from .support.editor import Editor, editing, start_editor

pillow_heif.register_heif_opener()  # the sources' sizes, read independently of gallery

PHOTOS = ("DSCN0010.jpg", "kodak-dc240.jpg", "Canon_40D.jpg", "Landscape_6.jpg", "IMG_2682.heic")
ODD_NAME = "Café 100% #1 & more.jpg"  # a space, an accent, and characters URLs give meaning to
HAND_WRITTEN = """\
# Notes on the trade mission: keep this comment.
order = ["kodak-dc240.jpg"]  # the opener, chosen by hand

["DSCN0010.jpg"]  # the terrace
alt = "Delegates on the terrace"  # written by hand
title = ""

["moved-away.jpg"]  # a photo no longer in the folder: its entry stays
alt = "Kept although no photo has this name"
"""


def event_folder(parent: Path) -> Path:
    source = fixture_folder(parent, *PHOTOS)
    shutil.copy2(fixture_photo("prairie_falcon.jpg"), source / ODD_NAME)
    (source / "captions.toml").write_text(HAND_WRITTEN, encoding="utf-8")
    return source


def entries(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Everything under FOLDER, files and folders, by name: (inode, mtime, size), so any new,
    replaced or rewritten entry shows."""
    return {
        str(p.relative_to(folder)): (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        for p in folder.rglob("*")
        if (stat := p.lstat())
    }


def identities(folder: Path) -> set[tuple[int, int]]:
    """(device, inode) of every file under FOLDER: a file hard linked elsewhere is the same there."""
    return {(stat.st_dev, stat.st_ino) for p in folder.rglob("*") if p.is_file() and (stat := p.stat())}


def main_size(source: Path, max_edge: int = 2048) -> tuple[int, int]:
    """The main image's size as the docs promise it: the photo upright, its long edge capped at
    `image.max_edge` (2048 by default), never upscaled, its shape kept."""
    with Image.open(source) as image:
        width, height = ImageOps.exif_transpose(image).size
    scale = min(1.0, max_edge / max(width, height))
    return round(width * scale), round(height * scale)


def digests(folder: Path) -> dict[str, str]:
    """The photos' bytes (captions.toml aside, which the editor writes)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.is_file() and p.name != "captions.toml"
    }


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editor]:
    """One editor for the module's tests; an outside image and a link to it sit beside the photos."""
    root = tmp_path_factory.mktemp("edit")
    source = event_folder(root)
    outside = root / "outside"
    outside.mkdir()
    Image.new("RGB", (64, 48), (250, 10, 10)).save(outside / "secret.jpg")
    (outside / "secret.txt").write_text("SECRET-CONTENT", encoding="utf-8")
    (source / "link.jpg").symlink_to(outside / "secret.jpg")
    with editing(source, root / "out", "--name", "trip") as editor:
        yield editor


# ---- the address and the guard ------------------------------------------------------------------


def test_the_first_line_is_the_address_with_a_fresh_token(session: Editor) -> None:
    status, page = session.call("GET", "/", token=session.token, query=True)
    assert status == 200 and b"<html" in page and b"app.js?token=" + session.token.encode() in page
    assert session.call("GET", "/api/photos")[0] == 200  # the same token as a Bearer header
    assert session.call("GET", "/api/photos", query=True)[0] == 200  # and in the query


PROTECTED = ("/", "/app.js", "/api/photos", "/api/photos/DSCN0010.jpg/thumbnail", "/api/photos/DSCN0010.jpg/large")


@pytest.mark.parametrize("path", PROTECTED)
def test_403_without_the_token_from_a_foreign_host_or_origin(session: Editor, path: str) -> None:
    port = session.port
    refused = {
        "no token": session.call("GET", path, token=None),
        "wrong token": session.call("GET", path, token="x" * 43),
        "wrong token in the query": session.call("GET", path, token="x" * 43, query=True),
        "rebound host": session.call("GET", path, host=f"attacker.example:{port}"),
        "another port": session.call("GET", path, host=f"127.0.0.1:{port + 1}"),
        "no port": session.call("GET", path, host="127.0.0.1"),
        "foreign origin": session.call("GET", path, origin="http://attacker.example"),
        "null origin": session.call("GET", path, origin="null"),
        "lookalike origin": session.call("GET", path, origin=f"http://127.0.0.1:{port}.attacker.example"),
    }
    assert {why: status for why, (status, _) in refused.items()} == dict.fromkeys(refused, 403)
    assert all(b"403" in body for _, body in refused.values())
    allowed = {
        "bearer": session.call("GET", path),
        "query": session.call("GET", path, query=True),
        "localhost": session.call("GET", path, host=f"localhost:{port}"),
        "own origin": session.call("GET", path, origin=f"http://127.0.0.1:{port}"),
    }
    assert {why: status for why, (status, _) in allowed.items()} == dict.fromkeys(allowed, 200)


def test_a_change_from_a_foreign_origin_or_without_the_token_is_not_made(session: Editor) -> None:
    before = (session.source / "captions.toml").read_bytes()
    change = {"alt": "written by an attacker"}
    assert session.call("PATCH", "/api/photos/DSCN0010.jpg", change, origin="http://attacker.example")[0] == 403
    assert session.call("PATCH", "/api/photos/DSCN0010.jpg", change, token=None)[0] == 403
    assert session.call("PUT", "/api/order", ["Canon_40D.jpg"], host=f"attacker.example:{session.port}")[0] == 403
    assert session.call("POST", "/api/publish", token=None)[0] == 403
    assert (session.source / "captions.toml").read_bytes() == before
    assert not (session.out / "trip.json").exists()


def test_it_listens_on_loopback_only(session: Editor) -> None:
    listening = [
        c.laddr for c in psutil.Process(session.process.pid).net_connections("inet") if c.status == psutil.CONN_LISTEN
    ]
    assert listening == [("127.0.0.1", session.port)]
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.2", session.port), timeout=10):
        pass  # another loopback address: a socket bound to all interfaces would accept here


# ---- only the folder's photos, and only as renders ---------------------------------------------------


TRAVERSALS = (
    "/api/photos/link.jpg/thumbnail",  # a link in the folder to a file outside it
    "/api/photos/../../outside/secret.jpg",
    "/api/photos/..%2F..%2Foutside%2Fsecret.jpg/thumbnail",
    "/api/photos/%2e%2e%2f%2e%2e%2foutside%2fsecret.jpg/thumbnail",
    "/api/photos/%2E%2E/thumbnail",
    "/api/photos/..%5c..%5coutside%5csecret.jpg/thumbnail",
    "/api/photos/%252e%252e%252foutside%252fsecret.jpg/thumbnail",
    "/api/photos/captions.toml/thumbnail",
    "/api/photos/DSCN0010.jpg%00.txt/thumbnail",
    "/api/photos/DSCN0010.jpg/..%2F..%2F..%2Foutside%2Fsecret.txt",
    "/api/photos/DSCN0010.jpg/original",
    "/app.js/../../outside/secret.txt",
    "/static/../../outside/secret.txt",
    "//outside/secret.txt",
    "/../outside/secret.txt",
    "/outside/secret.txt",
    "/index.html",
)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_the_folder_is_ever_served(session: Editor, path: str) -> None:
    for query in (False, True):
        status, body = session.call("GET", path, query=query)
        assert status in (404, 405), (path, status, body[:200])
        assert b"SECRET-CONTENT" not in body and not body.startswith(b"\xff\xd8"), path


def test_photos_are_served_as_renders_by_name(session: Editor) -> None:
    listed = {photo["source"] for photo in session.json("GET", "/api/photos")["photos"]}
    assert listed == {*PHOTOS, ODD_NAME}, "the link out of the folder is not a photo of the set"
    for name in listed:
        for view, edge in (("thumbnail", 480), ("large", 1600)):
            status, body = session.call("GET", f"/api/photos/{quote(name, safe='')}/{view}")
            assert status == 200, (name, body[:200])
            with Image.open(io.BytesIO(body)) as image, Image.open(session.source / name) as original:
                assert image.format == "JPEG" and max(image.size) == min(edge, max(original.size)), name


def test_a_photo_replaced_by_a_link_out_of_the_folder_is_not_served(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "DSCN0010.jpg", "kodak-dc240.jpg")
    secret = tmp_path / "secret.jpg"
    Image.new("RGB", (64, 48), (250, 10, 10)).save(secret)
    with editing(source, tmp_path / "out") as editor:
        assert editor.call("GET", "/api/photos/kodak-dc240.jpg/thumbnail")[0] == 200
        (source / "kodak-dc240.jpg").unlink()
        (source / "kodak-dc240.jpg").symlink_to(secret)  # after the plan read the folder
        status, body = editor.call("GET", "/api/photos/kodak-dc240.jpg/large")
        assert status == 404, body[:200]


# ---- captions.toml ---------------------------------------------------------------------------------


def test_patch_and_put_keep_comments_and_hand_written_entries(session: Editor) -> None:
    captions = session.source / "captions.toml"
    listing = session.json("PATCH", "/api/photos/DSCN0010.jpg", {"caption": "With the ambassador"})
    session.json("PATCH", "/api/photos/Canon_40D.jpg", {"alt": 'A "quoted" \\ alt', "skip": True})
    session.json("PATCH", f"/api/photos/{quote(ODD_NAME, safe='')}", {"title": "Falcon & nest"})
    order = ["Canon_40D.jpg", ODD_NAME, "DSCN0010.jpg"]
    listing = session.json("PUT", "/api/order", order)
    text = captions.read_text(encoding="utf-8")
    for kept in (
        "# Notes on the trade mission: keep this comment.",
        "# the opener, chosen by hand",
        '["DSCN0010.jpg"]  # the terrace',
        'alt = "Delegates on the terrace"  # written by hand',
        "# a photo no longer in the folder: its entry stays",
    ):
        assert kept in text, kept
    document = tomllib.loads(text)
    assert document["order"] == order
    assert document["DSCN0010.jpg"] == {
        "alt": "Delegates on the terrace",
        "title": "",
        "caption": "With the ambassador",
    }
    assert document["Canon_40D.jpg"] == {"alt": 'A "quoted" \\ alt', "skip": True}
    assert document[ODD_NAME] == {"title": "Falcon & nest"}
    assert document["moved-away.jpg"] == {"alt": "Kept although no photo has this name"}
    # The listing reads the file back: in the new order, skipped photos included where placed.
    assert [p["source"] for p in listing["photos"]][:3] == order
    by_name = {p["source"]: p for p in listing["photos"]}
    assert by_name["Canon_40D.jpg"]["skip"] and by_name["Canon_40D.jpg"]["number"] is None
    assert by_name[ODD_NAME]["number"] == 1 and by_name["DSCN0010.jpg"]["number"] == 2
    assert by_name["DSCN0010.jpg"]["caption"] == "With the ambassador"
    for field in ("source", "group", "flags", "pick", "published", "alt", "title", "caption", "skip"):
        assert all(field in photo for photo in listing["photos"]), field
    session.json("PATCH", "/api/photos/Canon_40D.jpg", {"skip": False})
    assert tomllib.loads(captions.read_text(encoding="utf-8"))["Canon_40D.jpg"]["skip"] is False


def test_two_interleaved_writers_lose_nothing(session: Editor) -> None:
    """Two tabs typing at once into different fields, and a person editing the file by hand between."""
    names = list(PHOTOS)
    barrier = threading.Barrier(2)

    def writer(field: str) -> None:
        barrier.wait()
        for round_ in range(6):
            for name in names:
                session.json("PATCH", f"/api/photos/{name}", {field: f"{field} {round_} of {name}"})

    threads = [threading.Thread(target=writer, args=(field,)) for field in ("alt", "caption")]
    for thread in threads:
        thread.start()
    captions = session.source / "captions.toml"
    for thread in threads:
        thread.join()
    with captions.open("a", encoding="utf-8") as handle:
        handle.write('\n["by-hand.jpg"]  # typed in a text editor meanwhile\nalt = "by hand"\n')
    session.json("PATCH", "/api/photos/kodak-dc240.jpg", {"title": "last"})
    document = tomllib.loads(captions.read_text(encoding="utf-8"))
    for name in names:
        assert document[name]["alt"] == f"alt 5 of {name}"
        assert document[name]["caption"] == f"caption 5 of {name}"
    assert document["by-hand.jpg"] == {"alt": "by hand"}
    assert "# typed in a text editor meanwhile" in captions.read_text(encoding="utf-8")


def test_the_lint_speaks_as_the_person_types(session: Editor) -> None:
    def hints(listing: dict) -> list[str]:
        return next(p["hints"] for p in listing["photos"] if p["source"] == "Landscape_6.jpg")

    listing = session.json("PATCH", "/api/photos/Landscape_6.jpg", {"alt": "IMG_4107"})
    assert hints(listing) == ["alt text 'IMG_4107' is a file name, not a description"]
    listing = session.json("PATCH", "/api/photos/Landscape_6.jpg", {"alt": "x" * 151})
    assert hints(listing) == ["alt text is 151 characters (over 150)"]
    for name in PHOTOS:
        listing = session.json("PATCH", f"/api/photos/{name}", {"alt": "The same words", "skip": False})
    assert "the same alt text 'The same words' on 5 of 6 photos" in listing["hints"]
    listing = session.json("PATCH", "/api/photos/Landscape_6.jpg", {"alt": "Harbour cranes at dusk"})
    assert hints(listing) == []


def test_bad_requests_are_refused_and_write_nothing(session: Editor) -> None:
    captions = session.source / "captions.toml"
    before = captions.read_bytes()
    for body, status in (
        ({"alt": 5}, 400),
        ({"skip": "yes"}, 400),
        ({"colour": "red"}, 400),
        ({}, 400),
        (["alt"], 400),
        ({"alt": "x" * 1001}, 400),
    ):
        assert session.call("PATCH", "/api/photos/DSCN0010.jpg", body)[0] == status, body
    assert session.call("PATCH", "/api/photos/nope.jpg", {"alt": "x"})[0] == 404
    assert session.call("PATCH", "/api/photos/moved-away.jpg", {"alt": "x"})[0] == 404
    assert session.call("PUT", "/api/order", ["DSCN0010.jpg", "nope.jpg"])[0] == 404
    assert session.call("PUT", "/api/order", ["DSCN0010.jpg", "DSCN0010.jpg"])[0] == 400
    assert session.call("PUT", "/api/order", {"DSCN0010.jpg": 1})[0] == 400
    assert session.call("PUT", "/api/order", "x" * (1 << 21))[0] == 413
    assert session.call("DELETE", "/api/photos/DSCN0010.jpg")[0] == 405
    assert captions.read_bytes() == before


def test_a_malformed_captions_file_is_said_and_never_overwritten(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "DSCN0010.jpg")
    captions = source / "captions.toml"
    captions.write_text('["DSCN0010.jpg"]\nalt = "fine"\n', encoding="utf-8")
    with editing(source, tmp_path / "out") as editor:
        broken = '["DSCN0010.jpg"]\nalt = "unclosed\n'
        captions.write_text(broken, encoding="utf-8")  # a person's edit in progress
        status, body = editor.call("GET", "/api/photos")
        assert status == 409 and "captions.toml" in json.loads(body)["error"]
        status, body = editor.call("PATCH", "/api/photos/DSCN0010.jpg", {"alt": "mine"})
        assert status == 409 and "captions.toml" in json.loads(body)["error"], body
        assert captions.read_text(encoding="utf-8") == broken


# ---- publishing ------------------------------------------------------------------------------------


def test_publish_is_byte_identical_to_gallery_process(tmp_path: Path, private_cache: Path) -> None:
    source = event_folder(tmp_path)
    originals = digests(source)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    post = "2024-06-23-trip.md"
    options = ("--name", "trip", "--title", "Trade mission", "-w", "320", "-w", "640", "--post-file")
    with editing(source, tmp_path / "a" / "out", *options, str(tmp_path / "a" / post)) as editor:
        reviewed = identities(private_cache)  # review's renders: the address is given out after them
        editor.json("PATCH", "/api/photos/DSCN0010.jpg", {"alt": "Delegates on the terrace, at noon"})
        editor.json("PATCH", "/api/photos/kodak-dc240.jpg", {"skip": True})
        editor.json("PUT", "/api/order", ["Landscape_6.jpg", "DSCN0010.jpg"])
        status, body = editor.call("POST", "/api/publish")
        assert status == 200, body
        published = json.loads(body)
        listing = editor.json("GET", "/api/photos")
        # review rendered every photo when the editor started: publishing takes those renders
        assert editor.json("GET", "/api/publish") == {"running": False, "rendered": 0, "total": 0}
    cli = run_gallery("process", source, "--out", tmp_path / "b" / "out", *options, tmp_path / "b" / post, "--json")
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert published["markup"] == expected["markup"] and published["ok"] and published["post"] == "created"
    sources = [Path(p["source"]).name for p in published["photos"]]
    assert sources[:2] == ["Landscape_6.jpg", "DSCN0010.jpg"] and len(sources) == 5 and "kodak-dc240.jpg" not in sources
    assert "at noon" in published["markup"]
    assert (tmp_path / "a" / post).read_bytes() == (tmp_path / "b" / post).read_bytes()
    ours, theirs = tmp_path / "a" / "out", tmp_path / "b" / "out"
    files = sorted(p.name for p in theirs.iterdir() if p.is_file() and not p.name.startswith("."))
    assert files == sorted(p.name for p in ours.iterdir() if p.is_file() and not p.name.startswith("."))
    assert len([name for name in files if name.endswith(".jpeg")]) == 5  # one main image each
    for name in files:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    # Publishing took review's renders: each image is a hard link to a file review made in the
    # private folder (on the same file system: both lie under the test's temporary folder).
    images = [name for name in files if not name.endswith(".json")]
    assert len(images) >= 3 * 5  # a main image, variants and a thumbnail each
    taken = {name for name in images if ((ours / name).stat().st_dev, (ours / name).stat().st_ino) in reviewed}
    assert taken == set(images), f"rendered again instead of taken from review: {sorted(set(images) - taken)}"
    # Main images as the docs size them, from the sources' own sizes: the two ordered by hand first,
    # then the other three (kodak-dc240 skipped) in capture order, whichever that is.
    mains = []
    for number in range(1, 6):
        with Image.open(ours / f"trip-{number:02d}.jpeg") as image:
            mains.append(image.size)
    assert mains[:2] == [main_size(fixture_photo("Landscape_6.jpg")), main_size(fixture_photo("DSCN0010.jpg"))]
    others = (fixture_photo("Canon_40D.jpg"), fixture_photo("IMG_2682.heic"), source / ODD_NAME)
    assert sorted(mains[2:]) == sorted(map(main_size, others))
    for photo in expected["photos"]:  # and what the run says of them is true
        main = next(o for o in photo["outputs"] if o["role"] == "main")
        with Image.open(ours / Path(main["path"]).name) as image:
            assert image.size == (main["width"], main["height"])
    assert {p["source"]: p["published"] for p in listing["photos"]}["DSCN0010.jpg"] is True
    assert digests(source) == originals, "the photos themselves are never modified"


# ---- the lock, the port, Ctrl-C -----------------------------------------------------------------------


def test_the_editor_holds_the_output_folder_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "DSCN0010.jpg", "kodak-dc240.jpg")
    out = tmp_path / "out"
    with editing(source, out) as editor:
        before = entries(out)
        second = start_editor(source, out, log=tmp_path / "second.log")
        try:
            stdout, _ = second.communicate(timeout=120)
        finally:
            if second.poll() is None:  # it started: the lock did not hold it back
                second.kill()
                second.wait()
        second_said = (tmp_path / "second.log").read_text()
        assert second.returncode == 2 and stdout == "", second_said
        blocked = run_gallery("process", source, "--out", out)
        for stderr in (second_said, blocked.stderr):
            assert f"another gallery run (pid {editor.process.pid}) is writing to {out}" in stderr, stderr
            assert len(said(stderr.strip())) == 1 and "Traceback" not in stderr
        assert blocked.returncode == 2
        assert entries(out) == before, "the refused runs wrote nothing in the output folder"
        status, body = editor.call("POST", "/api/publish")  # the editor's own publish is not refused
        assert status == 200 and json.loads(body)["ok"], body
        editor.process.send_signal(signal.SIGINT)
        assert editor.process.wait(timeout=60) == 0
        assert "Traceback" not in editor.stderr.read_text()
    assert run_gallery("process", source, "--out", out).returncode == 0, "the lock went with the editor"


def test_the_address_opens_in_the_browser_unless_told_not_to(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n', encoding="utf-8")
    browser.chmod(0o755)
    with editing(source, tmp_path / "out", browser=f"{browser} %s") as editor:
        ready = time.monotonic()
        while not opened.exists() and time.monotonic() < ready + 60:
            time.sleep(0.1)
        assert opened.read_text() == f"http://127.0.0.1:{editor.port}/?token={editor.token}"
        took = time.monotonic() - ready
    opened.unlink()
    with editing(source, tmp_path / "out2", "--no-browser", browser=f"{browser} %s") as editor:
        ready = time.monotonic()  # the browser starts in a thread: give it thrice the time it took above
        while not opened.exists() and time.monotonic() < ready + 3 * took + 2:
            time.sleep(0.1)
    assert not opened.exists()


def test_sigterm_stops_it_cleanly_too(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    with editing(source, tmp_path / "out") as editor:
        editor.process.send_signal(signal.SIGTERM)
        assert editor.process.wait(timeout=60) == 0


def test_a_port_in_use_or_manifest_on_stdout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    source = fixture_folder(tmp_path, "kodak-dc240.jpg")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_gallery("edit", source, "--out", tmp_path / "out", "--no-browser", "--port", port)
    assert busy.returncode == 2 and busy.stdout == ""
    assert said(busy.stderr.strip()) == [
        f"gallery: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "choose another --port, or leave it out for a free one"
    ]
    assert not (tmp_path / "out").exists()
    stdout = run_gallery("edit", source, "--out", tmp_path / "out3", "--no-browser", "--manifest", "-")
    assert stdout.returncode == 2 and "--manifest -" in stdout.stderr and not (tmp_path / "out3").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_gallery("edit", empty, "--out", tmp_path / "out2", "--no-browser")
    assert nothing.returncode == 2 and f"no photos in {empty}" in nothing.stderr and nothing.stdout == ""
