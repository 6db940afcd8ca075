"""Simulation: recorded exchange data and, later, the exchange emulator."""
