"""The results tests share the small partnership in tests/builders.py."""

from tests.builders import partnership

__all__ = ["partnership"]
