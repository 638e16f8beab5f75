"""The node plan: every per-node decision, made once after validation (see labkit.plan.build)."""

from labkit.plan.build import plan_design, transport_plan
from labkit.plan.model import NodePlan, TransportPlan

__all__ = ["NodePlan", "TransportPlan", "plan_design", "transport_plan"]
