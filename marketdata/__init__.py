"""Market data (its own app): candle ingestion (CSV, Parquet, the live Redis key), coverage, and reads.

Entry points: ``services.candles_ingest`` (write path), ``read.candles_load`` (read
path, returns ``read.Candles``; raises ``read.NoCandles``). See docs/marketdata.md.
"""
