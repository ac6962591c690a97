"""No import cycle anywhere in billport, imports inside functions included.

``lint-imports`` (run by .ci/run) checks the layers between packages; this checks that no
two modules reach each other, inside a package too.
"""

from __future__ import annotations

import grimp


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    graph = grimp.build_graph("billport")
    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert cycles == []
