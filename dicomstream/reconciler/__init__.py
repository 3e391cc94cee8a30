"""Reconciler: keep what streaming leaves behind in line with the stack.

Pure planning (`desired` + `observed` + `state` → `actions`, in `plan`) is separated from I/O
(`observe` reads through the APIs, `execute` applies), so the planning is tested without servers.
"""
