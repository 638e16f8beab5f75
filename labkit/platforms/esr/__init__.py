"""The Eltex ESR service router: its configuration syntax, output layouts, port names and provenance."""
