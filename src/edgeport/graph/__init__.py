"""Format-neutral analysis IR and its readers."""
