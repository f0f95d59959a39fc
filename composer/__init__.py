"""bulletin: compose, check, preview and send the GPC England email bulletin."""

__version__ = "0.1.0"
