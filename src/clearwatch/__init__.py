"""clearwatch: keeps client money in the securities market safe."""

__version__ = "0.1.0"
