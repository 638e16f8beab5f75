"""The node plan: every per-node decision, made once after validation (see labkit.plan.build)."""

from labkit.plan.build import plan_design
from labkit.plan.model import NodePlan

__all__ = ["NodePlan", "plan_design"]
