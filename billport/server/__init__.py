"""The HTTP server: Partner Center, Graph, blob downloads, identity, admin."""
