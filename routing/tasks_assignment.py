"""Background work of routing (see the module docstrings it names)."""
