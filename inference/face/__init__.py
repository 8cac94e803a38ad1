"""Face detection, 68-point landmarks, the square face crop, and paste-back."""
