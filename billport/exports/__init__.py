"""Export writing: rows -> gzip JSON-lines parts -> manifest."""
