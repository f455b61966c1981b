"""``kinerja-bot periksa``: placeholder."""
