"""One module per console command; each exposes `register(app)`.

Command modules import their heavy dependencies inside the command functions so that
`dicomstream --help` and `dicomstream validate` start fast.
"""

COMMAND_MODULES = [
    "validate",
    "plan",
    "preview",
    "promote",
    "drift",
    "reconcile",
    "sandbox",
    "demo",
]
