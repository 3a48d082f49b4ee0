"""Maximum likelihood over positive parameters: optimised in log space (so every step
stays positive and the scale of r, alpha, a and b does not matter), with standard errors
from the observed information (the Hessian of the log-likelihood at the estimate)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from .errors import InsufficientData

Floats = npt.NDArray[np.float64]
# The log-likelihood and its gradient in the natural parameters.
LogLikelihood = Callable[[Floats], tuple[float, Floats]]
# Parameters beyond e^+-20 mean the likelihood runs off to a boundary: no estimate.
LOG_BOUND = 20.0


@dataclass(frozen=True, slots=True)
class Estimate:
    names: tuple[str, ...]
    values: Floats
    standard_errors: Floats
    log_likelihood: float
    members: int
    iterations: int

    def __getitem__(self, name: str) -> float:
        return float(self.values[self.names.index(name)])

    def standard_error(self, name: str) -> float:
        return float(self.standard_errors[self.names.index(name)])

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {name: {"estimate": float(v), "standard_error": float(se)}
                for name, v, se in zip(self.names, self.values, self.standard_errors, strict=True)}


def maximise(model: str, names: tuple[str, ...], log_likelihood: LogLikelihood, members: int,
             start: Floats | None = None) -> Estimate:
    """The maximum-likelihood estimate. The objective is the mean log-likelihood per member,
    so that the optimiser's tolerances mean the same at a thousand members as at ten million."""
    scale = 1.0 / members

    def objective(log_theta: Floats) -> tuple[float, Floats]:
        theta = np.exp(np.clip(log_theta, -LOG_BOUND, LOG_BOUND))
        value, gradient = log_likelihood(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return -value * scale, -gradient * theta * scale  # chain rule: d/d(log t) = t d/dt

    x0 = np.zeros(len(names)) if start is None else np.log(start)
    # BFGS, unbounded in log space: on a small problem its per-step overhead is a fraction
    # of L-BFGS-B's. Convergence is judged by the gradient itself, since a line search that
    # stops for lack of precision at the optimum is not a failure.
    result = minimize(objective, x0, jac=True, method="BFGS", options={"maxiter": 1000, "gtol": 1e-9})
    theta = np.exp(np.clip(result.x, -LOG_BOUND, LOG_BOUND))
    value, gradient = log_likelihood(theta)
    if not np.isfinite(value) or np.any(np.abs(result.x) >= LOG_BOUND - 0.1):
        raise InsufficientData(f"{model}: the likelihood has no maximum inside the parameter space "
                               "(the data cannot identify the model)")
    if np.max(np.abs(gradient * theta * scale)) > 1e-4:
        raise InsufficientData(f"{model}: the fit did not converge ({result.message})")
    errors = _standard_errors(log_likelihood, theta)
    if not np.all(np.isfinite(errors)):
        raise InsufficientData(f"{model}: the likelihood is flat at the estimate, so its parameters "
                               "are not identified by these data")
    return Estimate(names, theta, errors, float(value), members, int(result.nit))


def _standard_errors(log_likelihood: LogLikelihood, theta: Floats) -> Floats:
    """Square roots of the diagonal of the inverse observed information, the Hessian taken
    by central differences of the analytic gradient (relative steps)."""
    k = len(theta)
    hessian = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        hessian[:, j] = (log_likelihood(up)[1] - log_likelihood(down)[1]) / (2 * h)
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    variances = np.diag(covariance)
    with np.errstate(invalid="ignore"):
        return np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
