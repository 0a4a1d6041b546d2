"""Benchmark gallery on the reference job against baselines measured in the same run.

The reference job, per photo: EXIF orientation applied, sRGB, metadata stripped, WebP q80 and
progressive JPEG q82 at widths 480, 960 and 1600 (never upscaled): six outputs per photo.

    python benchmarks/bench.py [PHOTOS] [--runs 3] [--sharp /path/to/node_modules]

Every tool runs as its own process (whole-process wall time, peak RSS of its largest process), and
the tools take turns within each round, rotating who goes first, so a noisy shared machine slows
them alike; ratios are paired round by round and reported as median [min-max]:

- gallery:  `python -m pipeline process PHOTOS --config benchmarks/reference.toml` (all its real
            work: content hash, cache record, colour management, metadata policy, manifest);
- naive:    a plain Pillow loop, one process: full decode, resize from full size for every width;
- floor:    the codec floor over all cores: decode at draft scale + cascade resize + encode, nothing
            else (no orientation, colour management, hashing or bookkeeping);
- sharp-clone / sharp-cascade: sharp (libvips) with --sharp NODE_MODULES (see sharp_reference.mjs),
            as many photos in flight as cores; sharp-cascade-1: one photo at a time.

Then: SSIM of every tool's 960w WebP against a reference downscale (full decode, Lanczos), a re-run
of gallery on an unchanged folder of --rerun-photos photos, the peak RSS of gallery on a 50-MP
photo, and HEIC decode time beside JPEG decode time (HEIC has no shrink-on-load).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageCms, ImageMath, ImageOps

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REFERENCE = HERE / "reference.toml"
DEFAULT_PHOTOS = REPO.parent / "shared" / "corpus" / "bench"
WIDTHS = (1600, 960, 480)
SAVE = {
    "webp": ("WEBP", {"quality": 80}),
    "jpeg": ("JPEG", {"quality": 82, "progressive": True}),
}
SRGB = ImageCms.createProfile("sRGB")


def photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg") and not p.name.startswith("."))


def output_name(out: Path, photo: Path, width: int, ext: str) -> Path:
    return out / f"{photo.stem}-{width:04d}w.{ext}"


def encode_all(image: Image.Image, photo: Path, out: Path, width: int) -> None:
    for ext, (fmt, options) in SAVE.items():
        image.save(output_name(out, photo, width, ext), fmt, **options)


def to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    image = image.convert("RGB")
    if icc:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        image = ImageCms.profileToProfile(image, source, SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL)
    return image


def upright_srgb(path: Path) -> Image.Image:
    """Full decode, orientation applied, sRGB: what naive code does and what SSIM compares against."""
    with Image.open(path) as image:
        image.load()
        icc = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)
    upright.info["icc_profile"] = icc
    return to_srgb(upright)


def naive_photo(photo: Path, out: Path) -> None:
    image = upright_srgb(photo)
    for width in WIDTHS:
        width = min(width, image.width)
        resized = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        encode_all(resized, photo, out, width)


def floor_photo(photo: Path, out: Path) -> None:
    with Image.open(photo) as image:
        image.draft("RGB", (WIDTHS[0], round(image.height * WIDTHS[0] / image.width)))
        current = image.convert("RGB")
    for width in WIDTHS:
        width = min(width, current.width)
        if width != current.width:
            current = current.resize((width, round(current.height * width / current.width)), Image.Resampling.LANCZOS)
        encode_all(current, photo, out, width)


def run_worker(kind: str, src: Path, out: Path, jobs: int) -> None:
    """The in-benchmark tools, each run as its own process by the benchmark."""
    photos = photos_in(src)
    if kind == "naive":
        for photo in photos:
            naive_photo(photo, out)
        return
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(floor_photo, photos, [out] * len(photos)))


# --- measuring ---------------------------------------------------------------------------------


# Runs each measured command from a fresh, small interpreter: a child started straight from this
# (large) process would inherit its memory high-water mark through fork and exec.
_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
stderr = child.stderr.read()
_, status, usage = os.wait4(child.pid, 0)
sys.stderr.buffer.write(stderr)
cpu = usage.ru_utime + usage.ru_stime
print(time.perf_counter() - started, usage.ru_maxrss, cpu, os.waitstatus_to_exitcode(status))
"""


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB, the largest single process of its tree) and CPU seconds (user +
    system, whole tree) of one command. On a busy machine CPU seconds are the steadier figure."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, env=env)
    wall, peak, cpu, code = done.stdout.split()
    if int(code):
        raise SystemExit(f"{' '.join(command)} failed ({code}):\n{done.stderr}")
    return float(wall), int(peak), float(cpu)


