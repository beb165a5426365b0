"""What comes in, bounded and checked before any app sees it (issue 12).

The bottom layer, so that every app may use it (tests/test_architecture.py):

- ``inputs.text``: text that can be stored (no NUL, no lone surrogate) and shown
  (control characters escaped). Framework-free.
- ``inputs.parsers``: the API's JSON parser, bounded in size and depth.
- ``inputs.query``: query parameters validated by a serializer that is also their
  OpenAPI description.

The project wires the rest (backtest_project: the middleware, throttles, the schema's
error statuses, the login pages).
"""
