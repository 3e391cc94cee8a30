"""The BigQuery side of streaming and export: Google's row/schema mapping and the table writer."""
