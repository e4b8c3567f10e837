"""Parts of the Data page (one module per part, each with a ``render`` function)."""
