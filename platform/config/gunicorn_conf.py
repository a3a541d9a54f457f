"""gunicorn settings for the web server: gunicorn -c platform/config/gunicorn_conf.py config.wsgi

One process with many threads (the gthread worker), not several single-
threaded processes. A synchronous inspection needs the product's model in
memory, and each process loads its own copy (services.bundles): with three
sync workers, three copies take the memory and only three requests are let in
at once, while the others wait in the listen queue. In one process, requests
for a product share one loaded model and take turns on it in the order they
came (TensorFlow uses every core for each image, so a second copy would not
score faster on the same CPU); meanwhile the other threads answer pages,
uploads and reads, which do not wait for the model. Each thread may hold a
database connection, so WEB_THREADS counts against PostgreSQL's
max_connections. A request waits at most MODEL_WAIT_SECONDS for the model;
`timeout` only restarts a process whose main loop stopped answering.
"""

from config.env import env_int, env_str

bind = env_str("WEB_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = env_int("WEB_PROCESSES", 1, minimum=1)
# More than the concurrent requests expected (twenty from the line, plus pages).
threads = env_int("WEB_THREADS", 32, minimum=1)
timeout = env_int("WEB_TIMEOUT", 300, minimum=10)
