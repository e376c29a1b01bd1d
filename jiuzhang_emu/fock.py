"""Fock-basis matrix elements of Gaussian unitaries and displacements."""
