"""Insight: the statistics of a loyalty program, pure (numpy and scipy, no I/O).

Lifetime value (BG/NBD and Gamma-Gamma), experiments (assignment, effects, sequential
tests) and churn models read arrays handed to them by the service layer, which reads the
ledger and events; nothing here touches a database, a file or the clock."""
