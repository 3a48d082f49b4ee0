"""Fraud detection's pure core: velocity windows, referral rings over shared
fingerprints, the decision an event gets (pass, flag, hold as pending, refuse), and the
behavioural features the anomaly score reads. Plain Python and no I/O; the anomaly model
itself (scikit-learn) is `anomaly`, the one module of the package that imports a library."""

from .decision import Action, Decision, Finding, decide
from .policy import FraudPolicy, Kind, Measure, Per, RingRule, VelocityRule
from .rings import find_rings
from .velocity import Signal, velocity_findings

__all__ = ["Action", "Decision", "Finding", "FraudPolicy", "Kind", "Measure", "Per", "RingRule", "Signal",
           "VelocityRule", "decide", "find_rings", "velocity_findings"]
