"""``python -m dispatcher``: the ``outbox`` command."""

from dispatcher.cli.entry import main

main()
