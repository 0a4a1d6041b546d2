"""Evidence for curation's thresholds (image/scores.py, commands/curation.py), measured on the shared corpus.

    python benchmarks/curation_fpr.py [CORPUS]   (default: ../shared/corpus beside the repository)

Every photo is decoded as render does (JPEG draft scale, orientation applied) and downscaled with
Lanczos to the default 320-px-wide thumbnail, which is what `analyse` gets in the pipeline. Printed:
each photo's sharpness and exposure; the false-positive rate of "blurry", "dark" and "bright" on
these well-taken photos, alone and as one set; the true-positive rate on blurred (Gaussian r2/r3,
9-px box motion blur along x or y, 5-px diagonal line kernel), darkened and brightened copies, and on
frames blurred by 4 px at the main image's 2048 px (alone, beside the set, in a burst); perceptual-hash
distances between distinct photos, within bursts made of one, and to messenger-style copies (the
untimed threshold); how copies score against their original and which one the pick takes (its
tolerance); and the milliseconds per photo. Uniform or tiny images (nothing to judge) are listed but
not counted.
"""

from __future__ import annotations

import io
import itertools
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pillow_heif
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from pipeline.commands import curation
from pipeline.image.scores import analyse

WIDTH = 320
DIAGONAL = ImageFilter.Kernel((5, 5), [1 if i % 6 == 0 else 0 for i in range(25)], scale=5)
BLURS = {
    "gauss r2": lambda im: im.filter(ImageFilter.GaussianBlur(2)),
    "gauss r3": lambda im: im.filter(ImageFilter.GaussianBlur(3)),
    "motion x 9px": lambda im: im.filter(ImageFilter.BoxBlur((4, 0))),
    "motion y 9px": lambda im: im.filter(ImageFilter.BoxBlur((0, 4))),
    "motion diag 5px": lambda im: im.filter(DIAGONAL),
}


MAIN_EDGE = 2048  # gallery's main image: where a person sees a soft frame
# What people send instead of the original: (long edge or None to keep the size, JPEG quality), no metadata.
COPIES = {
    "whatsapp 1600 q75": (1600, 75),
    "signal 1024 q70": (1024, 70),
    "re-encoded q60": (None, 60),
    "half size q85": (0.5, 85),
}


def copy_of(image: Image.Image, edge: float | None, quality: int) -> Image.Image:
    """A messenger's copy of `image`, decoded again as render would decode it."""
    small = image.copy()
    if isinstance(edge, float):
        small = small.resize((max(1, round(small.width * edge)), max(1, round(small.height * edge))), Image.LANCZOS)
    elif edge:
        small.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality)
    return load(buffer)


def thumbnail(image: Image.Image, width: int = WIDTH) -> Image.Image:
    if image.width <= width:
        return image
    return image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)


def load(path: Path | io.BytesIO, edge: int = 2 * WIDTH) -> Image.Image:
    """Decode as render does: JPEG draft scale (>= `edge`, 2x the thumbnail), orientation, sRGB-ish RGB."""
    with Image.open(path) as image:
        image.draft("RGB", (edge, edge))
        return ImageOps.exif_transpose(image.convert("RGB"))


def at_main_size(path: Path) -> Image.Image:
    image = load(path, MAIN_EDGE)
    if max(image.size) > MAIN_EDGE:
        image.thumbnail((MAIN_EDGE, MAIN_EDGE), Image.Resampling.LANCZOS)
    return image


def corpus_files(root: Path) -> list[Path]:
    public = root / "public"
    files = sorted(root.glob("bench/*.[jJ][pP][gG]"))
    files += sorted((public / "cameras").glob("*.jpg")) + sorted((public / "orientation").glob("*.jpg"))
    return files + sorted(p for p in (public / "heic").iterdir() if p.name != "SOURCES.md")  # .heic .HEIC .hif ...


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} = {hits / total:.1%}" if total else "n/a"


