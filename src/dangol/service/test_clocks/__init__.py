"""Test mode: a program's own clock, moved forward by the operator (see docs/notifications.md)."""
