"""``python -m dispatcher``: the ``outbox`` command."""

from dispatcher.entry import main

main()
