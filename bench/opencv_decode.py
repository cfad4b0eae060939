#!/usr/bin/python3
"""OpenCV's speed on the job's image stage, one process per core: read the file, decode at reduced size where that
keeps the shorter side >= 256 (IMREAD_REDUCED_COLOR_2/4/8, DCT-domain scaling like the pipeline's Skia decoder),
resize the shorter side to 256, centre crop 224, BGR -> RGB. Sizes come from the corpus JSON, as the pipeline's do.
Usage: opencv_decode.py CORPUS_DIR [PROCESSES] [ROUNDS]
"""
import json, os, sys, time
from multiprocessing import Pool

import cv2
import numpy as np

cv2.setNumThreads(1)
REDUCED = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2, 1: cv2.IMREAD_COLOR}


def prepare(job):
    path, width, height = job
    with open(path, "rb") as f:
        data = np.frombuffer(f.read(), np.uint8)
    factor = next(r for r in (8, 4, 2, 1) if min(width, height) // r >= 256 or r == 1)
    img = cv2.imdecode(data, REDUCED[factor])
    h, w = img.shape[:2]
    scale = 256 / min(h, w)
    img = cv2.resize(img, (max(224, round(w * scale)), max(224, round(h * scale))), interpolation=cv2.INTER_LINEAR)
    h, w = img.shape[:2]
    y, x = (h - 224) // 2, (w - 224) // 2
    crop = cv2.cvtColor(img[y:y + 224, x:x + 224], cv2.COLOR_BGR2RGB)
    return crop.shape[0]


def main():
    root = sys.argv[1]
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    jobs = []
    for split in ("train2017.json", "val2017.json"):
        with open(os.path.join(root, split)) as f:
            for image in json.load(f)["images"]:
                jobs.append((os.path.join(root, image["file_name"]), image["width"], image["height"]))
    best = 0
    with Pool(processes) as pool:
        pool.map(prepare, jobs[: processes * 20], chunksize=4)  # warm-up
        for r in range(rounds):
            start = time.perf_counter()
            pool.map(prepare, jobs, chunksize=16)
            rate = len(jobs) / (time.perf_counter() - start)
            print(f"opencv round {r + 1}: {rate:.0f} images/s")
            best = max(best, rate)
    print(f"opencv: {best:.0f} images/s ({len(jobs)} images, {processes} processes, OpenCV {cv2.__version__})")


if __name__ == "__main__":
    main()