def burst_flags(sharp: curation.Analysis, other: curation.Analysis) -> list[str]:
    """The flags of `other` in a burst with a sharp frame: the relative test, as `group` would apply it."""
    shots = (curation.Shot("sharp", None, sharp), curation.Shot("other", None, other))
    return curation.flags(shots[1], curation.Group(shots, "sharp"))


def set_flags(analysis: curation.Analysis, set_sharpness: float) -> list[str]:
    """The flags of a photo alone in its group, beside a set whose median sharpness is `set_sharpness`."""
    shot = curation.Shot("photo", None, analysis)
    return curation.flags(shot, curation.Group((shot,), "photo", set_sharpness))


def detail(analysis: curation.Analysis) -> float:
    return analysis.sharpness / max(analysis.mean, 0.05) ** 2  # as curation compares frames of a burst


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    pillow_heif.register_heif_opener()
    photos: dict[str, tuple[Image.Image, Image.Image, curation.Analysis]] = {}
    at_main: dict[str, tuple[int, curation.Analysis, dict[str, tuple[int, curation.Analysis]]]] = {}
    skipped, decode_ms, analyse_ms, analyse_cpu = [], [], [], []
    print(f"{'photo':44s} {'size':>8s} {'sharp':>8s} {'mean':>5s} {'black':>5s} {'white':>5s} {'p98':>5s} flags")
    for path in corpus_files(root):
        name = f"{path.parent.name}/{path.name}"
        started = time.perf_counter()
        full = load(path)
        thumb = thumbnail(full)
        decode_ms.append((time.perf_counter() - started) * 1000)
        started, cpu = time.perf_counter(), time.process_time()
        a = analyse(thumb)
        analyse_ms.append((time.perf_counter() - started) * 1000)
        analyse_cpu.append((time.process_time() - cpu) * 1000)
        shot = curation.Shot(name, None, a)
        hints = curation.flags(shot, curation.Group((shot,), name))
        size = f"{thumb.width}x{thumb.height}"
        stats = f"{a.sharpness:8.1f} {a.mean:5.2f} {a.shadows:5.2f} {a.highlights:5.2f} {a.p98:5.2f}"
        print(f"{name:44s} {size:>8s} {stats} {hints}")
        low, high = thumb.convert("L").getextrema()
        if max(thumb.size) < 32 or high - low < 8:
            skipped.append(name)
        else:
            photos[name] = (full, thumb, a)
            main = at_main_size(path)
            with Image.open(path) as header:
                pixels = header.width * header.height
            blurred = analyse(thumbnail(main.filter(ImageFilter.GaussianBlur(4 * max(main.size) / MAIN_EDGE))))
            copies = {}
            for kind, (edge, quality) in COPIES.items():
                copied = copy_of(main, edge, quality)
                copies[kind] = (copied.width * copied.height, analyse(thumbnail(copied)))
            at_main[name] = (pixels, blurred, copies)

    n = len(photos)
    scores = sorted((a.sharpness, name) for name, (_, _, a) in photos.items())
    print(f"\nnot counted (uniform or < 32 px: nothing to judge): {skipped}")
    print(f"sharpness over {n} photos: min {scores[0][0]:.0f}, median {statistics.median(s for s, _ in scores):.0f}")
    print("lowest:", ", ".join(f"{name} {score:.0f}" for score, name in scores[:8]))
    blurry = [name for score, name in scores if score < curation.BLURRY_BELOW]
    print(f"threshold BLURRY_BELOW = {curation.BLURRY_BELOW}: false 'blurry' {rate(len(blurry), n)} {blurry}")
    for verdict in ("dark", "bright"):
        wrong = [name for name, (_, _, a) in photos.items() if a.exposure == verdict]
        print(f"false '{verdict}': {rate(len(wrong), n)} {wrong}")
    median = statistics.median(a.sharpness for _, _, a in photos.values())
    in_set = [name for name, (_, _, a) in photos.items() if "blurry" in set_flags(a, median)]
    print(
        f"as one set (median {median:.0f}; beside the set, blurry under SOFT_BELOW = {curation.SOFT_BELOW} and "
        f"under {curation.SOFTER_THAN} x the median): false 'blurry' {rate(len(in_set), n)} {in_set}"
    )

    print(
        f"\nblurred copies of the {WIDTH}-px thumbnails; absolute: score < {curation.BLURRY_BELOW} alone; "
        f"in a burst: flagged beside its sharp original (absolute, or < {curation.SOFTER_THAN} x its exposure-"
        "normalised detail); ratio: blurred / sharp score"
    )
    for kind, blur in BLURS.items():
        absolute = in_burst = 0
        ratios = []
        for _, thumb, a in photos.values():
            blurred = analyse(blur(thumb))
            absolute += blurred.sharpness < curation.BLURRY_BELOW
            in_burst += "blurry" in burst_flags(a, blurred)
            ratios.append(blurred.sharpness / a.sharpness)
        print(
            f"  {kind:16s} absolute {rate(absolute, n):16s} burst {rate(in_burst, n):16s} max ratio {max(ratios):.2f}"
        )
    full_blur = [
        analyse(thumbnail(full.filter(ImageFilter.GaussianBlur(3 * full.width / 960))))
        for full, _, _ in photos.values()
    ]
    caught = sum(b.sharpness < curation.BLURRY_BELOW for b in full_blur)
    in_burst = sum("blurry" in burst_flags(a, b) for (_, _, a), b in zip(photos.values(), full_blur, strict=True))
    print(
        f"  limit: gauss r3 at 960 px wide (r1 at {WIDTH}): absolute {rate(caught, n)}, in a burst {rate(in_burst, n)}"
    )
    soft = {name: blurred for name, (_, blurred, _) in at_main.items()}
    scores4 = sorted(b.sharpness for b in soft.values())
    alone = sum(b.sharpness < curation.BLURRY_BELOW for b in soft.values())
    beside = sum("blurry" in set_flags(b, median) for b in soft.values())
    burst4 = sum("blurry" in burst_flags(photos[name][2], b) for name, b in soft.items())
    band = sum(curation.BLURRY_BELOW <= s < curation.SOFT_BELOW for s in scores4)
    print(
        f"  gauss r4 at {MAIN_EDGE} px (the main image; r0.625 at {WIDTH}): scores {scores4[0]:.0f}-{scores4[-1]:.0f} "
        f"(median {statistics.median(scores4):.0f}, {band} in {curation.BLURRY_BELOW:.0f}-{curation.SOFT_BELOW:.0f}); "
        f"absolute {rate(alone, n)}, beside the set {rate(beside, n)}, in a burst {rate(burst4, n)}"
    )
    for factor in (0.5, 0.73, 1.37):
        wrong = sum(
            "blurry" in burst_flags(a, analyse(ImageEnhance.Brightness(t).enhance(factor)))
            for _, t, a in photos.values()
        )
        print(f"  exposure step x{factor} of a sharp frame, false 'blurry' in a burst: {rate(wrong, n)}")
    for verdict, factor in (("dark", 0.5), ("dark", 0.4), ("bright", 1.5), ("bright", 1.8)):
        hits = sum(
            analyse(ImageEnhance.Brightness(t).enhance(factor)).exposure == verdict for _, t, _ in photos.values()
        )
        print(f"  brightness x{factor} -> '{verdict}': {rate(hits, n)}")

    hashes = {name: a for name, (_, _, a) in photos.items() if "orientation/" not in name or "_1." in name}
    pairs = sorted((curation.distance(hashes[x], hashes[y]), x, y) for x, y in itertools.combinations(hashes, 2))
    close = sum(d <= curation.MAX_DISTANCE for d, _, _ in pairs)
    print(
        f"\npHash: {len(pairs)} pairs of distinct photos, {close} within MAX_DISTANCE = {curation.MAX_DISTANCE}; "
        f"closest: {', '.join(f'{d} ({x} ~ {y})' for d, x, y in pairs[:3])}"
    )
    frames = {
        "shift 1%": lambda f: f.crop((f.width // 100, f.height // 100, f.width, f.height)),
        "shift 2.5%": lambda f: f.crop((0, f.height * 5 // 200, f.width * 195 // 200, f.height)),
        "crop 5%": lambda f: f.crop((f.width // 20, f.height // 20, f.width * 19 // 20, f.height * 19 // 20)),
    }
    for kind, frame in frames.items():
        dists = [curation.distance(analyse(thumbnail(frame(full))), a) for full, _, a in photos.values()]
        print(
            f"  same photo, {kind:10s}: max {max(dists)}, median {statistics.median(dists)}, "
            f"grouped {rate(sum(d <= curation.MAX_DISTANCE for d in dists), n)}"
        )

    print(
        f"\nuntimed photos are grouped within MAX_UNTIMED_DISTANCE = {curation.MAX_UNTIMED_DISTANCE}: distinct pairs "
        f"within it: {sum(d <= curation.MAX_UNTIMED_DISTANCE for d, _, _ in pairs)}"
    )
    for kind, frame in frames.items():
        dists = [curation.distance(analyse(thumbnail(frame(full))), a) for full, _, a in photos.values()]
        grouped = sum(d <= curation.MAX_UNTIMED_DISTANCE for d in dists)
        print(f"  same photo, {kind:10s}: untimed grouped {rate(grouped, n)}")
    big = {name for name in at_main if max(photos[name][0].size) >= 2 * WIDTH}  # scored at 320 px from more
    print(
        f"copies of the photo at {MAIN_EDGE} px, no metadata; detail = exposure-normalised sharpness, copy / original, "
        f"over {len(big)} photos >= {2 * WIDTH} px (the {n - len(big)} smaller in brackets); the pick among the "
        f"original (camera, its pixels) and the copy, and with the sharpest frame taken instead"
    )
    for kind in COPIES:
        dists, ratios, small, picked, sharpest, lost = [], [], [], 0, 0, []
        for name, (pixels, _, copies) in at_main.items():
            original = photos[name][2]
            copy_pixels, copy = copies[kind]
            dists.append(curation.distance(original, copy))
            (ratios if name in big else small).append(detail(copy) / detail(original))
            shots = [
                curation.Shot("original", None, original, pixels, "camera"),
                curation.Shot("copy", None, copy, copy_pixels),
            ]
            (group,) = curation.group(shots)
            picked += group.pick == "original"
            lost += [] if group.pick == "original" else [name]
            sharpest += detail(original) >= detail(copy)
        grouped = sum(d <= curation.MAX_UNTIMED_DISTANCE for d in dists)
        print(
            f"  {kind:18s} distance max {max(dists)}, untimed grouped {rate(grouped, n)}; "
            f"detail {min(ratios):.2f}-{max(ratios):.2f} ({min(small):.2f}-{max(small):.2f}); "
            f"pick: original {rate(picked, n)} {lost} (sharpest frame: {rate(sharpest, n)})"
        )
    print(f"  PICK_TOLERANCE = {curation.PICK_TOLERANCE}: frames within it of the sharpest are equally good")

    print(
        f"\ntimings: decode + {WIDTH}-px thumbnail median {statistics.median(decode_ms):.0f} ms (not curation's cost); "
        f"analyse() per photo: wall median {statistics.median(analyse_ms):.1f} ms, max {max(analyse_ms):.1f} ms; "
        f"CPU median {statistics.median(analyse_cpu):.1f} ms, max {max(analyse_cpu):.1f} ms "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    start = datetime(2024, 5, 1, 12)
    analyses = [a for _, _, a in photos.values()] * 20
    shots = [curation.Shot(f"{i}.jpg", start + timedelta(seconds=i), a) for i, a in enumerate(analyses)]
    started = time.perf_counter()
    curation.group(shots)
    print(f"group() of {len(shots)} shots 1 s apart: {(time.perf_counter() - started) * 1000:.1f} ms")
    untimed = [curation.Shot(f"{i}.jpg", None, a) for i, a in enumerate(analyses)]
    started = time.perf_counter()
    curation.group(untimed)
    print(f"group() of {len(untimed)} shots without a time: {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
