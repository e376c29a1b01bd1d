"""A lossy Gaussian state as a pure state under a random displacement."""
