"""The engine's own exception type.

``EngineInputError`` is input the engine cannot run (a candle value, a parameter or an
execution setting out of range); its message names the field and, for arrays, the
index. It is a ``ValueError``, so callers that only know that still catch it. Any other
exception out of the engine is a bug.
"""


class EngineInputError(ValueError):
    """Bad input to the engine; the message names what is wrong."""
