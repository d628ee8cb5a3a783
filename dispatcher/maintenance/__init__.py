"""Maintenance: the scheduler that runs each job once across the fleet, and one module per job
(reap leases, prune history, reconcile, pull the catalog, push stock, check mapping drift)."""
