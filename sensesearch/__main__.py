"""`python -m sensesearch` runs the command line."""

from .cli import main

main()
