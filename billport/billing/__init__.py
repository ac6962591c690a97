"""Pure billing domain: datasets, invoices, operations. No I/O."""
