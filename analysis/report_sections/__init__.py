"""Report sections, one module per family of property documents (registered on import)."""
