"""Turning decisions into fills: the portfolio they change, the paper broker, risk checks."""
