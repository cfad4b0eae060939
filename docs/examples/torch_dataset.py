"""PyTorch datasets over a `pipeline run` dataset (pip install torch pyarrow numpy pillow).

EmbeddingDataset: a map-style dataset of (embedding, label) that holds one split's embeddings in memory
(4 bytes x 512 x images: 1.2 GB for all 579,184 train images), e.g. to train a linear head.

ParquetImageStream: an iterable dataset that streams rows with bounded memory, like the C# DatasetReader: the row
groups of every file are shuffled, `window` row groups at a time are read and their rows mixed. Each DataLoader
worker takes its own share of the row groups. It decodes the stored JPEG copies (`pipeline run --store-images PX`).

    python torch_dataset.py out/dataset
"""
import io
import random
import sys

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info


def label_map(root):
    """Category id -> dense label 0..K-1 in ascending category id (the numbering of DatasetReader and the probe)."""
    category_ids = sorted(set(pq.read_table(f"{root}/class_counts.parquet", columns=["category_id"])
                              .column("category_id").to_pylist()))
    return {c: i for i, c in enumerate(category_ids)}


class EmbeddingDataset(Dataset):
    def __init__(self, root, split="train", supercategory=None):
        images = ds.dataset(f"{root}/images", format="parquet", partitioning="hive")
        condition = pc.field("split") == split
        if supercategory is not None:
            condition = condition & (pc.field("supercategory") == supercategory)
        table = images.to_table(columns=["category_id", "embedding"], filter=condition)
        embeddings = table.column("embedding").combine_chunks()
        dimension = len(embeddings[0])
        self.features = torch.from_numpy(embeddings.flatten().to_numpy().reshape(-1, dimension).copy())
        labels = label_map(root)
        self.labels = torch.tensor([labels[c] for c in table.column("category_id").to_pylist()], dtype=torch.long)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.features[index], self.labels[index]


class ParquetImageStream(IterableDataset):
    """Yields (pixels CHW float tensor, label, boxes in the stored image's pixels) for one split."""

    def __init__(self, root, split="train", size=224, seed=0, window=4, shuffle=True):
        images = ds.dataset(f"{root}/images", format="parquet", partitioning="hive")
        files = [f for f in images.files if f"/split={split}/" in f]
        self.units = [(f, g) for f in sorted(files) for g in range(pq.ParquetFile(f).num_row_groups)]
        self.labels = label_map(root)
        self.size, self.seed, self.window, self.shuffle = size, seed, window, shuffle
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        units = list(self.units)
        if self.shuffle:
            rng.shuffle(units)
        worker = get_worker_info()
        if worker is not None:
            units = units[worker.id::worker.num_workers]
        columns = ["category_id", "image", "boxes", "resized_width", "resized_height"]
        for start in range(0, len(units), self.window):
            rows = []
            for path, group in units[start:start + self.window]:
                rows.extend(pq.ParquetFile(path).read_row_group(group, columns=columns).to_pylist())
            if self.shuffle:
                rng.shuffle(rows)
            for row in rows:
                if row["image"] is None:
                    raise ValueError("no stored image copies: run the job with --store-images PX")
                yield self.pixels(row["image"]), self.labels[row["category_id"]], row["boxes"]

    def pixels(self, jpeg):
        # shorter side to `size`, then the centre square, as the C# DatasetReader's PixelSize does
        image = Image.open(io.BytesIO(jpeg)).convert("RGB")
        scale = self.size / min(image.size)
        width, height = max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))
        image = image.resize((width, height), Image.BILINEAR)
        left, top = (width - self.size) // 2, (height - self.size) // 2
        image = image.crop((left, top, left + self.size, top + self.size))
        array = np.asarray(image, dtype=np.float32) / 255.0
        return torch.from_numpy(array).permute(2, 0, 1)


def keep_boxes_as_lists(batch):
    pixels, labels, boxes = zip(*batch)
    return torch.stack(pixels), torch.tensor(labels), list(boxes)


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "out/dataset"
    train = EmbeddingDataset(root, "train")
    features, label = train[0]
    print(len(train), features.shape, label)
    loader = DataLoader(train, batch_size=256, shuffle=True)
    print(next(iter(loader))[0].shape)

    stream = ParquetImageStream(root, "train", size=64)
    loader = DataLoader(stream, batch_size=32, num_workers=2, collate_fn=keep_boxes_as_lists)
    pixels, labels, boxes = next(iter(loader))
    print(pixels.shape, labels[:8], boxes[0])
