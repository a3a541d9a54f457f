"""Getting pictures in: image files and uploads, MVTec-layout data sets, and synthetic sets."""
