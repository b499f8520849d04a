"""``tracknet label``: a model-assisted ball labelling tool served to the browser.

Modules: :mod:`~tracknet.label.source` (what SOURCE is and where its labels go),
:mod:`~tracknet.label.store` (confirmed labels, journal, versions), :mod:`~tracknet.label.frames`
(JPEG frames with prefetch), :mod:`~tracknet.label.jpeg_cache` (the background pass that stores
a video's frames on disk), :mod:`~tracknet.label.suggest` (model suggestions, review queue,
interpolation), :mod:`~tracknet.label.doubt` (the review queue's ranking),
:mod:`~tracknet.label.app` (the ASGI app), :mod:`~tracknet.label.server`
(uvicorn), and ``static/`` (the page). Its frame latency is measured by :mod:`tracknet.bench.label`.
"""
