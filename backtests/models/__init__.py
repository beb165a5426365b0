"""Models of the backtests app, one module per concept, re-exported here for Django."""
