"""Writes of the equipment app, one module per area:

- ``reservations``: booking, approval, cancelling, check-in and check-out, no-shows
- ``equipment``: machines, their rules and status
"""
