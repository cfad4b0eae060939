"""A PyTorch reader for `pipeline export --format webdataset` shards: no pyarrow, no webdataset package.

Needs only the standard library (tarfile, json), numpy, Pillow and torch; on Debian:
    apt-get install -y python3-torch python3-pil python3-numpy

    pipeline export --format webdataset --dataset out/dataset --out shards
    python3 webdataset_torch.py shards --split train --batch-size 64 --batches 3

Each sample of a shard is up to three tar members sharing a key (the zero-padded image id):
KEY.jpg (the stored JPEG copy, present when the job ran with --store-images), KEY.json (labels, boxes, sizes) and
KEY.npy (the float32 embedding, present unless the job ran with --model none). shards/manifest.json lists the shards
with their split, super-class, samples and sha256, and the label numbering (`classes`).

ShardStream is an IterableDataset: it shuffles the shard order per epoch and mixes samples in a bounded buffer, and
each DataLoader worker (and each distributed rank, when given) reads its own share of the shards.
"""
import argparse
import io
import json
import os
import random
import sys
import tarfile

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info


def read_manifest(root):
    with open(os.path.join(root, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != "webdataset":
        raise ValueError(f"{root}/manifest.json is not a webdataset export")
    return manifest


def samples_of(path):
    """Yields one dict per sample of a tar shard: {'key', 'json', 'npy'?, 'jpg'?}, members grouped by key in order."""
    current, key = None, None
    with tarfile.open(path, mode="r|") as tar:  # a stream: one pass, no index, constant memory
        for member in tar:
            if not member.isfile():
                continue
            name = os.path.basename(member.name)
            member_key, _, extension = name.partition(".")
            data = tar.extractfile(member).read()
            if member_key != key:
                if current is not None:
                    yield current
                current, key = {"key": member_key}, member_key
            current[extension] = data
    if current is not None:
        yield current


def decode(sample, image_size=None):
    """Bytes to Python and numpy values: json -> dict, npy -> float32 array, jpg -> PIL image (RGB)."""
    meta = json.loads(sample["json"])
    out = {"key": sample["key"], "meta": meta, "label": meta["label"]}
    if "npy" in sample:
        out["embedding"] = np.load(io.BytesIO(sample["npy"]), allow_pickle=False)
    if "jpg" in sample:
        image = Image.open(io.BytesIO(sample["jpg"])).convert("RGB")
        if image_size is not None:
            image = image.resize((image_size, image_size))
        out["image"] = image
    return out


class ShardStream(IterableDataset):
    def __init__(self, root, split="train", supercategory=None, shuffle=True, buffer=1000, seed=0,
                 image_size=None, rank=0, world_size=1):
        manifest = read_manifest(root)
        self.shards = [os.path.join(root, s["path"]) for s in manifest["shards"]
                       if s["split"] == split and (supercategory is None or s["supercategory"] == supercategory)]
        if not self.shards:
            raise ValueError(f"no shards of split {split!r} in {root}")
        self.classes = manifest["classes"]
        self.shuffle, self.buffer, self.seed, self.image_size = shuffle, buffer, seed, image_size
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def my_shards(self):
        shards = list(self.shards)
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(shards)
        worker = get_worker_info()
        workers, index = (worker.num_workers, worker.id) if worker else (1, 0)
        # every rank and worker its own shards; none read twice
        return shards[self.rank * workers + index::self.world_size * workers]

    def __iter__(self):
        rng = random.Random(self.seed * 7919 + self.epoch)
        buffer = []
        for shard in self.my_shards():
            for sample in samples_of(shard):
                if not self.shuffle:
                    yield self.to_tensors(decode(sample, self.image_size))
                    continue
                buffer.append(sample)
                if len(buffer) >= self.buffer:
                    yield self.to_tensors(decode(buffer.pop(rng.randrange(len(buffer))), self.image_size))
        rng.shuffle(buffer)
        for sample in buffer:
            yield self.to_tensors(decode(sample, self.image_size))

    @staticmethod
    def to_tensors(item):
        out = {"image_id": item["meta"]["image_id"], "label": torch.tensor(item["label"], dtype=torch.long)}
        if "embedding" in item:
            out["embedding"] = torch.from_numpy(item["embedding"])
        if "image" in item:
            # HWC uint8 -> CHW float in [0, 1]; normalise as your model expects
            out["image"] = torch.from_numpy(np.asarray(item["image"], dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
        return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shards", help="the --out folder of `pipeline export --format webdataset`")
    parser.add_argument("--split", default="train")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=3, help="batches to read (0: the whole split)")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=224, help="resize the JPEGs to a square of this side (a batch needs one shape)")
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--dump", help="write every sample read as one JSON line (image_id, label, embedding)")
    args = parser.parse_args(argv)

    stream = ShardStream(args.shards, split=args.split, shuffle=not args.no_shuffle, buffer=256,
                         image_size=args.image_size)
    loader = DataLoader(stream, batch_size=args.batch_size, num_workers=args.workers)
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    read = 0
    for number, batch in enumerate(loader):
        if args.batches and number >= args.batches:
            break
        shapes = {k: tuple(v.shape) for k, v in batch.items() if torch.is_tensor(v)}
        print(f"batch {number}: {shapes}")
        read += len(batch["label"])
        if dump:
            for i in range(len(batch["label"])):
                row = {"image_id": int(batch["image_id"][i]), "label": int(batch["label"][i])}
                if "embedding" in batch:
                    row["embedding"] = batch["embedding"][i].tolist()
                if "image" in batch:
                    row["image_shape"] = list(batch["image"][i].shape)
                dump.write(json.dumps(row) + "\n")
    if dump:
        dump.close()
    print(f"read {read} samples of split {args.split} from {len(stream.shards)} shards")


if __name__ == "__main__":
    main(sys.argv[1:])
