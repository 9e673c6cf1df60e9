"""数据中台 — department connectors, one standard, entity resolution, data quality, governed sharing."""
