"""Whole-system behaviour: several processes, stopped databases, killed replicas, every fault at
once. These run the real app as a user would, rather than one module."""
