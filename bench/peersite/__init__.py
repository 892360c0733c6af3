"""The peers of bench/peers.py: the one-entry tagging order/poll contract written by hand, the way
a team would without asyncrest, on Celery or on django-rq (PEER_BACKEND), in one small Django app.

It reuses the demo site's settings (same database, Redis, DRF token authentication,
middleware and tagger) and stores the same Log and Tag rows as asyncrest's tagging job.
"""
