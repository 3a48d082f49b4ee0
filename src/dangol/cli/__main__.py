"""`python -m dangol.cli`, the same as the `dangol` command."""

from .main import app

app(prog_name="dangol")
