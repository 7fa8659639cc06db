"""Plan and evaluate: the analytic engine. Knows nothing of YAML, terminals or torch."""

from .analyze import analyze_spec, evaluate
from .plan import Plan, plan

__all__ = ["Plan", "analyze_spec", "evaluate", "plan"]
