"""What crosses Redis: the RQ queues orders are delivered through, and change notifications."""
