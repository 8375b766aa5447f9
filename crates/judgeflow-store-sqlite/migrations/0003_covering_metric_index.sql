-- Metric filters test `is_nan` beside `value`; with it in the index, counting or listing the
-- runs a metric comparison matches never touches the table.
DROP INDEX latest_metrics_by_key_value;
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value, is_nan);
