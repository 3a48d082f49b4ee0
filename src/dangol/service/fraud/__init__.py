"""Fraud detection's adapters: the screening the events' decide step calls, the review
queue, and the anomaly scoring job (the pure core is dangol.fraud)."""
