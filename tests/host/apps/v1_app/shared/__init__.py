"""Code shared by the functions, imported as ``__app__.shared``."""
