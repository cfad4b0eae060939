"""Read a `pipeline run` dataset with pyarrow and pandas (pip install pyarrow pandas numpy).

    python pandas_pyarrow.py out/dataset
"""
import sys

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

root = sys.argv[1] if len(sys.argv) > 1 else "out/dataset"

# split and supercategory come from the split=/supercategory= folder names (hive partitioning)
images = ds.dataset(f"{root}/images", format="parquet", partitioning="hive")
print(images.schema)

# counts per split and super-class, without reading embeddings or pixels
meta = images.to_table(columns=["split", "supercategory", "category_id"]).to_pandas()
print(meta.groupby(["split", "supercategory"], observed=True).size())

# dense labels 0..K-1 in ascending category id, the numbering DatasetReader and `pipeline probe` use
classes = pq.read_table(f"{root}/class_counts.parquet").to_pandas()
category_ids = np.sort(classes["category_id"].unique())
label_of = {int(c): i for i, c in enumerate(category_ids)}

# train embeddings as one float32 matrix (N x 512 for ResNet-18); the filter prunes the val folders
train = images.to_table(columns=["image_id", "category_id", "embedding"], filter=pc.field("split") == "train")
embeddings = train.column("embedding").combine_chunks()
dimension = len(embeddings[0])
x_train = embeddings.flatten().to_numpy().reshape(-1, dimension)
y_train = np.array([label_of[c] for c in train.column("category_id").to_pylist()], dtype=np.int64)
print(x_train.shape, y_train.shape, x_train.dtype)

# pandas directly: partition columns arrive as categoricals
frame = pd.read_parquet(f"{root}/images", columns=["image_id", "species", "split", "supercategory", "boxes"],
                        filters=[("split", "==", "val")])
frame["box_count"] = frame["boxes"].map(len)
print(frame.groupby("supercategory", observed=True)["box_count"].sum())

# relative box sizes per super-class (the paper's Figure 4) and the quarantine
histograms = pd.read_parquet(f"{root}/box_size_histograms.parquet")
print(histograms.groupby("supercategory")["count"].sum())
print(pd.read_parquet(f"{root}/errors.parquet").groupby(["stage", "error"]).size())
