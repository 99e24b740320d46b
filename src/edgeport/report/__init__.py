"""Results as data: the versioned JSON schema, and its terminal/HTML views."""
