"""The operator console's staff, as services: accounts (create, list, disable, reset the
second factor), signing in and sessions, and the staff part of the audit log. The decisions
are the staff core's (dangol.staff); every change is audited in its own transaction."""
