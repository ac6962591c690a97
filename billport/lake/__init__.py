"""The billing lake: ``billport sync`` keeps Hive-partitioned Parquet current, with a DuckDB
catalog and FOCUS views, and ``billport verify`` checks it to the cent.

Built on the client (so it works against billport or Microsoft alike), the Parquet writer
of :mod:`billport.outputs` (typed columns, exact decimals) and nothing server-side::

    from billport.lake import LakeSync, SyncOptions
    report = LakeSync(Path("lake"), partner_center, graph, beta, SyncOptions()).run()
    assert verify_lake(Path("lake")).ok
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from billport.lake.catalog import build_catalog
    from billport.lake.plan import ALL_DATASETS, Job, Plan
    from billport.lake.run import Landing, SyncEvents, SyncOptions
    from billport.lake.state import LakeState, LakeStateError, Record
    from billport.lake.sync import LakeSync, SyncReport
    from billport.lake.verify import Mismatch, Verification, verify_lake

# Loaded on first use: `billport --help` imports the sync command's module, which needs
# only the plan's dataset names, not the sync, the catalog and the verifier behind them.
_MODULES = {
    "build_catalog": "catalog",
    "ALL_DATASETS": "plan",
    "Job": "plan",
    "Plan": "plan",
    "Landing": "run",
    "SyncEvents": "run",
    "SyncOptions": "run",
    "LakeState": "state",
    "LakeStateError": "state",
    "Record": "state",
    "LakeSync": "sync",
    "SyncReport": "sync",
    "Mismatch": "verify",
    "Verification": "verify",
    "verify_lake": "verify",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:  # a submodule (``from billport.lake import paths``) is found after
        raise AttributeError(f"module 'billport.lake' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"billport.lake.{module}"), name)
    globals()[name] = value
    return value


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
