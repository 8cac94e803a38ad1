"""Open face datasets: readers, the face-crop cache and the fixed splits."""
