"""Verification: scrapli sessions, TTP parsing, the normalised state, checks, suites and reports."""
