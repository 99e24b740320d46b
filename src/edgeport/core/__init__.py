"""Core model of the world: formats, tensor specs, artifacts."""
