"""Interview scheduling, accommodation and notification services."""
