"""Real servers (uvicorn, hypercorn, gunicorn, waitress) in front of real apps."""
