"""`python -m sensesearch` runs the command line."""

from .cli_entry import main

main()
