#!/usr/bin/python3
"""Fills a generated corpus's train and val images with photographs.

`pipeline synth --no-images` writes the iNat2017-shaped JSON; this writes each train/val image named there as a random
crop of one of Debian's nature photographs (plasma-workspace-wallpapers, mate-backgrounds), resized to the JSON's width
and height (800 px on the longer side) at JPEG quality 90: photo-derived files, since generated pictures flatter a
decoder. Deterministic for a given corpus (seeded per image). Usage: photo_corpus.py CORPUS_DIR
"""
import glob, json, os, sys, zlib
from multiprocessing import Pool

import cv2
import numpy as np

SOURCES = sorted(glob.glob("/usr/share/wallpapers/*/contents/images/2560x1600.jpg")) + sorted(
    glob.glob("/usr/share/backgrounds/mate/nature/*.jpg"))
_photos = []


def _load():
    for path in SOURCES:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            continue
        scale = 1600 / max(img.shape[:2])
        if scale < 1:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        _photos.append(img)


def _write(job):
    root, name, width, height = job
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    src = _photos[rng.integers(len(_photos))]
    sh, sw = src.shape[:2]
    # a crop of 40..100 % of the photo with the target's aspect ratio, anywhere in the picture
    aspect = width / height
    ch = int(sh * rng.uniform(0.4, 1.0))
    cw = int(ch * aspect)
    if cw > sw:
        cw = sw
        ch = int(cw / aspect)
    y = rng.integers(0, sh - ch + 1)
    x = rng.integers(0, sw - cw + 1)
    out = cv2.resize(src[y:y + ch, x:x + cw], (width, height), interpolation=cv2.INTER_AREA)
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, out, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return os.path.getsize(path)


def main():
    root = sys.argv[1]
    if not SOURCES:
        sys.exit("no photographs: apt-get install -y plasma-workspace-wallpapers mate-backgrounds")
    jobs = []
    for split in ("train2017.json", "val2017.json"):
        with open(os.path.join(root, split)) as f:
            for image in json.load(f)["images"]:
                jobs.append((root, image["file_name"], image["width"], image["height"]))
    with Pool(os.cpu_count(), initializer=_load) as pool:
        sizes = pool.map(_write, jobs, chunksize=32)
    print(f"photo corpus: {len(sizes)} JPEGs, mean {sum(sizes) / len(sizes) / 1024:.1f} KB, from {len(SOURCES)} photographs")


if __name__ == "__main__":
    main()
