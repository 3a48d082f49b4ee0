"""The `dangol` command-line tool (Typer + Rich). See docs/cli.md."""
