// The reference job with sharp (libvips), for benchmarks/bench.py --sharp NODE_MODULES.
//   node sharp_reference.mjs clone|cascade SRC OUT JOBS
// Per photo: EXIF orientation applied, sRGB, metadata stripped (sharp's defaults), WebP q80 and
// progressive JPEG q82 at widths 480, 960 and 1600, never upscaled. JOBS photos are in flight at once.
//   clone:   idiomatic, one pipeline per output from a clone() of the input
//   cascade: decode once (shrink-on-load to 1600), then each smaller width from the next larger pixels
import { createRequire } from "node:module";
import { readdirSync } from "node:fs";
import { join, parse } from "node:path";

const require = createRequire(join(process.env.SHARP_NODE_MODULES, "noop.js"));
const sharp = require("sharp");

const [mode, src, out, jobs] = process.argv.slice(2);
const WIDTHS = [1600, 960, 480];
const files = readdirSync(src).filter((name) => /\.(jpe?g)$/i.test(name)).sort();

function name(file, width, ext) {
  return join(out, `${parse(file).name}-${String(width).padStart(4, "0")}w.${ext}`);
}

async function encodeBoth(pipeline, file, width) {
  await Promise.all([
    pipeline.clone().webp({ quality: 80 }).toFile(name(file, width, "webp")),
    pipeline.clone().jpeg({ quality: 82, progressive: true }).toFile(name(file, width, "jpeg")),
  ]);
}

async function clone(file) {
  const input = sharp(join(src, file)).rotate();
  await Promise.all(
    WIDTHS.map((width) => encodeBoth(input.clone().resize({ width, withoutEnlargement: true }), file, width)),
  );
}

async function cascade(file) {
  let raw = await sharp(join(src, file))
    .rotate()
    .resize({ width: WIDTHS[0], withoutEnlargement: true })
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (const [index, width] of WIDTHS.entries()) {
    let pixels = sharp(raw.data, { raw: raw.info });
    if (index > 0) {
      pixels = pixels.resize({ width, withoutEnlargement: true });
      raw = await pixels.clone().raw().toBuffer({ resolveWithObject: true });
      pixels = sharp(raw.data, { raw: raw.info });
    }
    await encodeBoth(pixels, file, Math.min(width, raw.info.width));
  }
}

const work = mode === "clone" ? clone : cascade;
const queue = [...files];
await Promise.all(
  Array.from({ length: Number(jobs) }, async () => {
    while (queue.length) await work(queue.shift());
  }),
);
