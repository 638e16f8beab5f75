"""Rendering: design -> containerlab topology, node files and ESR configs from Jinja2 templates."""
