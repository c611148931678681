"""Built-in backends: ``memory`` (embedded default), ``sql``, ``redis`` and ``fsspec``."""
