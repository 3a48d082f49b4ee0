"""The program the browser tests run against: the demo program, a few members' history."""

from __future__ import annotations

from dangol.demo.loader import load_demo
from dangol.service.container import Services

SEED_MEMBERS = 8


def seed_program(services: Services) -> None:
    load_demo(services, members=SEED_MEMBERS)
