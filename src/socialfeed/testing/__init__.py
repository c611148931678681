"""Contract suites."""
