"""Analyses on the format-neutral ``Graph``: profile (MACs, params), memory, compatibility."""
