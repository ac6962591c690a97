"""``billport import``: real billing files into the store (docs/import.md)."""
