"""The ``outbox`` command line: one module per command group. Commands import what they use
inside their body, so ``outbox --help`` or an operator command never loads the daemon, and
nothing but ``outbox demo`` and ``outbox sandbox`` ever loads the sandboxes."""
