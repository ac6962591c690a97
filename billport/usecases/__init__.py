"""Use cases: what the HTTP surfaces and the CLI do, with no HTTP types in sight.

Each module is one resource; functions take the store handle and plain values and
return domain objects or raise :class:`billport.errors.BillportError` subclasses.
"""
