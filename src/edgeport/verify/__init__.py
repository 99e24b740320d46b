"""Verification: compare artifacts on the same real inputs."""
