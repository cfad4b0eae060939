-- Queries over a dataset written by `pipeline run`. Run them from the job's output folder (the one holding dataset/),
-- e.g. `duckdb -c ".read docs/examples/duckdb.sql"`, or change 'dataset/' to the dataset's path.
-- split and supercategory are hive partition columns: DuckDB reads them from the folder names.

-- Images and boxes per split and super-class.
SELECT split, supercategory, count(*) AS images, sum(len(boxes)) AS boxes
FROM read_parquet('dataset/images/**/*.parquet', hive_partitioning = true)
GROUP BY ALL
ORDER BY split, supercategory;

-- Training images per species, most populated first (the paper's Figure 2).
SELECT category_id, species, supercategory, count(*) AS train_images
FROM read_parquet('dataset/images/**/*.parquet', hive_partitioning = true)
WHERE split = 'train'
GROUP BY ALL
ORDER BY train_images DESC, category_id;

-- Dense labels 0..K-1 in ascending category id: the numbering DatasetReader and `pipeline probe` use.
SELECT category_id, species, supercategory, row_number() OVER (ORDER BY category_id) - 1 AS label
FROM (SELECT DISTINCT category_id, species, supercategory FROM read_parquet('dataset/class_counts.parquet'))
ORDER BY category_id;

-- The val embeddings of one super-class with their labels; the filter on partition columns prunes folders.
SELECT image_id, category_id, embedding
FROM read_parquet('dataset/images/**/*.parquet', hive_partitioning = true)
WHERE split = 'val' AND supercategory = 'Aves'
ORDER BY image_id;

-- One row per box, in pixels of the resized image (resized_width x resized_height); relative_size is Figure 4's.
SELECT image_id, resized_width, resized_height, box.x, box.y, box.w, box.h, box.relative_size
FROM (SELECT image_id, resized_width, resized_height, unnest(boxes) AS box
      FROM read_parquet('dataset/images/**/*.parquet', hive_partitioning = true))
ORDER BY image_id;

-- Relative box size per super-class (Figure 4), train and val together.
SELECT supercategory, bin_lo, bin_hi, sum(count) AS boxes
FROM read_parquet('dataset/box_size_histograms.parquet')
GROUP BY ALL
ORDER BY supercategory, bin_lo;

-- Quarantined images by stage and error.
SELECT stage, error, count(*) AS images
FROM read_parquet('dataset/errors.parquet')
GROUP BY ALL
ORDER BY images DESC, stage, error;
