"""Small helpers every layer may use: JSON conversion, float64 scoping, timing, tiling, token families.

This is the lowest layer of the package: it imports nothing else from :mod:`theorem`.
"""
