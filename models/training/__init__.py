"""Training, export and evaluation of the station's models (needs the `train` extra: torch).

Nothing here is imported by the running station; `station train/eval` import it lazily.
"""
