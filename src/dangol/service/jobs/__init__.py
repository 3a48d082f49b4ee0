"""Scheduled jobs: what runs as time passes (expiry, its warnings, tiers, birthdays, monthly
statements, retention, outbox dispatch), under a lease in the database so that two workers
never run the same job at once, each run recorded (docs/notifications.md)."""
