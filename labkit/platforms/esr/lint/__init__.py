"""Checks on ESR configurations: round trip against the design, consistency across devices."""
