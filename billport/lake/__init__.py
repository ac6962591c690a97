"""The billing lake: ``billport sync`` keeps Hive-partitioned Parquet current, with a DuckDB
catalog and FOCUS views, and ``billport verify`` checks it to the cent.

Built on the client (so it works against billport or Microsoft alike), the Parquet writer
of :mod:`billport.outputs` (typed columns, exact decimals) and nothing server-side::

    from billport.lake import LakeSync, SyncOptions
    report = LakeSync(Path("lake"), partner_center, graph, beta, SyncOptions()).run()
    assert verify_lake(Path("lake")).ok
"""

from billport.lake.catalog import build_catalog
from billport.lake.plan import ALL_DATASETS, Job, Plan
from billport.lake.run import Landing, SyncEvents, SyncOptions
from billport.lake.state import LakeState, LakeStateError, Record
from billport.lake.sync import LakeSync, SyncReport
from billport.lake.verify import Mismatch, Verification, verify_lake

__all__ = [
    "ALL_DATASETS",
    "Job",
    "LakeState",
    "LakeStateError",
    "LakeSync",
    "Landing",
    "Mismatch",
    "Plan",
    "Record",
    "SyncEvents",
    "SyncOptions",
    "SyncReport",
    "Verification",
    "build_catalog",
    "verify_lake",
]
