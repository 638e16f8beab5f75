"""Runtimes run a generated lab: containerlab, host namespaces, or namespaces inside a microVM.

Kept free of imports so the guest agent (labkit.runtime.agent) starts fast under emulation.
"""
