"""Deployable packages: per-device variants, a manifest, and a dependency-free runtime selector."""
