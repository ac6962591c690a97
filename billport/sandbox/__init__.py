"""Sandbox controls: scenarios, fault injection, progression, request log and compliance.

- ``scenario``: the scenario document, parsed and validated (pure)
- ``progression``: when a finished operation becomes visible to its poller (pure)
- ``faults``: which fault or latency a request gets (pure, seeded)
- ``compliance``: did each client honour ``Retry-After`` (pure)
- ``identity``: who is calling and for which tenant, from headers and path (pure)
- ``book``: where scenarios live (the database) and which one applies
- ``middleware``: the ASGI layer that injects faults and latency and logs requests
- ``admin``: reset and seed use cases of the admin API
"""
