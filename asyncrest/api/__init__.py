"""What runs in the web process: the order endpoints, their input, output and HTTP rules."""
