"""The demo: the example program of the product brief with synthetic history."""

from .generator import generate_events
from .loader import DemoResult, load_demo
from .program import PROGRAM_ID, ensure_program

__all__ = ["PROGRAM_ID", "DemoResult", "ensure_program", "generate_events", "load_demo"]
