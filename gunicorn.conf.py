"""gunicorn's settings for this service; gunicorn reads this file from the directory it starts in (the
`Procfile` that `make run` starts names it). Workers, bind address and worker class stay on the command line there."""

# The longest request line gunicorn accepts (its maximum; its default is 4094). Any over-long query parameter
# shorter than this reaches the app, which answers it in the JSON error shape (422); only a longer line gets
# gunicorn's own HTML 414, which the OpenAPI document declares on every operation (kernel/api.py).
limit_request_line = 8190
