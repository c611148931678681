"""A web app over :mod:`socialfeed.aio`: a JSON API, a live SSE stream and one HTML page."""
