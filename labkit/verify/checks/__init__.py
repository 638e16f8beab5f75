"""Checks per capability, written against the normalised state model, never a platform's text."""