def gallery_command(src: Path, out: Path, jobs: int, config: Path = REFERENCE) -> list[str]:
    command = [sys.executable, "-m", "pipeline", "process", str(src), "--config", str(config), "--out", str(out)]
    # No --quiet: it silences the summary line the re-run measurement reads. A pipe draws no bar anyway.
    return [*command, *(["--jobs", str(jobs)] if jobs else [])]


def tool_commands(args: argparse.Namespace, jobs: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    me = [sys.executable, str(Path(__file__).resolve())]
    tools = {
        "gallery": (gallery_command(args.photos, Path("{out}"), args.jobs), env),
        "naive": ([*me, "--worker", "naive", str(args.photos), "{out}"], env),
        "floor": ([*me, "--worker", "floor", str(args.photos), "{out}", "--jobs", str(jobs)], env),
    }
    if args.levers:
        # The same run with rendering on threads instead of processes (Pillow releases the GIL in
        # decode, resize and encode): the executor choice in pipeline/image/pool.py rests on this pair.
        threads = (
            "import concurrent.futures as f, pipeline.image.pool as p; p.ProcessPoolExecutor = f.ThreadPoolExecutor; "
        )
        threads += "from pipeline.cli.app import app; app()"
        tools["gallery-threads"] = ([sys.executable, "-c", threads, *tools["gallery"][0][3:]], env)
    if args.sharp:
        node = shutil.which("node")
        if node is None:
            raise SystemExit("--sharp needs node on PATH")
        sharp_env = {**os.environ, "SHARP_NODE_MODULES": str(args.sharp)}
        script = str(HERE / "sharp_reference.mjs")
        for mode in ("clone", "cascade"):
            tools[f"sharp-{mode}"] = ([node, script, mode, str(args.photos), "{out}", str(jobs)], sharp_env)
        # A loop that awaits each photo in turn, as scripts are often written; libvips still threads.
        tools["sharp-cascade-1"] = ([node, script, "cascade", str(args.photos), "{out}", "1"], sharp_env)
    return tools


def reference_job(args: argparse.Namespace, scratch: Path) -> dict[str, Path]:
    jobs = args.jobs or os.cpu_count() or 1
    tools = tool_commands(args, jobs)
    names = [name for name in tools if not args.tools or name in args.tools.split(",")]
    if "gallery" not in names:
        names.insert(0, "gallery")
    walls: dict[str, list[float]] = {name: [] for name in names}
    peaks: dict[str, list[int]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    last_out: dict[str, Path] = {}
    for round_number in range(args.runs):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in order:
            out = scratch / f"{name}-{round_number}"
            out.mkdir()
            command, env = tools[name]
            wall, peak, cpu = measure([part.replace("{out}", str(out)) for part in command], env)
            walls[name].append(wall)
            cpus[name].append(cpu)
            peaks[name].append(peak)
            if name in last_out:
                shutil.rmtree(last_out[name])
            last_out[name] = out
        print(f"round {round_number + 1}: " + ", ".join(f"{n} {walls[n][-1]:.2f} s" for n in names), flush=True)

    photos = photos_in(args.photos)
    megapixels = sum(_pixels(p) for p in photos) / 1e6
    print(f"\nreference job: {len(photos)} photos, {megapixels:.0f} MP, {args.runs} rounds, jobs={jobs}")
    print(
        f"{'tool':15} {'wall s':>7} {'photos/s':>8} {'CPU s':>6} {'peak RSS':>9} {'outputs':>7} {'bytes':>10}"
        "  gallery/tool: wall          CPU"
    )
    for name in names:
        wall = statistics.median(walls[name])
        wall_ratios = [g / t for g, t in zip(walls["gallery"], walls[name], strict=True)]
        cpu_ratios = [g / t for g, t in zip(cpus["gallery"], cpus[name], strict=True)]
        images = [p for p in last_out[name].iterdir() if p.suffix in (".webp", ".jpeg")]
        print(
            f"{name:15} {wall:7.2f} {len(photos) / wall:8.2f} {statistics.median(cpus[name]):6.1f} "
            f"{max(peaks[name]) / 1024:6.0f} MB {len(images):7d} {sum(p.stat().st_size for p in images):10,d}"
            f"  {_spread(wall_ratios):>18} {_spread(cpu_ratios):>18}"
        )
    return last_out


def _pixels(path: Path) -> int:
    with Image.open(path) as image:
        return image.width * image.height


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


# --- quality -----------------------------------------------------------------------------------


def ssim(a: Image.Image, b: Image.Image, block: int = 8) -> float:
    """Mean SSIM of the luma over non-overlapping 8x8 windows (block means via Image.reduce)."""
    x = a.convert("L").convert("F")
    y = b.convert("L").convert("F")
    products = {
        "x": x,
        "y": y,
        "xx": ImageMath.lambda_eval(lambda v: v["x"] * v["x"], x=x),
        "yy": ImageMath.lambda_eval(lambda v: v["y"] * v["y"], y=y),
        "xy": ImageMath.lambda_eval(lambda v: v["x"] * v["y"], x=x, y=y),
    }
    m = {key: image.reduce(block) for key, image in products.items()}
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    index = ImageMath.lambda_eval(
        lambda v: (
            ((v["mx"] * v["my"] * 2 + c1) * ((v["mxy"] - v["mx"] * v["my"]) * 2 + c2))
            / (
                (v["mx"] * v["mx"] + v["my"] * v["my"] + c1)
                * (v["mxx"] - v["mx"] * v["mx"] + v["myy"] - v["my"] * v["my"] + c2)
            )
        ),
        **{f"m{key}": image for key, image in m.items()},
    )
    return index.reduce(index.size).getpixel((0, 0))  # the mean (ImageStat bins float images to 0-255)


def quality(outputs: dict[str, Path], photos: Path) -> None:
    """SSIM and bytes of each tool's 960w WebP against a reference downscale of the same photo."""
    print("\n960w WebP against a reference downscale (full decode, orientation, sRGB, Lanczos):")
    references = {}
    for photo in photos_in(photos):
        image = upright_srgb(photo)
        references[photo.name] = image.resize((960, round(image.height * 960 / image.width)), Image.Resampling.LANCZOS)
    galleries = {name: _gallery_960w(out) for name, out in outputs.items() if name.startswith("gallery")}
    for name, out in outputs.items():
        if name == "floor":
            continue  # no orientation or colour management: not the same picture
        scores, size = [], 0
        for photo_name, reference in references.items():
            path = galleries[name][photo_name] if name in galleries else output_name(out, Path(photo_name), 960, "webp")
            with Image.open(path) as output:
                scores.append(ssim(output, reference))
            size += path.stat().st_size
        print(f"  {name:15} SSIM mean {statistics.mean(scores):.4f} (min {min(scores):.4f}), {size:,} bytes")


def _gallery_960w(out: Path) -> dict[str, Path]:
    manifest = json.loads(next(out.glob("*.json")).read_text())
    return {
        photo["source"]: out / output["file"]
        for photo in manifest["photos"]
        for output in photo["outputs"]
        if output["format"] == "webp" and output["width"] == 960
    }


# --- re-run, memory, HEIC ----------------------------------------------------------------------


def rerun(args: argparse.Namespace, scratch: Path) -> None:
    """Gallery on an unchanged folder: every photo is recognised from the record, none decoded."""
    src, out = scratch / "rerun-src", scratch / "rerun-out"
    src.mkdir()
    small = sorted((REPO / "tests" / "fixtures" / "cameras").glob("*.jpg"))
    for index in range(args.rerun_photos):
        original = small[index % len(small)]
        # Bytes after the JPEG end marker make each copy distinct content; decoders ignore them.
        (src / f"photo-{index:04d}.jpg").write_bytes(original.read_bytes() + index.to_bytes(4, "big"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = gallery_command(src, out, args.jobs)
    first = measure(command, env)[0]
    walls = [measure(command, env)[0] for _ in range(args.runs)]
    summary = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stderr.strip()
    print(f"\nre-run on {args.rerun_photos} unchanged photos: {_spread(walls)} s (first run {first:.1f} s)")
    print(f"  {summary.splitlines()[-1]}")


def big_photo(args: argparse.Namespace, scratch: Path) -> None:
    """Peak RSS of one-worker runs on a 50-MP JPEG (a real photo upscaled; baseline and progressive,
    which libjpeg decodes through a whole-image coefficient buffer) and on one photo of the set."""
    photo = photos_in(args.photos)[0]
    with Image.open(photo) as image:
        scale = (50e6 / (image.width * image.height)) ** 0.5
        big = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)))
    cases = []
    for label, options in (("baseline", {}), ("progressive", {"progressive": True})):
        folder = scratch / f"big-{label}"
        folder.mkdir()
        big.save(folder / "big.jpg", quality=90, **options)
        cases.append((f"{big.width}x{big.height} ({big.width * big.height / 1e6:.0f} MP), {label}", folder))
    folder = scratch / "one-photo"
    folder.mkdir()
    shutil.copy(photo, folder)
    cases.append((photo.name, folder))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print("\npeak RSS, gallery --jobs 1 (largest process of the run: the worker):")
    for label, folder in cases:
        for config in (REFERENCE, REPO / "config.toml"):
            out = scratch / f"rss-{folder.name}-{config.stem}"
            wall, peak, _ = measure(gallery_command(folder, out, 1, config), env)
            print(f"  {label:40} {config.name:15} {peak / 1024:6.0f} MB  {wall:5.2f} s")


def heic_decode(args: argparse.Namespace) -> None:
    """HEIC is always decoded at full size: compare its cost per megapixel with JPEG's, full and at
    draft scale (CPU time of this process, best of 5: decoding is single-threaded)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    heic = REPO / "tests" / "fixtures" / "heic" / "iphone_13_pro_max.HEIC"
    jpeg = next(p for p in photos_in(args.photos) if not Image.open(p).info.get("progressive"))
    print("\ndecode CPU per megapixel of the source:")
    for label, path, draft in (("HEIC, full", heic, False), ("JPEG, full", jpeg, False), ("JPEG, draft", jpeg, True)):
        times = []
        for _ in range(5):
            started = time.process_time()
            with Image.open(path) as image:
                pixels = image.width * image.height
                if draft:
                    image.draft("RGB", (1600, round(image.height * 1600 / image.width)))
                image.load()
                decoded = image.size
            times.append(time.process_time() - started)
        print(f"  {label:12} {path.name:24} {decoded[0]:5d}x{decoded[1]:<5d} {min(times) / pixels * 1e9:6.1f} ms/MP")


def encoder_levers(args: argparse.Namespace) -> None:
    """Encoder settings on the same pixels: CPU seconds, bytes and SSIM per setting (one process)."""
    print("\nencoder settings on the 1600/960/480 cascade of 5 photos (CPU s, bytes, SSIM of 960w vs reference):")
    decoded = []
    for photo in photos_in(args.photos)[:5]:
        reference = upright_srgb(photo)
        reference = reference.resize((960, round(reference.height * 960 / reference.width)), Image.Resampling.LANCZOS)
        with Image.open(photo) as image:
            image.draft("RGB", (1600, 1))
            upright = to_srgb(ImageOps.exif_transpose(image))
        decoded.append((upright, reference))
    settings = [
        *(("WEBP", {"quality": 80, "method": m}) for m in (6, 4, 3, 2)),
        ("JPEG", {"quality": 82, "progressive": True}),
        ("JPEG", {"quality": 82, "progressive": True, "optimize": True}),
        ("JPEG", {"quality": 82}),
        ("JPEG", {"quality": 82, "optimize": True}),
        *(("AVIF", {"quality": 60, "speed": s}) for s in (10, 8, 6)),
    ]
    for fmt, options in settings:
        cpu, size, scores = 0.0, 0, []
        for upright, reference in decoded:
            current = upright
            for width in WIDTHS:
                current = current.resize(
                    (width, round(current.height * width / current.width)), Image.Resampling.LANCZOS
                )
                buffer = io.BytesIO()
                started = time.process_time()
                current.save(buffer, fmt, **options)
                cpu += time.process_time() - started
                size += buffer.tell()
                if width == 960:
                    scores.append(ssim(Image.open(buffer), reference))
        label = fmt + " " + " ".join(f"{k}={v}" for k, v in options.items() if k != "quality")
        print(f"  {label:36} {cpu:6.2f} s {size:10,d} bytes  SSIM {statistics.mean(scores):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="?", type=Path, default=DEFAULT_PHOTOS, help="folder of JPEG photos")
    parser.add_argument("out", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3, help="rounds (each tool once per round); default 3")
    parser.add_argument("--jobs", type=int, default=0, help="workers for gallery and floor; 0 = all cores")
    parser.add_argument("--sharp", type=Path, help="node_modules folder holding sharp (adds the sharp runs)")
    parser.add_argument("--rerun-photos", type=int, default=500, help="size of the unchanged folder; 0 = skip")
    parser.add_argument("--tools", help="comma-separated subset of the tools to run (gallery always runs)")
    parser.add_argument("--levers", action="store_true", help="also gallery on threads, and encoder settings")
    parser.add_argument("--skip-extras", action="store_true", help="only the reference job and SSIM")
    parser.add_argument("--worker", choices=("naive", "floor"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.photos, args.out, args.jobs or os.cpu_count() or 1)
        return
    if not args.photos.is_dir():
        raise SystemExit(f"no photo folder at {args.photos}; pass one")
    print(
        f"machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; Python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory(prefix="gallery-bench-") as temp:
        scratch = Path(temp)
        outputs = reference_job(args, scratch)
        quality(outputs, args.photos)
        if not args.skip_extras:
            if args.rerun_photos:
                rerun(args, scratch)
            big_photo(args, scratch)
            heic_decode(args)
        if args.levers:
            encoder_levers(args)


if __name__ == "__main__":
    main()
