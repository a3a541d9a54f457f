"""The inspection app: products, images and the jobs that process them; the ML core is in `engine`."""
