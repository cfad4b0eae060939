"""Read a `pipeline run` dataset with Spark (pip install pyspark; spark-submit spark.py out/dataset).

Spark discovers split= and supercategory= folders as columns, as it writes them itself.
"""
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

root = sys.argv[1] if len(sys.argv) > 1 else "out/dataset"
spark = SparkSession.builder.appName("inat2017-dataset").getOrCreate()

images = spark.read.parquet(f"{root}/images")
images.printSchema()

# images and boxes per split and super-class
(images.groupBy("split", "supercategory")
    .agg(F.count("*").alias("images"), F.sum(F.size("boxes")).alias("boxes"))
    .orderBy("split", "supercategory")
    .show(50, truncate=False))

# dense labels 0..K-1 in ascending category id (the numbering of DatasetReader and `pipeline probe`)
labels = (spark.read.parquet(f"{root}/class_counts.parquet")
    .select("category_id").distinct()
    .withColumn("label", F.row_number().over(Window.orderBy("category_id")) - 1))

# train embeddings with labels, e.g. for a Spark ML logistic regression after vector_to_array/array_to_vector
train = (images.where(F.col("split") == "train")
    .select("image_id", "category_id", "embedding")
    .join(labels, "category_id"))
train.show(5, truncate=80)

# one row per box
(images.select("image_id", "supercategory", F.explode("boxes").alias("box"))
    .select("image_id", "supercategory", "box.x", "box.y", "box.w", "box.h", "box.relative_size")
    .show(5))

spark.read.parquet(f"{root}/errors.parquet").groupBy("stage", "error").count().show()
spark.stop()
