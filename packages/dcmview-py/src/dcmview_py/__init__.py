"""dcmview-py: the dcmview command, view() for scripts and notebooks, remote viewing."""

__version__ = "0.1.0"
