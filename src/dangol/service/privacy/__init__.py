"""Members own their data: the use cases around the pure core in dangol.privacy (personal
data, consents, export, erasure and retention, data keys, the audit log)."""
