"""The ``edgeport`` CLI: one module per command (registered by file name), each calling the public API."""
