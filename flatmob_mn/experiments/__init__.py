"""Experiments: schedules of moves, measurement runs and their records.

In: a running network with mobility (``flatmob_mn.agents.deploy``) and
an experiment definition (``experiments/*.toml``).  Out: a results
folder with per-move records, raw events, a summary and plots.
"""
