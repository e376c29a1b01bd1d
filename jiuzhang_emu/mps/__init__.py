"""Matrix product states of the pure part of a lossy Gaussian state (Oh et al. 2024)."""
