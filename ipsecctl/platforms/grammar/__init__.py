"""Command grammars, one YAML per platform: the command forms each platform accepts.

Written from the vendors' command references (each file names its sources). They are the
reference the next steps of every health finding are checked against, so that an operator is
never told to type a command the device does not have.
"""
